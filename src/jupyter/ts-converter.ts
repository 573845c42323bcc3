/**
 * Converts cells with one long-lived program and checker (ts-service.ts). Every cell is a module
 * `__xenlab_cell_N__.ts`; a cell that declared names stays in the program, and the converter
 * remembers, for every name in scope, the latest module that declared it (a cell, or the scope
 * module that re-exports the library's and the kernel's names). A new cell imports the names it
 * mentions and does not declare itself from those modules, so it can redeclare any name, and only
 * the cell is checked. TypeScript's CommonJS emit then reads earlier names as properties of the
 * imported modules, which at run time are all the one shared scope object, and writes the cell's
 * own exported names to it.
 */
import * as ts from "typescript";
import { loopGuardTransformer } from "./loop-guard";
import { RESULT_NAME, SCOPE_SPECIFIER, cellSpecifier, isScopeSpecifier } from "./cell-names";
import { BindingKind, CellModule, toCellModule, toCellOffset } from "./ts-cell-module";
import { CheckedCell, TsService } from "./ts-service";

export interface Position {
  /** Zero-based, in the cell's code. */
  line: number;
  character: number;
}

export interface CellDiagnostic {
  start: Position;
  end: Position;
  messageText: string;
  code: number;
}

export interface ConvertedCell {
  diagnostics: CellDiagnostic[];
  js: string;
  topLevelAwait: boolean;
  /** The JavaScript stores the value of the cell's last expression in `${RESULT_NAME}.value`. */
  hasLastExpression: boolean;
  /** Call after the cell ran (or threw): later cells see what it declared. */
  commit(): void;
}

const SCOPE_FILE = `${SCOPE_SPECIFIER.slice(2)}.d.ts`;
const DEFS = "./__xenlab_defs__";
const DEFS_FILE = `${DEFS.slice(2)}.d.ts`;

/** Top-level await is run by wrapping the cell in an async function; CommonJS itself has none. */
const TOP_LEVEL_AWAIT_CODES = new Set([1378, 1432, 2854]);
/** "Cannot assign to 'x' because it is an import.": allowed for earlier `let`/`var` only. */
const ASSIGN_TO_IMPORT = 2632;

interface ScopeEntry {
  from: string;
  kind: BindingKind;
}

export class TsConverter {
  private readonly service: TsService;
  private readonly scope = new Map<string, ScopeEntry>();
  /** The scope before any cell ran (library and kernel definitions), for %reset. */
  private base = new Map<string, ScopeEntry>();
  /** Library and kernel names, and the module the scope module re-exports each from. */
  private readonly reexported = new Map<string, string>();
  private defs = "";
  /** Cells converted so far (each gets its own module name, `__xenlab_cell_N__`). */
  private cells = 0;

  constructor(dir: string = process.cwd()) {
    this.service = new TsService(dir, SCOPE_FILE);
    this.service.write(DEFS_FILE, "export {};\n");
    this.writeScope();
  }

  /** Names exported by a module at `path` (an absolute path without extension). */
  addModule(path: string, names: readonly string[]): void {
    for (const n of names) this.setBase(n, path);
    this.writeScope();
  }

  /** `declaration` is a `declare const|function ...` statement for `name`. */
  addDefinition(name: string, declaration: string): void {
    this.defs += `export ${declaration}\n`;
    this.service.write(DEFS_FILE, this.defs);
    this.setBase(name, DEFS);
    this.writeScope();
  }

  /** Forgets every cell's declarations (IPython's %reset). */
  reset(): void {
    this.service.forgetCells();
    this.scope.clear();
    for (const [n, e] of this.base) this.scope.set(n, e);
  }

  /** Type-checks and compiles a cell. */
  convert(code: string): ConvertedCell {
    const module = toCellModule(code, this.sources(), false);
    const n = ++this.cells;
    const cell = this.service.check(cellFile(n), module.text);
    const diagnostics = this.cellDiagnostics(code, module, cell);
    if (diagnostics.length > 0) {
      this.service.drop(cell);
      return { diagnostics, js: "", topLevelAwait: false, hasLastExpression: false, commit: () => undefined };
    }
    const before = [hoistScopeImport, loopGuardTransformer];
    if (module.lastExpression !== undefined) before.unshift(lastValueTransformer(module.lastExpression));
    const js = this.service.emit(cell, before);
    return {
      diagnostics,
      js: js.replace(/^"use strict";\n/, ""),
      topLevelAwait: module.topLevelAwait,
      hasLastExpression: module.lastExpression !== undefined,
      commit: () => this.commit(module, cell, n),
    };
  }

  /** Completion candidates at `position` (UTF-16 offset into `code`), as tslab ordered them. */
  complete(code: string, position: number): { start: number; end: number; candidates: string[] } {
    const module = toCellModule(code, this.sources(), true);
    const info = this.service.completions(module.text, toModuleOffset(module, position));
    const entries = [...(info?.entries ?? [])].filter((e) => !e.name.startsWith("__xenlab_"));
    // The identifier the cursor is in or just after, in the cell's own code.
    const before = /[A-Za-z_$][\w$]*$/.exec(code.slice(0, position))?.[0] ?? "";
    const after = /^[\w$]*/.exec(code.slice(position))![0];
    if (!before && !after) {
      entries.sort((a, b) => a.sortText.localeCompare(b.sortText) || a.name.localeCompare(b.name));
      return { start: position, end: position, candidates: entries.map((e) => e.name) };
    }
    const typed = before;
    const rank = (name: string) => (name.startsWith(typed) ? 0 : name.toLowerCase().startsWith(typed.toLowerCase()) ? 1 : name.toLowerCase().includes(typed.toLowerCase()) ? 2 : -1);
    const ranked = entries.map((e) => ({ e, r: rank(e.name) })).filter((x) => x.r >= 0);
    ranked.sort((a, b) => a.r - b.r || a.e.sortText.localeCompare(b.e.sortText) || a.e.name.localeCompare(b.e.name));
    return {
      start: position - before.length,
      end: position + after.length,
      candidates: ranked.map((x) => x.e.name),
    };
  }

