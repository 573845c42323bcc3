/**
 * The NASM forms students type that keystone's NASM mode lacks, rewritten line for line (so an
 * error still names the student's line): `NAME equ EXPR` (with `$` = the address of that line),
 * local labels `.x` (NASM scopes them under the last non-local label), `times N db/dw/dd/dq ...`
 * and `resb/resw/resd/resq N` (flat-binary NASM zero-fills these). Forms with no line-for-line
 * rewrite (`align`, `times` of an instruction, `$$`) are refused with a hint saying what to write.
 */
export class NasmFormError extends Error {
  constructor(readonly line: number, readonly text: string, readonly reason: string) {
    super(`line ${line}: ${reason}: ${text.trim()}`);
    this.name = "NasmFormError";
  }
}

const SIZE: Record<string, number> = { db: 1, dw: 2, dd: 4, dq: 8, resb: 1, resw: 2, resd: 4, resq: 8 };

/** Splits a line into code and comment at the first `;` outside a quoted string. */
function splitComment(line: string): [string, string] {
  let quote = "";
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote) { if (ch === quote) quote = ""; }
    else if (ch === "'" || ch === '"' || ch === "`") quote = ch;
    else if (ch === ";") return [line.slice(0, i), line.slice(i)];
  }
  return [line, ""];
}

/** Applies `f` to the parts of `code` outside quoted strings. */
function outsideStrings(code: string, f: (s: string) => string): string {
  return code.split(/('(?:[^']*)'|"(?:[^"]*)"|`(?:[^`\\]|\\.)*`)/).map((part, i) => (i % 2 ? part : f(part))).join("");
}

const count = (expr: string, consts: Map<string, number>): number | undefined => {
  const t = expr.trim();
  if (/^(0x[0-9a-f]+|\d+)$/i.test(t)) return Number(t);
  return consts.get(t);
};

export function rewriteNasmForms(lines: readonly string[]): string[] {
  let parent: string | undefined;
  const consts = new Map<string, number>();
  return lines.map((line, i) => {
    const n = i + 1;
    let [code, comment] = splitComment(line);
    if (!code.trim()) return line;
    // Local labels: `.x` belongs to the last non-local label (NASM's rule).
    const def = /^\s*([A-Za-z_]\w*)\s*:/.exec(code);
    if (def) parent = def[1];
    if (/(^|[^\w.$])\.[A-Za-z_]\w*/.test(outsideStrings(code, (s) => s))) {
      if (!parent) throw new NasmFormError(n, line, "a local label (.name) needs a label without a dot above it, which it belongs to");
      code = outsideStrings(code, (s) => s.replace(/(^|[^\w.$])\.([A-Za-z_]\w*)/g, `$1${parent}.$2`));
    }
    if (/\$\$/.test(outsideStrings(code, (s) => s))) throw new NasmFormError(n, line, "$$ (the section start) is not supported: use a label at the start of your code instead");
    const equ = /^(\s*)([A-Za-z_][\w.]*)\s*:?\s+equ\s+(.+)$/i.exec(code);
    if (equ) {
      const [, ind, name, expr] = equ;
      const v = count(expr!, consts);
      if (v !== undefined) consts.set(name!, v);
      // `$` in an equ is the address of this line: a label of our own marks it.
      const here = `__equ_here_${n}`;
      const body = expr!.includes("$") ? `${here}: ${name} = ${expr!.replace(/\$/g, here)}` : `${name} = ${expr}`;
      return `${ind}${body}${comment}`;
    }
    if (/^\s*(?:[A-Za-z_][\w.]*\s*:)?\s*align\b/i.test(code)) {
      throw new NasmFormError(n, line, "align is not supported here: pad to the boundary with `times K db 0` (the %%asm listing shows each address)");
    }
    const times = /^(\s*(?:[A-Za-z_][\w.]*\s*:)?\s*)times\s+(.+?)\s+(db|dw|dd|dq)\s+(.+)$/i.exec(code);
    if (times) {
      const [, head, expr, unit, items] = times;
      const k = count(expr!, consts);
      if (k === undefined || k > 65536) throw new NasmFormError(n, line, "times needs a count that is a number (or an equ of a number) up to 65536");
      return `${head}${unit} ${Array.from({ length: k }, () => items!.trim()).join(", ")}${comment}`;
    }
    if (/^\s*(?:[A-Za-z_][\w.]*\s*:)?\s*times\b/i.test(code)) {
      throw new NasmFormError(n, line, "times works here only with db/dw/dd/dq: write the instruction out, or repeat it with a loop");
    }
    const res = /^(\s*(?:[A-Za-z_][\w.]*\s*:)?\s*)(resb|resw|resd|resq)\s+(.+)$/i.exec(code);
    if (res) {
      const [, head, unit, expr] = res;
      const k = count(expr!, consts);
      if (k === undefined || k * SIZE[unit!.toLowerCase()]! > 65536) throw new NasmFormError(n, line, `${unit} needs a count that is a number (or an equ of a number), at most 64 KiB in all`);
      return `${head}db ${Array.from({ length: k * SIZE[unit!.toLowerCase()]! }, () => "0").join(", ")}${comment}`;
    }
    return `${code}${comment}`;
  });
}
