/** The magic table, the parser for `%`/`%%` lines, and close-match suggestions. */
import { Magic, UsageError } from "./magic";

export interface ParsedMagic {
  kind: "line" | "cell";
  name: string;
  args: string;
  body?: string;
  /** `%name?` / `%%name?`: the user asks for help. */
  help: boolean;
}

export class MagicRegistry {
  private readonly magics = new Map<string, Magic>();

  register(...magics: Magic[]): this {
    for (const m of magics) {
      if (this.magics.has(m.name)) throw new Error(`magic %${m.name} is registered twice`);
      this.magics.set(m.name, m);
    }
    return this;
  }

  get(name: string): Magic | undefined {
    return this.magics.get(name);
  }

  all(): Magic[] {
    return [...this.magics.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  lineMagics(): Magic[] {
    return this.all().filter((m) => m.kind !== "cell");
  }

  cellMagics(): Magic[] {
    return this.all().filter((m) => m.kind !== "line");
  }

  /** The magic `parsed` names, or a UsageError naming the closest known ones. */
  resolve(parsed: ParsedMagic): Magic {
    const magic = this.magics.get(parsed.name);
    const sigil = parsed.kind === "cell" ? "%%" : "%";
    if (!magic) {
      const pool = (parsed.kind === "cell" ? this.cellMagics() : this.lineMagics()).map((m) => m.name);
      const close = closeMatches(parsed.name, pool);
      const hint = close.length ? ` Did you mean ${close.map((n) => sigil + n).join(", ")}?` : "";
      throw new UsageError(`unknown ${parsed.kind} magic ${sigil}${parsed.name}.${hint} (%lsmagic lists them all)`);
    }
    if (parsed.kind === "cell" && magic.kind === "line") {
      throw new UsageError(`%${parsed.name} is a line magic; write it with one %`);
    }
    if (parsed.kind === "line" && magic.kind === "cell") {
      throw new UsageError(`%%${parsed.name} is a cell magic: put it on the first line of a cell, with %%`);
    }
    return magic;
  }
}

/** How a cell is run, decided before any TypeScript conversion. */
export type CellPlan =
  | { kind: "cell-magic"; magic: ParsedMagic }
  | { kind: "line-magics"; magics: ParsedMagic[] }
  /** TypeScript, where line magics mixed into the code became `await __xenlab_magic__(...)`. */
  | { kind: "typescript"; code: string; magicLines: number };

export const LINE_MAGIC_CALL = "__xenlab_magic__";

/** `const x =`, `let x: T =`, `x.y =` before a `%magic` on one line. */
const ASSIGNED_MAGIC = /^(\s*(?:(?:export\s+)?(?:const|let|var)\s+)?[A-Za-z_$][\w$.]*(?:\s*:\s*[^=%]+)?\s*=\s*)%[A-Za-z_]/;

const MAGIC_LINE = /^(%%?)([A-Za-z_][\w.-]*)(\?{1,2})?(?:[ \t]+(.*))?$/;

/**
 * `files = !ls`, `const files: string[] = !ls *.vhd` at the start of a line: the output captured
 * (IPython's `x = !cmd`). `= !word` is also TypeScript's negation, so it is a command only when
 * `word` is not a name the cell could mean (see `shellCapture`).
 */
const ASSIGNED_SHELL = /^((?:(?:export\s+)?(?:const|let|var)\s+)?([A-Za-z_$][\w$.]*)(?:\s*:\s*[^=!%]+)?\s*=\s*)!(?!=)(.*)$/;

/** Words after `!` that make it TypeScript's negation, whatever is in scope. */
const NEGATED_KEYWORDS = new Set(["this", "typeof", "new", "void", "await", "true", "false", "null", "undefined", "delete", "function", "class", "super", "import", "yield"]);

/** Whether a name means something to a cell (a cell's or the library's name, or a global). */
export type KnownName = (name: string) => boolean;

/**
 * Plans a cell. `%%name args` on the first significant line makes a cell magic whose body is the
 * rest; a cell whose significant lines are all `%name args` runs them in order; otherwise the cell
 * is TypeScript, and each line that is a line magic is rewritten into an awaited call (as IPython
 * rewrites `%magic` lines into Python). Blank lines and `//` comments count as insignificant.
 */
export function planCell(code: string, known: KnownName = (n) => n in globalThis): CellPlan {
  const lines = code.split("\n");
  const significant = (l: string) => l.trim() !== "" && !l.trim().startsWith("//");
  const first = lines.findIndex(significant);
  if (first < 0) return { kind: "typescript", code, magicLines: 0 };
  const head = parseMagicLine(lines[first]!);
  if (head?.kind === "cell") {
    head.body = lines.slice(first + 1).join("\n");
    return { kind: "cell-magic", magic: head };
  }
  const parsed = lines.map((l) => (significant(l) ? parseMagicLine(l) : undefined));
  if (lines.every((l, i) => !significant(l) || parsed[i]?.kind === "line")) {
    return { kind: "line-magics", magics: parsed.filter((p): p is ParsedMagic => p !== undefined) };
  }
  let magicLines = 0;
  const call = (p: ParsedMagic) => `await ${LINE_MAGIC_CALL}(${JSON.stringify(p.name)}, ${JSON.stringify(p.args)}, ${p.help});`;
  const rewritten = lines.map((l, i) => {
    const p = parsed[i];
    if (p?.kind === "line") {
      magicLines++;
      return `${/^\s*/.exec(l)![0]}${call(p)}`;
    }
    // A name the cell itself mentions elsewhere (`let done = false` before `ok = !done`) is one it knows.
    const captured = shellCapture(l, known, (n) => known(n) || mentionedElsewhere(lines, i, n));
    if (captured) {
      magicLines++;
      return captured;
    }
    // `const disk = %vhd mount x.vhd`: the magic's value is assigned, as IPython allows.
    const assign = ASSIGNED_MAGIC.exec(l);
    const q = assign ? parseMagicLine(l.slice(assign[1]!.length)) : undefined;
    if (assign && q?.kind === "line") {
      magicLines++;
      return `${assign[1]}${call(q)}`;
    }
    return l;
  });
  return { kind: "typescript", code: rewritten.join("\n"), magicLines };
}

/**
 * `x = !cmd` rewritten into `x = await %sx cmd`, or undefined when the line is not one. A command
 * starts with a word that is not a name the cell knows nor a keyword (`ok = !done` with `done`
 * declared, or mentioned elsewhere in the cell, stays a negation; `(!x)` always is one), and the
 * line is not indented (a negation in a function body may name a parameter). A bare name not in
 * scope is declared with `let`, since IPython creates the variable.
 */
function shellCapture(line: string, inScope: KnownName, known: KnownName): string | undefined {
  const m = ASSIGNED_SHELL.exec(line);
  if (!m) return undefined;
  const [, assign, target, command] = m as unknown as [string, string, string, string];
  const word = /^[A-Za-z_.\/~][\w.\/~+-]*/.exec(command)?.[0];
  if (!word) return undefined;
  // A path (`./run.sh`, `/bin/ls`, `~/x`) is a command; a name is one unless the cell knows it.
  const name = /^[A-Za-z_]\w*/.exec(word)?.[0];
  if (name !== undefined && (NEGATED_KEYWORDS.has(name) || known(name))) return undefined;
  const declares = /^(?:export\s+)?(?:const|let|var)\s/.test(assign);
  const head = declares || target.includes(".") || inScope(target) ? assign : `let ${assign}`;
  return `${head}await ${LINE_MAGIC_CALL}("sx", ${JSON.stringify(command.trim())}, false);`;
}

function mentionedElsewhere(lines: string[], at: number, name: string): boolean {
  const word = new RegExp(`(?<![\\w$])${name.replace(/[$.]/g, "\\$&")}(?![\\w$])`);
  return lines.some((l, i) => i !== at && word.test(l));
}

export function parseMagicLine(line: string): ParsedMagic | undefined {
  // `!!cmd` returns the command's output as lines (IPython's %sx).
  const captured = /^\s*!!(.*)$/.exec(line);
  if (captured) return { kind: "line", name: "sx", args: captured[1]!.trim(), help: false };
  // `!cmd` is IPython's shell escape: the %system magic (a TypeScript line cannot start with `!`
  // here, as in IPython; write `(!x)` for a negation).
  const shell = /^\s*!(?!=)(.*)$/.exec(line);
  if (shell) return { kind: "line", name: "system", args: shell[1]!.trim(), help: false };
  const m = MAGIC_LINE.exec(line.trim());
  if (!m) return undefined;
  return { kind: m[1] === "%%" ? "cell" : "line", name: m[2]!, args: (m[4] ?? "").trim(), help: Boolean(m[3]) };
}

/** Names within a small edit distance (or sharing a prefix), best first. */
export function closeMatches(word: string, pool: string[], max = 3): string[] {
  const scored = pool
    .map((name) => ({ name, d: editDistance(word.toLowerCase(), name.toLowerCase()) }))
    .filter(({ name, d }) => d <= Math.max(1, Math.floor(name.length / 3)) || name.startsWith(word) || word.startsWith(name))
    .sort((a, b) => a.d - b.d || a.name.localeCompare(b.name));
  return scored.slice(0, max).map((s) => s.name);
}

/** Optimal string alignment distance: a swap of two neighbours (vdh/vhd) is one typo, not two. */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}
