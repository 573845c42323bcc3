/**
 * Whether a cell typed at a console prompt is complete (run it on Enter) or needs more lines, by
 * tslab's rule: the parser's "X expected." at the very end of the text means more is coming.
 * TypeScript's parser is loaded on first use (the type checker is not needed for this).
 */
import type * as TS from "typescript";

let ts: typeof TS | undefined;

export function isCompleteCode(content: string): { completed: boolean; indent?: string } {
  // Two blank-ish lines at the end force the cell through, whatever the parser says.
  if (/(^|\n)\s*\n\s*$/.test(content)) return { completed: true };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  ts ??= require("typescript") as typeof TS;
  const source = ts.createSourceFile("cell.tsx", content, ts.ScriptTarget.Latest, false, ts.ScriptKind.TSX);
  const diagnostics = (source as unknown as { parseDiagnostics?: TS.DiagnosticWithLocation[] }).parseDiagnostics ?? [];
  const end = content.length;
  for (const d of diagnostics) {
    if (d.start !== end || d.length !== 0 || typeof d.messageText !== "string") continue;
    if (d.messageText.endsWith(" expected.")) return { completed: false, indent: indentOnEnter(content) };
  }
  return { completed: true };
}

/** The indent for the next line: one level deeper after an open bracket, one less on a closer. */
function indentOnEnter(src: string): string {
  const line = /[^\n]*$/.exec(src)![0];
  const current = /^\s*/.exec(line)![0];
  if (/^((?!.*?\/\*).*\*\/)?\s*[}\]].*$/.test(line)) {
    if (current.endsWith("  ")) return current.slice(0, -2);
    if (current.endsWith("\t") || current.endsWith(" ")) return current.slice(0, -1);
    return current;
  }
  if (/^((?!\/\/).)*(\{[^}"'`]*|\([^)"'`]*|\[[^\]"'`]*)$/.test(line)) return `${current}  `;
  return current;
}
