/**
 * What TypeScript cells mean, as notebooks rely on it (tslab's semantics, kept by the kernel's own
 * converter): run in-process through the kernel's cell runner.
 */
import { afterAll, describe, expect, it } from "vitest";
import { Cells } from "../support/cells";

const cells = new Cells();
afterAll(() => cells.close());

async function value(code: string): Promise<string> {
  const out = await cells.run(code);
  expect(out.errors, code).toEqual([]);
  return out.text;
}

async function typeError(code: string): Promise<string[]> {
  const out = await cells.run(code);
  expect(out.errors.map((e) => e.ename), code).toEqual(["TypeScriptError"]);
  return out.errors[0]!.traceback;
}

describe("names declared at top level", () => {
  it("are visible to later cells, whatever kind of declaration made them", async () => {
    await value(`let counter = 1
function twice(x: number) { return 2 * x }
class Box { constructor(readonly v: number) {} }
interface Shape { sides: number }
type Id = string
enum Color { Red, Green }
namespace Geo { export const origin = 0 }
import * as path from "node:path"`);
    expect(await value("twice(counter)")).toBe("2");
    expect(await value("new Box(3).v")).toBe("3");
    expect(await value("const tri: Shape = { sides: 3 }; const id: Id = 'a'; [tri.sides, id, Color.Green, Geo.origin]")).toBe("[ 3, 'a', 1, 0 ]");
    expect(await value("path.posix.join('a', 'b')")).toBe("'a/b'");
  });

  it("share one binding: a later cell's assignment to a `let` is what earlier functions see", async () => {
    await value("let ticks = 0; function tick() { ticks++; return ticks }");
    expect(await value("tick(); tick()")).toBe("2");
    expect(await value("ticks = 10; tick()")).toBe("11");
    expect(await value("ticks")).toBe("11");
  });

  it("can be redeclared by a later cell, with another type", async () => {
    await value("const answer = 41");
    expect(await value("const answer = 'forty-two'; answer.length")).toBe("9");
    expect(await value("answer.toUpperCase()")).toBe("'FORTY-TWO'");
  });

  it("keep `const` constant: assigning one in a later cell is a type error that names it", async () => {
    await value("const limit = 3");
    const tb = await typeError("limit = 4");
    expect(tb[0]).toContain("Cannot assign to 'limit' because it is a constant.");
    expect(await value("limit")).toBe("3");
  });

  it("are read from the shared scope in shorthand properties too", async () => {
    await value("const cr3 = 0x1000");
    expect(await value("({ mode: 'long64', cr3 })")).toBe("{ mode: 'long64', cr3: 4096 }");
  });

  it("stay declared when the cell throws after declaring them", async () => {
    const out = await cells.run("const before = 5\nthrow new Error('boom')");
    expect(out.errors[0]!.evalue).toBe("boom");
    expect(await value("before * 2")).toBe("10");
  });
});

describe("values and await", () => {
  it("shows the last expression's value, and nothing for a cell that ends in a declaration", async () => {
    expect(await value("1 + 1")).toBe("2");
    expect(await value("const unused = 1")).toBe("");
    expect(await value("undefined")).toBe("");
  });

  it("awaits at top level, and keeps what the awaiting cell declared", async () => {
    expect(await value("const slow = await new Promise<number>((r) => setTimeout(() => r(7), 5)); slow * 6")).toBe("42");
    expect(await value("slow")).toBe("7");
    expect(await value("for await (const x of (async function* () { yield 1 })()) { console.log(x) }\n'done'")).toBe("'done'");
  });
});

describe("type errors", () => {
  it("stop the cell before it runs, at the cell's own line and column, with a caret", async () => {
    const out = await cells.run("console.log('never printed')\nconst ok = 1; const bad: string = 2");
    expect(out.streams).toBe("");
    const tb = out.errors[0]!.traceback;
    expect(tb[0]).toMatch(/^TypeScriptError: line 2, column 21: Type 'number' is not assignable to type 'string'\./);
    expect(tb[0]!.split("\n").slice(1)).toEqual(["    const ok = 1; const bad: string = 2", `    ${" ".repeat(20)}^^^`]);
  });

  it("report a cell cut short where it ends", async () => {
    const tb = await typeError("const x = 1 +");
    expect(tb[0]).toMatch(/^TypeScriptError: line 1, column 14: Expression expected\./);
  });
});
