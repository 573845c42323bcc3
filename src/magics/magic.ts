/**
 * What a magic is. `%name args` (line) and `%%name args\nbody` (cell) are parsed before any
 * TypeScript conversion; each magic family lives in its own file and calls the library API.
 */
import type { OutputSink } from "../output-sink";

/** A wrong magic invocation: shown to the user as `UsageError: …` (IPython's name for it). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export interface MagicContext {
  out: OutputSink;
  /** Names visible to TypeScript cells (so magics can read and define cell variables). */
  scope: Record<string, unknown>;
  /** Names the library puts in scope (so %who can list only the user's). */
  libraryNames: ReadonlySet<string>;
  /** Runs cell code (TypeScript or nested magics) with the same sink, e.g. for `%%time`. */
  runCell(code: string): Promise<unknown>;
  /** The session's input history (the kernel's, kept across restarts; in memory for `xenlab run`). */
  history: InputHistory;
  /** Forgets every name cells declared (%reset). */
  resetNames(): void;
  /** Asks the user for a line (input_request); throws when the frontend cannot answer. */
  ask(prompt: string): string;
}

/** [session, line, input], as history_request answers (see src/jupyter/history.ts). */
export type HistoryLine = [number, number, string | [string, string | null]];

/** What magics read of the input history (the kernel's History is one). */
export interface InputHistory {
  tail(n: number, output: boolean): HistoryLine[];
  range(session: number, start: number, stop: number | undefined, output: boolean): HistoryLine[];
  search(pattern: string, n: number | undefined, unique: boolean, output: boolean): HistoryLine[];
}

export interface Magic {
  name: string;
  kind: "line" | "cell" | "both";
  /** One line for %lsmagic and completion. */
  summary: string;
  /** The full help: usage line, arguments, examples (shown by `%name?`). */
  help: string;
  /** `body` is undefined for a line magic. The result, if any, becomes the cell's value. */
  run(args: string, body: string | undefined, ctx: MagicContext): unknown;
  /** Completions for the argument text before the cursor. */
  complete?(argsBeforeCursor: string, ctx: { scope: Record<string, unknown> }): string[];
}

/** Splits a magic's argument string the way a shell would (quotes, backslash escapes). */
export function splitArgs(args: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quote: '"' | "'" | undefined;
  let inToken = false;
  for (let i = 0; i < args.length; i++) {
    const c = args[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === "\\" && quote === '"' && i + 1 < args.length) cur += args[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inToken = true;
    } else if (c === "\\" && i + 1 < args.length) {
      cur += args[++i];
      inToken = true;
    } else if (/\s/.test(c)) {
      if (inToken) out.push(cur);
      cur = "";
      inToken = false;
    } else {
      cur += c;
      inToken = true;
    }
  }
  if (quote) throw new UsageError(`unterminated ${quote} quote in arguments: ${args}`);
  if (inToken) out.push(cur);
  return out;
}
