/**
 * Runs TypeScript cells. The converter (ts-converter.ts: one long-lived program and checker) type-checks
 * each cell against the declarations of earlier cells and compiles it to CommonJS in which names of
 * earlier cells are read from a shared scope object; we execute that JavaScript ourselves so that
 * values, errors and interrupts come back as values rather than console text.
 */
import { createRequire } from "node:module";
import { join } from "node:path";
import { runInThisContext } from "node:vm";
import { KeyboardInterrupt } from "../interrupt";
import { RESULT_NAME, TICK_NAME, isScopeSpecifier } from "./cell-names";
import { isCompleteCode } from "./ts-complete-code";
import { runtimeComplete, runtimeInspect } from "./runtime-introspection";
import type { CellDiagnostic, TsConverter } from "./ts-converter";

/** A module whose named exports are in scope in every cell. */
export interface ScopeModule {
  /** Absolute path of the compiled module without extension (its `.d.ts` types the cell). */
  path: string;
  exports: Record<string, unknown>;
}

export class TypeScriptError extends Error {
  constructor(
    readonly diagnostics: CellDiagnostic[],
    readonly code: string,
  ) {
    super(diagnostics.map((d) => `${d.start.line + 1}:${d.start.character + 1} ${d.messageText}`).join("; "));
    this.name = "TypeScriptError";
  }

  /** One entry per diagnostic: position, message, the source line and a caret under the span. */
  traceback(): string[] {
    const lines = this.code.split("\n");
    return this.diagnostics.map((d) => {
      const src = lines[d.start.line] ?? "";
      const width = d.end.line === d.start.line ? Math.max(1, d.end.character - d.start.character) : 1;
      return `${this.name}: line ${d.start.line + 1}, column ${d.start.character + 1}: ${d.messageText}\n    ${src}\n    ${" ".repeat(d.start.character)}${"^".repeat(width)}`;
    });
  }
}

export interface CellValue {
  /** False when the cell did not end with an expression (or it was undefined). */
  hasValue: boolean;
  value?: unknown;
}

interface CellGlobal {
  exports: Record<string, unknown>;
  require: NodeJS.Require;
  tick: () => void;
  result: { value?: unknown };
}

const CELL_GLOBAL = "__xenlab_cell__";
let cellCounter = 0;

export class TsExecutor {
  /**
   * Built on first use (a TypeScript cell or `name?`), not at start: loading TypeScript and
   * parsing the declarations takes seconds and ~100 MiB (66 MiB of V8 heap, 40 of it
   * @types/node's) that a session of magics never needs. Until then complete_request and
   * inspect_request answer from the values in scope (runtime-introspection.ts).
   */
  private converter: TsConverter | undefined;
  private loading: Promise<TsConverter> | undefined;
  /** Kernel definitions (see define), replayed into the converter when it is built. */
  private readonly definitions: { name: string; typeDecl: string }[] = [];
  private readonly scope: Record<string, unknown> = {};
  private readonly liveNames = new Map<string, () => unknown>();
  private rejectInterrupt: ((err: Error) => void) | undefined;

  constructor(
    private readonly modules: ScopeModule[],
    private readonly tick: () => void,
  ) {
    this.reset();
  }

  /** Builds the converter and checks one cell, so that the first real cell is fast. */
  async warmUp(): Promise<void> {
    (await this.conv()).convert("0").commit();
  }

  /** Whether the converter has been built (warmUp or a first TypeScript cell). */
  get warm(): boolean {
    return this.converter !== undefined;
  }

  /** Names visible to cells (library exports and everything cells declared). */
  get locals(): Record<string, unknown> {
    return this.scope;
  }

  /** Makes a name visible to later cells, with a declaration so the type checker knows it. */
  define(name: string, value: unknown, typeDecl: string): void {
    this.scope[name] = value;
    this.addDefinition(name, typeDecl);
  }

  /**
   * Makes a name read its value afresh each time (e.g. `host`, the current host), until a cell
   * declares the name itself.
   */
  defineLive(name: string, get: () => unknown, typeDecl: string): void {
    this.liveNames.set(name, get);
    Object.defineProperty(this.scope, name, { get, enumerable: true, configurable: true });
    this.addDefinition(name, typeDecl);
  }

  /** Forgets every name cells declared (IPython's %reset); the library and kernel names stay. */
  reset(): void {
    const kept = new Map(this.definitions.map((d) => [d.name, this.liveNames.has(d.name) ? undefined : this.scope[d.name]]));
    for (const key of Object.keys(this.scope)) delete this.scope[key];
    for (const m of this.modules) Object.assign(this.scope, m.exports);
    for (const [name, value] of kept) {
      const live = this.liveNames.get(name);
      if (live) Object.defineProperty(this.scope, name, { get: live, enumerable: true, configurable: true });
      else this.scope[name] = value;
    }
    this.converter?.reset();
  }