  /** Quick info at `position` in `code`. */
  quickInfo(code: string, position: number): ts.QuickInfo | undefined {
    const module = toCellModule(code, this.sources(), true);
    return this.service.quickInfo(module.text, toModuleOffset(module, position));
  }

  /** Programs (type checkers) built so far: one per cell would mean nothing is kept. */
  get programsBuilt(): number {
    return this.service.programsBuilt;
  }

  close(): void {
    this.service.dispose();
  }

  /** Library and kernel names live in the scope module; `from` is where it re-exports them from. */
  private setBase(name: string, from: string): void {
    this.reexported.set(name, from);
    const scoped: ScopeEntry = { from: SCOPE_SPECIFIER, kind: "const" };
    this.base.set(name, scoped);
    this.scope.set(name, scoped);
  }

  /** Each name in scope and the module a cell imports it from. */
  private sources(): Map<string, string> {
    return new Map([...this.scope].map(([name, e]) => [name, e.from]));
  }

  private commit(module: CellModule, cell: CheckedCell, n: number): void {
    const declared = [...module.declared].filter(([name]) => name !== RESULT_NAME);
    if (declared.length === 0 && !cell.touchesGlobals) {
      this.service.drop(cell);
      return;
    }
    this.service.keep(cell);
    for (const [name, kind] of declared) this.scope.set(name, { from: cellSpecifier(n), kind });
  }

  private writeScope(): void {
    const bySource = new Map<string, string[]>();
    for (const [name, from] of this.reexported) {
      const names = bySource.get(from) ?? [];
      names.push(name);
      bySource.set(from, names);
    }
    const lines = [...bySource].map(([from, names]) => `export { ${names.join(", ")} } from ${JSON.stringify(from)};`);
    this.service.write(SCOPE_FILE, `${lines.join("\n")}\nexport {};\n`);
  }

  private cellDiagnostics(code: string, module: CellModule, cell: CheckedCell): CellDiagnostic[] {
    const lines = lineStarts(code);
    const out: CellDiagnostic[] = [];
    for (const d of cell.diagnostics) {
      if (d.file?.fileName !== cell.file.fileName || d.start === undefined) continue;
      // A syntax error at the end of the cell (`1 +`) is reported in the import the kernel added.
      const syntax = d.category === ts.DiagnosticCategory.Error && d.code >= 1000 && d.code < 2000 && !TOP_LEVEL_AWAIT_CODES.has(d.code);
      if ((d.start >= module.codeLength && !syntax) || TOP_LEVEL_AWAIT_CODES.has(d.code)) continue;
      let message = ts.flattenDiagnosticMessageText(d.messageText, "\n");
      if (d.code === ASSIGN_TO_IMPORT) {
        const name = module.text.slice(d.start, d.start + (d.length ?? 0));
        const kind = this.scope.get(name)?.kind;
        if (kind === "mutable") continue;
        message = `Cannot assign to '${name}' because it is ${KIND_WORDS[kind ?? "const"]}.`;
      }
      const start = toCellOffset(module, d.start);
      const end = Math.max(start, toCellOffset(module, d.start + (d.length ?? 0)));
      out.push({ start: position(lines, start), end: position(lines, end), messageText: message, code: d.code });
    }
    return out;
  }
}

const KIND_WORDS: Record<BindingKind, string> = {
  mutable: "a variable",
  const: "a constant",
  function: "a function",
  class: "a class",
  import: "an import",
  type: "a type",
};

function cellFile(n: number): string {
  return `${cellSpecifier(n).slice(2)}.ts`;
}

function toModuleOffset(module: CellModule, offset: number): number {
  return offset + module.insertions.filter((at) => at < offset).length * "export ".length;
}

function lineStarts(code: string): number[] {
  const starts = [0];
  for (let i = code.indexOf("\n"); i >= 0; i = code.indexOf("\n", i + 1)) starts.push(i + 1);
  return starts;
}

function position(starts: number[], offset: number): Position {
  let line = 0;
  while (line + 1 < starts.length && starts[line + 1]! <= offset) line++;
  return { line, character: offset - starts[line]! };
}

/**
 * Moves the imports of earlier names to the top: TypeScript emits an import's `require` where the
 * import stands, and the kernel appends them after the cell's code (so no position moves).
 */
const hoistScopeImport: ts.TransformerFactory<ts.SourceFile> = (context) => (file) => {
  const isScope = (s: ts.Statement) => ts.isImportDeclaration(s) && ts.isStringLiteral(s.moduleSpecifier) && isScopeSpecifier(s.moduleSpecifier.text);
  return context.factory.updateSourceFile(file, [...file.statements.filter(isScope), ...file.statements.filter((s) => !isScope(s))]);
};

/** Replaces the last statement `expr;` by `__xenlab_result__.value = expr;`. */
function lastValueTransformer(index: number): ts.TransformerFactory<ts.SourceFile> {
  return (context) => (file) => {
    const f = context.factory;
    const statements = file.statements.map((s, i) =>
      i === index && ts.isExpressionStatement(s)
        ? f.createExpressionStatement(f.createAssignment(f.createPropertyAccessExpression(f.createIdentifier(RESULT_NAME), "value"), s.expression))
        : s,
    );
    return f.updateSourceFile(file, statements);
  };
}
