/**
 * Runs one cell: magics first (`%%name` cells, cells of `%name` lines, or `%name` lines inside
 * TypeScript), then TypeScript through the executor. Turns every failure into a named CellError and
 * the last value into an execute result. Used by the kernel and by `xenlab run` alike.
 */
import { inspect as utilInspect } from "node:util";
import { runInThisContext } from "node:vm";
import { KeyboardInterrupt } from "../interrupt";
import { Magic, MagicContext, UsageError } from "../magics/magic";
import { LINE_MAGIC_CALL, MagicRegistry, ParsedMagic, planCell } from "../magics/registry";
import { currentCellSink, input, setCellSink } from "./cell-api";
import { CalledProcessError } from "../magics/shell";
import type { History } from "./history";
import { CellError, mimeBundleOf, OutputSink } from "./outputs";
import { TsExecutor, TypeScriptError } from "./ts-executor";

export interface CellOutcome {
  status: "ok" | "error";
  error?: CellError;
}

export class CellRunner {
  readonly libraryNames: ReadonlySet<string>;

  constructor(
    readonly executor: TsExecutor,
    readonly magics: MagicRegistry,
    readonly history: History,
  ) {
    this.libraryNames = new Set(Object.keys(executor.locals));
    executor.define(
      LINE_MAGIC_CALL,
      (name: string, args: string, help: boolean) => this.runLineMagic({ kind: "line", name, args, help }),
      // `any`: a magic's value assigned in TypeScript (`const d = %vhd mount x`) is then usable as is.
      `declare function ${LINE_MAGIC_CALL}(name: string, args: string, help: boolean): Promise<any>;`,
    );
  }

  /**
   * Runs `code` with outputs going to `out`. `executionCount` labels the execute_result; with
   * `silent` nothing is published but errors still come back in the outcome.
   */
  async run(code: string, out: OutputSink, executionCount: number): Promise<CellOutcome> {
    setCellSink(out);
    try {
      const value = await this.runCode(code);
      if ((value instanceof MagicHelp || value instanceof ObjectHelp) && out.page) out.page(value.toMimeBundle());
      else if (value !== undefined) out.result(executionCount, mimeBundleOf(value));
      return { status: "ok" };
    } catch (err) {
      const error = toCellError(err);
      out.error(error);
      return { status: "error", error };
    }
    // The sink stays current after the cell: output from timers the cell started still lands here.
  }

  /** Evaluates an expression for user_expressions; errors come back as CellError values. */
  async evaluate(expression: string): Promise<{ ok: true; value: unknown } | { ok: false; error: CellError }> {
    try {
      return { ok: true, value: await this.runCode(expression) };
    } catch (err) {
      return { ok: false, error: toCellError(err) };
    }
  }

  private async runCode(code: string): Promise<unknown> {
    const plan = planCell(code, (name) => name in this.executor.locals || name in globalThis);
    switch (plan.kind) {
      case "cell-magic":
        return this.runMagic(plan.magic);
      case "line-magics": {
        let last: unknown;
        for (const m of plan.magics) last = await this.runMagic(m);
        return last;
      }
      case "typescript": {
        const asked = helpRequest(plan.code);
        if (asked) return await this.objectHelp(asked.name, asked.source);
        const r = await this.executor.execute(plan.code);
        return r.hasValue ? r.value : undefined;
      }
    }
  }

  /**
   * IPython's `name?` (the type checker's quick info: signature and documentation) and `name??`
   * (that, plus the value's source as it runs: the compiled JavaScript of a function or class).
   */
  private async objectHelp(name: string, source: boolean): Promise<ObjectHelp> {
    let value: unknown;
    let found = true;
    try {
      value = runInThisContext(`(function (scope) { with (scope) { return ${name}; } })`)(this.executor.locals);
    } catch {
      found = false;
    }
    const info = await this.executor.inspect(name, name.length - 1);
    // An unresolved name still has quick info: `any`.
    if (!found && (info === undefined || info === "any")) return new ObjectHelp(`Object \`${name}\` not found.`);
    const sections = info ? [info] : [];
    if (source && typeof value === "function") sections.push(`Source (as it runs):\n${Function.prototype.toString.call(value)}`);
    return new ObjectHelp(sections.length ? sections.join("\n\n") : `${name}: no type information`);
  }

  private runLineMagic(parsed: ParsedMagic): Promise<unknown> {
    return this.runMagic(parsed);
  }

  private async runMagic(parsed: ParsedMagic): Promise<unknown> {
    const magic = this.magics.resolve(parsed);
    if (parsed.help) return new MagicHelp(magic);
    const ctx: MagicContext = {
      out: this.currentSink(),
      scope: this.executor.locals,
      libraryNames: this.libraryNames,
      runCell: (c) => this.runCode(c),
      history: this.history,
      resetNames: () => this.executor.reset(),
      ask: (prompt) => input(prompt),
    };
    return await magic.run(parsed.args, parsed.kind === "cell" ? (parsed.body ?? "") : undefined, ctx);
  }

  private currentSink(): OutputSink {
    const s = currentCellSink();
    if (!s) throw new Error("a magic ran with no cell output to write to");
    return s;
  }
}

/** `name?`, `name.member??`: a dotted name followed by one or two question marks, alone in the cell. */
const HELP_REQUEST = /^\s*([A-Za-z_$][\w$]*(?:\s*\.\s*[A-Za-z_$][\w$]*)*)\s*(\?\??)\s*$/;

export function helpRequest(code: string): { name: string; source: boolean } | undefined {
  const m = HELP_REQUEST.exec(code);
  return m ? { name: m[1]!.replace(/\s+/g, ""), source: m[2] === "??" } : undefined;
}

/** What `name?` returns: shown in the pager (the execute_reply's page payload) by Jupyter frontends. */
export class ObjectHelp {
  constructor(readonly text: string) {}
  toMimeBundle() {
    return { "text/plain": `${this.text}\n` };
  }
}

/** What `%name?` returns: the magic's help, shown in the pager by Jupyter frontends. */
export class MagicHelp {
  constructor(readonly magic: Magic) {}
  get text(): string {
    return `${this.magic.help}\n`;
  }
  toMimeBundle() {
    return { "text/plain": this.text };
  }
}

export function toCellError(err: unknown): CellError {
  if (err instanceof TypeScriptError) {
    return { ename: err.name, evalue: err.message, traceback: err.traceback() };
  }
  if (err instanceof UsageError || err instanceof KeyboardInterrupt || err instanceof CalledProcessError) {
    return { ename: err.name, evalue: err.message, traceback: [`${err.name}: ${err.message}`] };
  }
  if (err instanceof Error) {
    return { ename: err.name || "Error", evalue: err.message, traceback: userFrames(err) };
  }
  return { ename: "Thrown", evalue: utilInspect(err), traceback: [`Uncaught ${utilInspect(err)}`] };
}

/** The stack without the kernel's own frames below the cell. */
function userFrames(err: Error): string[] {
  const lines = (err.stack ?? `${err.name}: ${err.message}`).split("\n");
  const cut = lines.findIndex((l) => /^\s+at /.test(l) && /dist[\\/]src[\\/]jupyter[\\/]|node:internal[\\/]|node:vm/.test(l));
  const kept = cut > 0 ? lines.slice(0, cut) : lines;
  return [kept.join("\n")];
}