  /** Compiles and runs `code`; resolves with the value of its last expression. */
  async execute(code: string): Promise<CellValue> {
    const converted = (await this.conv()).convert(code);
    if (converted.diagnostics.length > 0) throw new TypeScriptError(converted.diagnostics, code);
    const prefix = converted.topLevelAwait ? "(async function (exports, require, " : "(function (exports, require, ";
    const wrapped = `${prefix}${TICK_NAME}, ${RESULT_NAME}) {\n${converted.js}\n})(${CELL_GLOBAL}.exports, ${CELL_GLOBAL}.require, ${CELL_GLOBAL}.tick, ${CELL_GLOBAL}.result)`;
    const result: { value?: unknown } = {};
    const cellGlobal: CellGlobal = { exports: this.exportsProxy(), require: this.cellRequire(), tick: this.tick, result };
    (globalThis as Record<string, unknown>)[CELL_GLOBAL] = cellGlobal;
    const filename = `cell-${++cellCounter}.js`;
    try {
      const ret: unknown = runInThisContext(wrapped, { filename, breakOnSigint: true });
      if (converted.topLevelAwait) {
        await Promise.race([ret, this.interruptPromise()]);
      }
    } finally {
      // As in IPython, what a cell declared before it threw (or was interrupted) stays usable.
      converted.commit();
    }
    return result.value === undefined ? { hasValue: false } : { hasValue: true, value: result.value };
  }

  /** Stops an awaiting cell now (a busy loop stops at its next tick). */
  interrupt(): void {
    this.rejectInterrupt?.(new KeyboardInterrupt());
  }

  /** Before the checker is loaded (no TypeScript cell yet), from the values in scope: at once. */
  async complete(code: string, position: number): Promise<{ start: number; end: number; candidates: string[] }> {
    if (!this.converter) return runtimeComplete(this.scope, code, position);
    return (await this.conv()).complete(code, position);
  }

  /** Quick info (signature and documentation) at a position, as plain text; undefined if none. */
  async inspect(code: string, position: number): Promise<string | undefined> {
    const info = (await this.conv()).quickInfo(code, position);
    if (!info) return undefined;
    const signature = (info.displayParts ?? []).map((p) => p.text).join("");
    const docs = (info.documentation ?? []).map((p) => p.text).join("");
    const tags = (info.tags ?? [])
      .map((t) => `@${t.name} ${(t.text ?? []).map((p) => p.text).join("")}`.trim())
      .join("\n");
    return [signature, docs, tags].filter((s) => s.length > 0).join("\n\n") || undefined;
  }

  /**
   * For inspect_request, which must be answered at once: quick info once the checker is loaded,
   * before that what the value at the cursor is now.
   */
  async inspectNow(code: string, position: number): Promise<string | undefined> {
    if (!this.converter) return runtimeInspect(this.scope, code, position);
    return this.inspect(code, position);
  }

  isComplete(code: string): { complete: boolean; indent: string } {
    const r = isCompleteCode(code);
    return { complete: r.completed, indent: r.indent ?? "" };
  }

  close(): void {
    this.converter?.close();
    this.converter = undefined;
    this.loading = undefined;
  }

  private addDefinition(name: string, typeDecl: string): void {
    this.definitions.push({ name, typeDecl });
    this.converter?.addDefinition(name, typeDecl);
  }

  private conv(): Promise<TsConverter> {
    if (this.converter) return Promise.resolve(this.converter);
    this.loading ??= import("./ts-converter").then(({ TsConverter }) => {
      const converter = new TsConverter();
      for (const m of this.modules) converter.addModule(m.path, Object.keys(m.exports).filter((n) => /^[A-Za-z_$][\w$]*$/.test(n)));
      for (const d of this.definitions) converter.addDefinition(d.name, d.typeDecl);
      this.converter = converter;
      return converter;
    });
    return this.loading;
  }

  private interruptPromise(): Promise<never> {
    const p = new Promise<never>((_, reject) => {
      this.rejectInterrupt = reject;
    });
    p.catch(() => undefined);
    return p;
  }

  /**
   * TypeScript's CommonJS output defines exports with defineProperty getters for re-exported
   * imports; storing plain values keeps every name rebindable by later cells.
   */
  private exportsProxy(): Record<string, unknown> {
    const scope = this.scope;
    return new Proxy(scope, {
      defineProperty(_target, prop, attrs) {
        if (prop === "__esModule") return true;
        const value = attrs.get ? attrs.get() : attrs.value;
        Object.defineProperty(scope, prop, { value, writable: true, enumerable: true, configurable: true });
        return true;
      },
      set(_target, prop, value) {
        // A plain store replaces a live name (see defineLive) instead of failing on its getter.
        Object.defineProperty(scope, prop, { value, writable: true, enumerable: true, configurable: true });
        return true;
      },
    });
  }

  /** `require` resolving from the working folder (see %cd), with `xenlab` meaning this library. */
  private cellRequire(): NodeJS.Require {
    const base = createRequire(join(process.cwd(), "__cell__.js"));
    const library = this.modules[0]?.exports;
    const scope = this.scope;
    const req = ((id: string) => (isScopeSpecifier(id) ? scope : id === "xenlab" && library ? library : base(id))) as NodeJS.Require;
    return Object.assign(req, { resolve: base.resolve, cache: base.cache, main: base.main, extensions: base.extensions });
  }
}
