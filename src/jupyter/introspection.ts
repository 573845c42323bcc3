/** complete, inspect and is_complete for cells: magic names and arguments, then TypeScript. */
import { MimeBundle } from "../render/mime";
import { CellRunner, helpRequest } from "./cell-runner";

export interface Completion {
  matches: string[];
  /** UTF-16 offsets into the code. */
  start: number;
  end: number;
}

export async function complete(runner: CellRunner, code: string, cursor: number): Promise<Completion> {
  const lineStart = code.lastIndexOf("\n", cursor - 1) + 1;
  const before = code.slice(lineStart, cursor);
  const name = /^\s*(%%?)([\w.-]*)$/.exec(before);
  if (name) {
    const sigil = name[1]!;
    const pool = sigil === "%%" ? runner.magics.cellMagics() : runner.magics.lineMagics();
    const matches = pool.filter((m) => m.name.startsWith(name[2]!)).map((m) => sigil + m.name);
    return { matches, start: cursor - name[1]!.length - name[2]!.length, end: cursor };
  }
  const args = /^\s*%%?([\w.-]+)\s+(.*)$/.exec(before);
  if (args) {
    const magic = runner.magics.get(args[1]!);
    if (magic?.complete) {
      const argText = args[2]!;
      const word = /(\S*)$/.exec(argText)![1]!;
      const matches = magic.complete(argText, { scope: runner.executor.locals }).filter((m) => m.startsWith(word));
      return { matches, start: cursor - word.length, end: cursor };
    }
    return { matches: [], start: cursor, end: cursor };
  }
  const ts = await runner.executor.complete(code, cursor);
  return { matches: ts.candidates, start: ts.start, end: ts.end };
}

/** Help for `%name`, or TypeScript quick info for the symbol at the cursor. */
export async function inspect(runner: CellRunner, code: string, cursor: number): Promise<MimeBundle | undefined> {
  const lineStart = code.lastIndexOf("\n", cursor - 1) + 1;
  const lineEnd = code.indexOf("\n", cursor);
  const line = code.slice(lineStart, lineEnd < 0 ? undefined : lineEnd);
  const magic = /^\s*%%?([\w.-]+)/.exec(line);
  if (magic && cursor - lineStart <= magic[0].length + 1) {
    const m = runner.magics.get(magic[1]!);
    if (m) return { "text/plain": m.help };
  }
  // Quick info wants a position inside the identifier; at its end, step back one.
  const text = (await runner.executor.inspectNow(code, cursor)) ?? (cursor > 0 ? await runner.executor.inspectNow(code, cursor - 1) : undefined);
  return text ? { "text/plain": text } : undefined;
}

export type Completeness = { status: "complete" | "incomplete"; indent?: string } | { status: "invalid" };

export function isComplete(runner: CellRunner, code: string): Completeness {
  const first = code.trimStart();
  if (first.startsWith("%%")) return { status: "complete" };
  if ((first.startsWith("%") || first.startsWith("!")) && !code.includes("\n")) {
    return code.trimEnd().endsWith("\\") ? { status: "incomplete", indent: "" } : { status: "complete" };
  }
  if (helpRequest(code)) return { status: "complete" }; // `Math.max?` asks for help; no `:` follows
  const r = runner.executor.isComplete(code);
  return r.complete ? { status: "complete" } : { status: "incomplete", indent: r.indent };
}
