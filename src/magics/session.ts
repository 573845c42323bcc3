/** The session's own state, as IPython's magics of the same names: %history, %reset, %load. */
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { TextResult } from "./core";
import { HistoryLine, Magic, splitArgs, UsageError } from "./magic";

/** `4`, `4-6` (inclusive, as IPython), optionally `~S/` for S sessions back. */
const RANGE = /^(?:~(\d+)\/)?(\d+)(?:-(\d+))?$/;

export const historyMagic: Magic = {
  name: "history",
  kind: "line",
  summary: "Show (or save) the input history.",
  help: "%history [-n] [-g [PATTERN]] [-l N] [-f FILE] [RANGE ...]\n\nWith no range, this session's inputs. RANGE is N, A-B (inclusive) or ~S/A-B (S sessions back).\n  -n       show line numbers (session/line with -g or ~S)\n  -g       search every session for a glob PATTERN (* and ?); no pattern: all\n  -l N     the last N inputs\n  -f FILE  write to FILE instead of showing (refuses to overwrite)\n\nExample:\n  %history -n 1-3",
  run(args, _body, ctx) {
    const words = splitArgs(args);
    let numbers = false;
    let search: string | undefined;
    let last: number | undefined;
    let file: string | undefined;
    const ranges: string[] = [];
    for (let i = 0; i < words.length; i++) {
      const w = words[i]!;
      if (w === "-n") numbers = true;
      else if (w === "-g") search = words[i + 1] && !words[i + 1]!.startsWith("-") ? words[++i]! : "*";
      else if (w === "-l") last = positive(words[++i], "-l");
      else if (w === "-f") file = words[++i] ?? usage("-f needs a file name");
      else if (w.startsWith("-")) usage(`unknown option ${w}`);
      else if (RANGE.test(w)) ranges.push(w);
      else usage(`${JSON.stringify(w)} is not a range (N, A-B or ~S/A-B)`);
    }
    const history = ctx.history;
    let entries: HistoryLine[];
    let withSession = false;
    if (search !== undefined) {
      entries = history.search(search.includes("*") || search.includes("?") ? search : `*${search}*`, undefined, false, false);
      withSession = true;
    } else if (last !== undefined) {
      entries = history.tail(last, false);
      withSession = true;
    } else if (ranges.length) {
      entries = ranges.flatMap((r) => {
        const m = RANGE.exec(r)!;
        const back = m[1] ? Number(m[1]) : 0;
        if (back) withSession = true;
        const start = Number(m[2]);
        return history.range(-back, start, m[3] ? Number(m[3]) + 1 : start + 1, false);
      });
    } else {
      entries = history.range(0, 1, undefined, false);
    }
    const text = entries
      .map(([session, line, code]) => {
        if (!numbers) return code as string;
        const label = withSession ? `${session}/${line}` : String(line).padStart(4);
        return `${label}: ${code as string}`;
      })
      .join("\n");
    if (file) {
      const path = resolve(file);
      if (existsSync(path)) usage(`${file} exists; choose another name (history never overwrites a file)`);
      writeFileSync(path, `${text}\n`);
      return new TextResult(`wrote ${entries.length} inputs to ${path}`);
    }
    return new TextResult(text);
  },
};

export const resetMagic: Magic = {
  name: "reset",
  kind: "line",
  summary: "Forget every name the cells defined.",
  help: "%reset [-f]\n\nDeletes every variable, function, class and type the cells declared; the library, `host` and the kernel's own names stay. Asks for confirmation first, unless -f is given.",
  run(args, _body, ctx) {
    const words = splitArgs(args);
    const bad = words.find((w) => w !== "-f");
    if (bad) usage(`unknown argument ${bad} (only -f, to skip the confirmation)`, "reset");
    if (!words.includes("-f")) {
      let answer: string;
      try {
        answer = ctx.ask("Once deleted, variables cannot be recovered. Proceed (y/[n])? ");
      } catch (err) {
        throw new UsageError(`%reset asks for confirmation, and ${(err as Error).message.replace(/^input\(\) /, "input ")}; use %reset -f`);
      }
      if (!/^y(es)?$/i.test(answer.trim())) return new TextResult("Nothing done.");
    }
    ctx.resetNames();
    return undefined;
  },
};

export const loadMagic: Magic = {
  name: "load",
  kind: "line",
  summary: "Replace the cell with a file's contents, to edit and run.",
  help: "%load [-r A-B] FILE\n\nReads FILE (relative to the working folder, see %cd) and puts it in the cell in place of the %load line, commented with the command, for you to edit and run (IPython's set_next_input). -r keeps only lines A to B (1-based, inclusive; A alone: one line).",
  run(args, _body, ctx) {
    const words = splitArgs(args);
    let lines: [number, number] | undefined;
    const files: string[] = [];
    for (let i = 0; i < words.length; i++) {
      const w = words[i]!;
      if (w === "-r") {
        const m = /^(\d+)(?:-(\d+))?$/.exec(words[++i] ?? "");
        if (!m) usage("-r needs a line range: A or A-B", "load");
        lines = [Number(m[1]), Number(m[2] ?? m[1])];
      } else if (w.startsWith("-")) usage(`unknown option ${w}`, "load");
      else files.push(w);
    }
    if (files.length !== 1) usage(files.length ? "takes one file" : "needs a file: %load FILE", "load");
    const path = resolve(files[0]!);
    let text: string;
    try {
      if (statSync(path).isDirectory()) usage(`${files[0]} is a folder, not a file`, "load");
      text = readFileSync(path, "utf8");
    } catch (err) {
      if (err instanceof UsageError) throw err;
      throw new UsageError(`%load: cannot read ${files[0]}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (lines) text = text.split("\n").slice(lines[0] - 1, lines[1]).join("\n");
    if (!ctx.out.nextInput) throw new UsageError("%load needs a frontend that can replace the cell (a Jupyter client)");
    ctx.out.nextInput(`# %load ${args}\n${text}`, true);
    return undefined;
  },
};

function positive(word: string | undefined, option: string): number {
  const n = Number(word);
  if (!word || !Number.isInteger(n) || n <= 0) usage(`${option} needs a positive count, not ${JSON.stringify(word ?? "")}`);
  return n;
}

function usage(message: string, magic = "history"): never {
  throw new UsageError(`%${magic}: ${message}`);
}
