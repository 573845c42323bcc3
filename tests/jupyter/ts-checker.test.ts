/**
 * One type checker for the kernel's life: a cell is checked by the checker that already knows the
 * library and every earlier cell, so a cell costs the same whether the scope holds two names or
 * six hundred, and type errors still stop it. Timings are compared with a baseline from the same
 * test (the machine is shared), and the mechanism itself is counted.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { TsConverter } from "../../src/jupyter/ts-converter";
import { Cells } from "../support/cells";

const cells = new Cells();
afterAll(() => cells.close());

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/** A cell that declares an interface and a constant of it, and uses the previous cell's. */
function declaring(i: number): string {
  const previous = i > 0 ? ` + p${i - 1}.x` : "";
  return `interface Point${i} { x: number; y: number }\nconst p${i}: Point${i} = { x: ${i}, y: 2 };\np${i}.x * p${i}.y${previous}`;
}

describe("a cell's latency as the scope grows", () => {
  it("stays flat over 300 declaring cells, and far under a cell that needs a new checker", async () => {
    const times: number[] = [];
    for (let i = 0; i < 300; i++) {
      const t0 = performance.now();
      const out = await cells.run(declaring(i));
      times.push(performance.now() - t0);
      expect(out.errors, declaring(i)).toEqual([]);
    }
    const early = median(times.slice(10, 40));
    const late = median(times.slice(-30));
    expect(late / early).toBeLessThan(1.5);
    // A cell that adds a global needs a new checker: what every cell cost when each built one.
    const rebuilding: number[] = [];
    for (let k = 0; k < 7; k++) {
      const t0 = performance.now();
      expect((await cells.run(`declare global { var xenlabFlat${k}: number }`)).errors).toEqual([]);
      rebuilding.push(performance.now() - t0);
    }
    expect(late).toBeLessThan(median(rebuilding) / 2);
    // Type errors still stop a cell, with everything in scope.
    const out = await cells.run("const q: Point299 = { x: 'one', y: 2 }\nconsole.log('ran')");
    expect(out.streams).toBe("");
    expect(out.errors[0]!.traceback[0]).toMatch(/^TypeScriptError: line 1, column 23: Type 'string' is not assignable to type 'number'\./);
    expect((await cells.run("p299.x + p0.x")).text).toBe("299");
  });
});

describe("the converter's one program", () => {
  const dir = mkdtempSync(join(tmpdir(), "xenlab-ts-"));
  const conv = new TsConverter(dir);
  afterAll(() => conv.close());
  const run = (code: string) => {
    const c = conv.convert(code);
    c.commit();
    return c;
  };

  it("checks cell after cell with the checker it built for the first", () => {
    run("const seed = 1");
    const before = conv.programsBuilt;
    for (let i = 0; i < 50; i++) expect(run(declaring(i)).diagnostics).toEqual([]);
    expect(run("const late: Point3 = p3; late.x").diagnostics).toEqual([]);
    expect(run("const wrong: Point3 = { x: 1 }").diagnostics.map((d) => d.code)).toEqual([2741]);
    expect(conv.programsBuilt - before).toBe(0);
  });

  it("builds a program for a cell that imports a module the program has not loaded, and keeps it", () => {
    const lib = join(dir, "lib-module.ts");
    writeFileSync(lib, "export function triple(n: number): number { return 3 * n }\n");
    const before = conv.programsBuilt;
    const cell = run(`import { triple } from ${JSON.stringify(lib.slice(0, -3))}\nconst nine: number = triple(3)`);
    expect(cell.diagnostics).toEqual([]);
    expect(conv.programsBuilt - before).toBe(1);
    expect(run("triple('x')").diagnostics.map((d) => d.messageText)).toEqual(["Argument of type 'string' is not assignable to parameter of type 'number'."]);
    expect(conv.programsBuilt - before).toBe(1);
  });

  it("builds a program for a cell that adds to the global scope, and later cells see the addition", () => {
    const before = conv.programsBuilt;
    expect(run("declare global { var xenlabGlobal: { answer: number } }\nglobalThis.xenlabGlobal = { answer: 42 }").diagnostics).toEqual([]);
    expect(conv.programsBuilt - before).toBe(1);
    expect(run("const a: number = xenlabGlobal.answer").diagnostics).toEqual([]);
    expect(run("const b: string = xenlabGlobal.answer").diagnostics.map((d) => d.code)).toEqual([2322]);
  });

  it("types a value by the declarations of the cells it came from, not by later redeclarations", () => {
    run("interface Pt { x: number }");
    run("const a: Pt = { x: 1 }");
    run("interface Pt { label: string }");
    expect(run("const fromA: number = a.x; const later: Pt = { label: 'b' }").diagnostics).toEqual([]);
  });
});
