/**
 * Runs TypeScript cells. tslab's converter (a TypeScript watch program) type-checks each cell
 * against the declarations of earlier cells and compiles it to CommonJS in which names declared
 * by earlier cells are read from a shared `exports` object; we execute that JavaScript ourselves
 * so that values, errors and interrupts come back as values rather than console text.
 */
import { createRequire } from "node:module";
import { join } from "node:path";
import { runInThisContext } from "node:vm";
import { Converter, createConverter, Diagnostic, isCompleteCode } from "tslab/dist/converter";
import { KeyboardInterrupt } from "../interrupt";
import { rewriteCellJs } from "./cell-js";
import { TICK_NAME } from "./loop-guard";

/** A module whose named exports are in scope in every cell. */
export interface ScopeModule {
  /** Absolute path of the compiled module without extension (its `.d.ts` types the cell). */
  path: string;
  exports: Record<string, unknown>;
}

export class TypeScriptError extends Error {
  constructor(
    readonly diagnostics: Diagnostic[],
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
}

const CELL_GLOBAL = "__xenlab_cell__";
let cellCounter = 0;

export class TsExecutor {
  private converter: Converter | undefined;
  private decl: string;
  private readonly prelude: string;
  private readonly scope: Record<string, unknown> = {};
  private rejectInterrupt: ((err: Error) => void) | undefined;

  constructor(
    private readonly modules: ScopeModule[],
    private readonly tick: () => void,
  ) {
    this.prelude = modules
      .map((m) => {
        const names = Object.keys(m.exports).filter((n) => /^[A-Za-z_$][\w$]*$/.test(n));
        return `import { ${names.join(", ")} } from ${JSON.stringify(m.path)};\n`;
      })
      .join("");
    this.decl = this.prelude;
    this.reset();
  }

  /** Creating the TypeScript program takes most of a second: the kernel does it after start-up. */
  warmUp(): void {
    this.conv();
  }

  /** Names visible to cells (library exports and everything cells declared). */
  get locals(): Record<string, unknown> {
    return this.scope;
  }

  /** Makes a name visible to later cells, with a declaration so the type checker knows it. */
  define(name: string, value: unknown, typeDecl: string): void {
    this.scope[name] = value;
    this.decl += `${typeDecl}\n`;
  }

  /**
   * Makes a name read its value afresh each time (e.g. `host`, the current host), until a cell
   * declares the name itself.
   */
  defineLive(name: string, get: () => unknown, typeDecl: string): void {
    Object.defineProperty(this.scope, name, { get, enumerable: true, configurable: true });
    this.decl += `${typeDecl}\n`;
  }

  reset(): void {
    for (const key of Object.keys(this.scope)) delete this.scope[key];
    for (const m of this.modules) Object.assign(this.scope, m.exports);
    this.decl = this.prelude;
  }

  /** Compiles and runs `code`; resolves with the value of its last expression. */
  async execute(code: string): Promise<CellValue> {
    const converted = this.conv().convert(this.decl, code);
    if (converted.diagnostics.length > 0) throw new TypeScriptError(converted.diagnostics, code);
    if (!converted.output) {
      this.decl = converted.declOutput ?? this.decl;
      return { hasValue: false };
    }
    const js = rewriteCellJs(converted.output, new Set(Object.keys(this.scope)));
    const prefix = converted.hasToplevelAwait ? "(async function (exports, require, " : "(function (exports, require, ";
    const wrapped = `${prefix}${TICK_NAME}) {\n${js}\n})(${CELL_GLOBAL}.exports, ${CELL_GLOBAL}.require, ${CELL_GLOBAL}.tick)`;
    const cellGlobal: CellGlobal = { exports: this.exportsProxy(), require: this.cellRequire(), tick: this.tick };
    (globalThis as Record<string, unknown>)[CELL_GLOBAL] = cellGlobal;
    const filename = `cell-${++cellCounter}.js`;
    try {
      const ret: unknown = runInThisContext(wrapped, { filename, breakOnSigint: true });
      if (converted.hasToplevelAwait) {
        await Promise.race([ret, this.interruptPromise()]);
      }
    } finally {
      // As in IPython, what a cell declared before it threw (or was interrupted) stays usable.
      this.decl = converted.declOutput ?? this.decl;
    }
    const lastVar = converted.lastExpressionVar;
    if (!lastVar || !(lastVar in this.scope)) return { hasValue: false };
    const value = this.scope[lastVar];
    delete this.scope[lastVar];
    return value === undefined ? { hasValue: false } : { hasValue: true, value };
  }

  /** Stops an awaiting cell now (a busy loop stops at its next tick). */
  interrupt(): void {
    this.rejectInterrupt?.(new KeyboardInterrupt());
  }

  complete(code: string, position: number): { start: number; end: number; candidates: string[] } {
    return this.conv().complete(this.decl, code, position);
  }

  /** Quick info (signature and documentation) at a position, as plain text; undefined if none. */
  inspect(code: string, position: number): string | undefined {
    const info = this.conv().inspect(this.decl, code, position);
    if (!info) return undefined;
    const signature = (info.displayParts ?? []).map((p) => p.text).join("");
    const docs = (info.documentation ?? []).map((p) => p.text).join("");
    const tags = (info.tags ?? [])
      .map((t) => `@${t.name} ${(t.text ?? []).map((p) => p.text).join("")}`.trim())
      .join("\n");
    return [signature, docs, tags].filter((s) => s.length > 0).join("\n\n") || undefined;
  }

  isComplete(code: string): { complete: boolean; indent: string } {
    const r = isCompleteCode(code);
    return { complete: r.completed, indent: r.indent ?? "" };
  }

  close(): void {
    this.converter?.close();
    this.converter = undefined;
  }

  private conv(): Converter {
    this.converter ??= createConverter();
    return this.converter;
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
    const req = ((id: string) => (id === "xenlab" && library ? library : base(id))) as NodeJS.Require;
    return Object.assign(req, { resolve: base.resolve, cache: base.cache, main: base.main, extensions: base.extensions });
  }
}
