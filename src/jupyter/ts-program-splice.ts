/**
 * Adds a cell's SourceFile to a Program that is already built, so that the program's one type
 * checker checks the cell. TypeScript's public API builds a new checker for every new program (a
 * LanguageService does the same on every edit), and a new checker re-merges the globals of every
 * file (the standard library, @types/node, the library's declarations): that merge and the
 * program's per-file bookkeeping were most of a cell's time, and they grow with every file.
 *
 * A cell is a module (it has imports and exports), so the checker's global symbol table never
 * needs it: binding the file, recording where its imports resolve and registering it among the
 * program's files is all the checker asks for. Those three hooks are TypeScript internals
 * (5.9: `ts.bindSourceFile`, `Program.resolvedModules`, `Program.getFilesByNameMap()` and the
 * array `getSourceFiles()` returns); `spliceable` detects them, and the service builds a new
 * program instead whenever one is missing or the cell touches the global scope.
 */
import * as ts from "typescript";

/** The internal parts of a Program that splicing writes to (see typescript.js, createProgram). */
interface ProgramInternals {
  resolvedModules: Map<string, ts.ModeAwareCache<ts.ResolvedModuleWithFailedLookupLocations>> | undefined;
  getFilesByNameMap(): Map<string, ts.SourceFile | false | undefined>;
}

/** Fields the program sets on the SourceFiles it finds (findSourceFileWorker). */
interface SourceFileInternals {
  path: string;
  resolvedPath: string;
  originalFileName: string;
}

type Binder = (file: ts.SourceFile, options: ts.CompilerOptions) => void;

function binder(): Binder | undefined {
  const bind: unknown = (ts as unknown as Record<string, unknown>)["bindSourceFile"];
  return typeof bind === "function" ? (bind as Binder) : undefined;
}

function programInternals(program: ts.Program): ProgramInternals | undefined {
  const p = program as unknown as Partial<ProgramInternals>;
  if (!(p.resolvedModules instanceof Map) || typeof p.getFilesByNameMap !== "function") return undefined;
  return p as ProgramInternals;
}

/** Whether this TypeScript and this program offer the hooks splicing needs. */
export function spliceable(program: ts.Program): boolean {
  return binder() !== undefined && programInternals(program) !== undefined && Array.isArray(program.getSourceFiles());
}

/** Binds a parsed cell (what the checker would do when it was created) and sets its paths. */
export function bindCell(file: ts.SourceFile, options: ts.CompilerOptions): void {
  const f = file as unknown as SourceFileInternals;
  f.path = file.fileName;
  f.resolvedPath = file.fileName;
  f.originalFileName = file.fileName;
  binder()!(file, options);
}

/**
 * A file that adds to the global scope or to another module (`declare global`, `declare module
 * "m"`, `export as namespace`), or is not a module: only a new checker merges those. (The program
 * finds augmentations when it collects a file's imports, which a spliced file never went through.)
 */
export function touchesGlobals(file: ts.SourceFile): boolean {
  if (!ts.isExternalModule(file)) return true;
  return file.statements.some(
    (s) => ts.isNamespaceExportDeclaration(s) || (ts.isModuleDeclaration(s) && (ts.isStringLiteral(s.name) || (s.flags & ts.NodeFlags.GlobalAugmentation) !== 0)),
  );
}

/** Makes `file` one of `program`'s files, its imports resolving as `resolutions` says. */
export function splice(program: ts.Program, file: ts.SourceFile, resolutions: ReadonlyMap<string, ts.ResolvedModuleWithFailedLookupLocations>): void {
  const p = programInternals(program)!;
  p.resolvedModules!.set(file.fileName, new ByName(resolutions));
  p.getFilesByNameMap().set(file.fileName, file);
  (program.getSourceFiles() as ts.SourceFile[]).push(file);
}

/** Undoes `splice` (the checker's caches keep what they learnt until the program is dropped). */
export function unsplice(program: ts.Program, file: ts.SourceFile): void {
  const p = programInternals(program);
  if (!p) return;
  p.resolvedModules?.delete(file.fileName);
  if (p.getFilesByNameMap().get(file.fileName) === file) p.getFilesByNameMap().delete(file.fileName);
  const files = program.getSourceFiles() as ts.SourceFile[];
  const at = files.indexOf(file);
  if (at >= 0) files.splice(at, 1);
}

/** A cell's resolutions by module name: under CommonJS output every import has the same mode. */
class ByName implements ts.ModeAwareCache<ts.ResolvedModuleWithFailedLookupLocations> {
  private readonly map: Map<string, ts.ResolvedModuleWithFailedLookupLocations>;
  constructor(from: ReadonlyMap<string, ts.ResolvedModuleWithFailedLookupLocations>) {
    this.map = new Map(from);
  }
  get(key: string): ts.ResolvedModuleWithFailedLookupLocations | undefined {
    return this.map.get(key);
  }
  set(key: string, _mode: ts.ResolutionMode, value: ts.ResolvedModuleWithFailedLookupLocations): this {
    this.map.set(key, value);
    return this;
  }
  delete(key: string): this {
    this.map.delete(key);
    return this;
  }
  has(key: string): boolean {
    return this.map.has(key);
  }
  forEach(cb: (elem: ts.ResolvedModuleWithFailedLookupLocations, key: string, mode: ts.ResolutionMode) => void): void {
    this.map.forEach((v, k) => cb(v, k, undefined));
  }
  size(): number {
    return this.map.size;
  }
}
