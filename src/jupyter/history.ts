/**
 * Input history, kept across kernel restarts in a JSON-lines file (one entry per executed cell),
 * answering history_request's tail, range and search the way IPython's HistoryManager does.
 */
import { appendFileSync, mkdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

export interface HistoryEntry {
  session: number;
  line: number;
  input: string;
  output?: string;
}

/** [session, line, input] or, with output, [session, line, [input, output]]. */
export type HistoryTuple = [number, number, string] | [number, number, [string, string | null]];

export function defaultHistoryPath(): string {
  if (process.env.XENLAB_HISTORY) return process.env.XENLAB_HISTORY;
  const data = process.env.XDG_DATA_HOME || join(homedir(), ".local", "share");
  return join(data, "xenlab", "history.jsonl");
}

export class History {
  readonly session: number;
  private readonly entries: HistoryEntry[] = [];

  /** With no path, history lives only in memory (for `xenlab run`). */
  constructor(private readonly path?: string) {
    if (path) {
      try {
        for (const line of readFileSync(path, "utf8").split("\n")) {
          const e = parseEntry(line);
          if (e) this.entries.push(e);
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      }
    }
    this.session = this.entries.reduce((max, e) => Math.max(max, e.session), 0) + 1;
  }

  record(line: number, input: string, output?: string): void {
    const entry: HistoryEntry = { session: this.session, line, input, ...(output !== undefined ? { output } : {}) };
    this.entries.push(entry);
    if (!this.path) return;
    try {
      mkdirSync(dirname(this.path), { recursive: true });
      appendFileSync(this.path, `${JSON.stringify(entry)}\n`);
    } catch {
      // History is a convenience: a read-only home must not break execution.
    }
  }

  tail(n: number, output: boolean): HistoryTuple[] {
    return this.entries.slice(Math.max(0, this.entries.length - n)).map((e) => tuple(e, output));
  }

  /** Lines start <= line < stop of a session; session 0 is this one, negative counts back. */
  range(session: number, start: number, stop: number | undefined, output: boolean): HistoryTuple[] {
    const s = session > 0 ? session : this.session + session;
    return this.entries
      .filter((e) => e.session === s && e.line >= start && (stop === undefined || e.line < stop))
      .map((e) => tuple(e, output));
  }

  /** Glob search (`*`, `?`) over inputs, newest last; `unique` keeps the newest of repeats. */
  search(pattern: string, n: number | undefined, unique: boolean, output: boolean): HistoryTuple[] {
    const re = globToRegExp(pattern);
    let found = this.entries.filter((e) => re.test(e.input));
    if (unique) {
      const seen = new Set<string>();
      found = found.reverse().filter((e) => !seen.has(e.input) && seen.add(e.input)).reverse();
    }
    if (n !== undefined && n > 0) found = found.slice(-n);
    return found.map((e) => tuple(e, output));
  }
}

function tuple(e: HistoryEntry, output: boolean): HistoryTuple {
  return output ? [e.session, e.line, [e.input, e.output ?? null]] : [e.session, e.line, e.input];
}

function parseEntry(line: string): HistoryEntry | undefined {
  if (!line.trim()) return undefined;
  try {
    const e = JSON.parse(line) as HistoryEntry;
    return typeof e.session === "number" && typeof e.line === "number" && typeof e.input === "string" ? e : undefined;
  } catch {
    return undefined; // a torn last line after a crash: skip it
  }
}

function globToRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[\\s\\S]*").replace(/\?/g, "[\\s\\S]");
  return new RegExp(`^${body}$`);
}
