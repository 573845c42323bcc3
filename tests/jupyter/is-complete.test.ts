/**
 * is_complete's scanner (no TypeScript loaded) against TypeScript's own parser: tslab's rule, "the
 * parser says `X expected.` at the very end of the text", is the oracle for every snippet.
 */
import * as ts from "typescript";
import { describe, expect, it } from "vitest";
import { isCompleteCode } from "../../src/jupyter/ts-complete-code";

function parserSaysComplete(code: string): boolean {
  const source = ts.createSourceFile("cell.tsx", code, ts.ScriptTarget.Latest, false, ts.ScriptKind.TSX);
  const diagnostics = (source as unknown as { parseDiagnostics: ts.DiagnosticWithLocation[] }).parseDiagnostics;
  return !diagnostics.some((d) => d.start === code.length && d.length === 0 && typeof d.messageText === "string" && d.messageText.endsWith(" expected."));
}

const SNIPPETS = [
  "let a = 1", "let a =", "1 +", "f(", "f(1,", "f(1)", "[1, 2", "[1, 2]", "{", "{ a: 1 }", "function f() {", "function f() { return 1 }",
  "if (x)", "if (x) y()", "if (x) {", "if (x) {} else", "for (const a of b)", "for (const a of b) {}", "while (true)", "do", "x =>",
  "x => x", "const s = 'abc'", "const t = `a ${b", "const t = `a ${b} c`", "const t = `${a ? b : c}`", "a ? b ? c : d : e", "type O = { a?: number }", "a ?? b", "/* open", "/* closed */ 1", "// comment",
  "a ? b", "a ? b : c", "a &&", "a.b.", "a?.b", "x++", "x--", "new", "new Map()", "typeof", "typeof x", "class A {", "class A extends",
  "class A extends B {}", "interface I {", "interface I { a: number }", "const r = /ab+c/g", "const r = /[/]/", "a / b", "(a) / 2",
  "throw", "throw new Error('x')", "await", "await p", "import", "import * as fs from 'fs'", "export", "switch (x) {", "case",
  "const o = { a: [1, { b: (2", "const o = { a: [1, { b: (2) }] }", "x = 0x1f", "let big = 10n", "if (a) b(); else", "return",
  "const a = b ?", "Math.max(1, 2);", "enum E {", "enum E { A }", "namespace N {", "'unterminated", "a = 1;\nb = (\n",
];

describe("is_complete without TypeScript", () => {
  it.each(SNIPPETS)("agrees with TypeScript's parser on %j", (code) => {
    expect(isCompleteCode(code).completed).toBe(parserSaysComplete(code));
  });

  it("waits for the rest of a template literal (it may span lines), where the parser calls it unterminated", () => {
    expect(parserSaysComplete("const t = `multi")).toBe(true);
    expect(isCompleteCode("const t = `multi").completed).toBe(false);
  });

  it("indents one level after an open bracket", () => {
    expect(isCompleteCode("function f() {").indent).toBe("  ");
    expect(isCompleteCode("  if (x) {").indent).toBe("    ");
  });

  it("takes two blank lines as `run it anyway`", () => {
    expect(isCompleteCode("function f() {\n\n\n").completed).toBe(true);
  });
});
