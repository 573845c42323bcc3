/** How cells are split into magics and TypeScript, and how wrong magics are reported. */
import { describe, expect, it } from "vitest";
import { splitArgs, UsageError } from "../../src/magics/magic";
import { closeMatches, MagicRegistry, planCell } from "../../src/magics/registry";
import { createMagicRegistry } from "../../src/magics";

describe("planCell", () => {
  it("makes a %%magic on the first significant line a cell magic whose body is the rest", () => {
    expect(planCell("// note\n\n%%xl create --paused\nname = 'a'\nmemory = 64")).toEqual({
      kind: "cell-magic",
      magic: { kind: "cell", name: "xl", args: "create --paused", help: false, body: "name = 'a'\nmemory = 64" },
    });
  });

  it("runs a cell made only of %line magics as those magics, in order", () => {
    const plan = planCell("%xl list\n\n%step 3\n");
    expect(plan).toEqual({ kind: "line-magics", magics: [
      { kind: "line", name: "xl", args: "list", help: false },
      { kind: "line", name: "step", args: "3", help: false },
    ] });
  });

  it("rewrites %line magics inside TypeScript into awaited calls, keeping the indentation", () => {
    const plan = planCell("const a = 1\n  %who\nconsole.log(a)");
    expect(plan).toEqual({ kind: "typescript", magicLines: 1, code: 'const a = 1\n  await __xenlab_magic__("who", "", false);\nconsole.log(a)' });
  });

  it("leaves plain TypeScript alone, including the % operator", () => {
    expect(planCell("10 % 3")).toEqual({ kind: "typescript", code: "10 % 3", magicLines: 0 });
  });

  it("recognises %name? as a request for help", () => {
    expect(planCell("%time?")).toMatchObject({ kind: "line-magics", magics: [{ name: "time", help: true }] });
  });
});

describe("MagicRegistry.resolve", () => {
  const registry = createMagicRegistry();
  it("names close matches for an unknown magic", () => {
    expect(() => registry.resolve({ kind: "line", name: "lsmagik", args: "", help: false })).toThrow(/unknown line magic %lsmagik\. Did you mean %lsmagic\?/);
  });
  it("says when a line magic is used as a cell magic and the other way round", () => {
    expect(() => registry.resolve({ kind: "cell", name: "lsmagic", args: "", help: false })).toThrow(UsageError);
    expect(() => registry.resolve({ kind: "line", name: "html", args: "", help: false })).toThrow(/is a cell magic/);
  });
  it("refuses to register one name twice", () => {
    const r = new MagicRegistry();
    const m = { name: "x", kind: "line" as const, summary: "", help: "", run: () => undefined };
    r.register(m);
    expect(() => r.register(m)).toThrow(/twice/);
  });
});

describe("splitArgs", () => {
  it("splits like a shell, with quotes and escapes", () => {
    expect(splitArgs(`create -n 'my dom' "a \\"b\\"" c\\ d`)).toEqual(["create", "-n", "my dom", 'a "b"', "c d"]);
  });
  it("rejects an unterminated quote", () => {
    expect(() => splitArgs("create 'oops")).toThrow(/unterminated ' quote/);
  });
});

it("closeMatches prefers the smallest edit distance", () => {
  expect(closeMatches("vdh", ["vhd", "xl", "step"])).toEqual(["vhd"]);
  expect(closeMatches("zzzz", ["vhd", "xl"])).toEqual([]);
});

describe("magics assigned in TypeScript", () => {
  it("rewrites `const x = %magic args` into an awaited call whose value is assigned", () => {
    expect(planCell("const disk = %vhd mount longhorn.vhd\ndisk.ls('/')")).toEqual({
      kind: "typescript",
      magicLines: 1,
      code: 'const disk = await __xenlab_magic__("vhd", "mount longhorn.vhd", false);\ndisk.ls(\'/\')',
    });
    expect(planCell("let n: number = %who\nn")).toMatchObject({ code: 'let n: number = await __xenlab_magic__("who", "", false);\nn' });
    expect(planCell("state.last = %lsmagic\n1")).toMatchObject({ code: 'state.last = await __xenlab_magic__("lsmagic", "", false);\n1' });
  });
  it("leaves the modulo operator in assignments alone", () => {
    expect(planCell("const r = a %b\nr")).toMatchObject({ kind: "typescript", magicLines: 0 });
  });

  it("captures `x = !cmd` (declaring a new bare name with let), and `!!cmd` returns the lines", () => {
    expect(planCell("files = !ls -l\nfiles", () => false)).toMatchObject({ code: 'let files = await __xenlab_magic__("sx", "ls -l", false);\nfiles' });
    expect(planCell("files = !ls", (n) => n === "files")).toMatchObject({ code: 'files = await __xenlab_magic__("sx", "ls", false);' });
    expect(planCell("out = !./run.sh", () => false)).toMatchObject({ code: 'let out = await __xenlab_magic__("sx", "./run.sh", false);' });
    expect(planCell("!!uname")).toMatchObject({ kind: "line-magics", magics: [{ name: "sx", args: "uname" }] });
  });

  it("keeps `= !x` a negation when x is known, a keyword, mentioned elsewhere, or the line is indented", () => {
    const unchanged = ["const ok = !done", "const t = !this.x", "const b = !(a && c)", "let ls = 1\nconst e = !ls", "function f(p: boolean) {\n  const q = !p\n}"];
    for (const code of unchanged) expect(planCell(code, (n) => n === "done"), code).toMatchObject({ kind: "typescript", code, magicLines: 0 });
  });
});
