/**
 * One TypeScript program and its one type checker, kept across cells. A cell is spliced into the
 * program (ts-program-splice.ts): it is parsed and bound, and the checker that already knows the
 * standard library, @types and the library's declarations checks it, so a cell costs its own parse,
 * bind, check and emit whatever the scope holds. Earlier cells stay in the program as modules that
 * later cells import (their source, not a declaration emit). A new program is built (from the old
 * one, so no unchanged file is parsed again) only when a cell needs a file the program lacks, adds
 * to the global scope, or after many cells or one big cell, to let go of the checker's caches.
 * Completion and quick info use a language service built on first use over the same SourceFiles.
 */
import { dirname, join } from "node:path";
import * as ts from "typescript";
import { bindCell, splice, spliceable, touchesGlobals, unsplice } from "./ts-program-splice";

/** Compiler options as tslab set them, so that cells mean what they meant there. */
function compilerOptions(root: string): ts.CompilerOptions {
  return {
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    esModuleInterop: true,
    target: ts.ScriptTarget.ES2022,
    lib: ["lib.es2022.d.ts"],
    newLine: ts.NewLineKind.LineFeed,
    experimentalDecorators: true,
    resolveJsonModule: true,
    jsx: ts.JsxEmit.React,
    typeRoots: typeRoots(root),
    skipLibCheck: true,
    noEmitOnError: false,
  };
}

/** @types next to the notebook's folder first, then the kernel's own (for node's types). */
function typeRoots(root: string): string[] {
  const roots: string[] = [];
  for (let dir = root; ; dir = dirname(dir)) {
    const types = join(dir, "node_modules", "@types");
    if (ts.sys.directoryExists(types)) roots.push(types);
    if (dirname(dir) === dir) break;
  }
  const own = join(dirname(require.resolve("@types/node/package.json")), "..");
  return roots.includes(own) ? roots : [...roots, own];
}

/** A cell checked by the program, ready to emit. */
export interface CheckedCell {
  readonly file: ts.SourceFile;
  readonly program: ts.Program;
  /** Syntax errors of the cell, or else its type errors. */
  readonly diagnostics: readonly ts.Diagnostic[];
  /** It adds to the global scope or augments a module: later programs must keep it. */
  readonly touchesGlobals: boolean;
}

interface VirtualFile {
  text: string;
  version: number;
  source?: ts.SourceFile;
}

/** "Cannot find module": the module may have been installed since it was last looked for. */
const CANNOT_FIND_MODULE = 2307;
/**
 * Cells spliced into one program before the next is built: a checker keeps what it learnt about
 * every cell (types, node links), so this bounds its growth; building a program costs about 20
 * spliced cells.
 */
const SPLICES_PER_PROGRAM = 200;
/** A cell this long (UTF-16 units) is let go of with its checker as soon as it is done. */
const BIG_CELL = 1 << 20;

export class TsService {
  readonly dir: string;
  private readonly options: ts.CompilerOptions;
  private readonly virtual = new Map<string, VirtualFile>();
  /** Files on disk, parsed once (like tslab, the kernel does not watch them: a rebuilt .d.ts needs a restart). */
  private readonly disk = new Map<string, ts.SourceFile | null>();
  private readonly host: ts.CompilerHost;
  private readonly modules: ts.ModuleResolutionCache;
  /** The program's roots besides cells: the scope module (the library's and kernel's names). */
  private readonly roots: string[];
  /** Cells later cells may import, in order: with `roots`, the roots of the next program. */
  private readonly kept = new Set<string>();
  private current: ts.Program | undefined;
  /** A file other than a cell changed since `current` was built: the next cell builds a program. */
  private stale = true;
  private spliced = 0;
  /** Programs built so far (each one a new checker): a figure for tests and the bench. */
  programsBuilt = 0;
  private service: ts.LanguageService | undefined;
  /** The file completion and quick info look into (never a program's cell). */
  private readonly probeFile: string;

  constructor(dir: string, scopeFile: string) {
    this.dir = dir;
    this.options = compilerOptions(dir);
    this.roots = [join(dir, scopeFile)];
    this.probeFile = join(dir, "__xenlab_probe__.ts");
    const base = ts.createCompilerHost(this.options, true);
    // Resolution caches that outlive each program: without them TypeScript looks up every file's
    // package.json again for every program.
    const modules = ts.createModuleResolutionCache(dir, (f) => f, this.options);
    const types = ts.createTypeReferenceDirectiveResolutionCache(dir, (f) => f, this.options, modules.getPackageJsonInfoCache());
    this.modules = modules;
    this.forgetResolutions = () => {
      modules.clear();
      types.clear();
      this.stale = true;
    };
    this.host = {
      ...base,
      getSourceFile: (f) => this.sourceFile(f),
      fileExists: (f) => this.virtual.has(f) || base.fileExists(f),
      readFile: (f) => this.virtual.get(f)?.text ?? base.readFile(f),
      directoryExists: (d) => d === dir || ts.sys.directoryExists(d),
      getCurrentDirectory: () => dir,
      writeFile: () => undefined,
      getModuleResolutionCache: () => modules,
      resolveModuleNameLiterals: (literals, containing, redirected, options, file) =>
        literals.map((l) => ts.resolveModuleName(l.text, containing, options, this.host, modules, redirected, ts.getModeForUsageLocation(file, l, options))),
      resolveTypeReferenceDirectiveReferences: (refs, containing, redirected, options, file) =>
        refs.map((r) => {
          const name = typeof r === "string" ? r : r.fileName.toLowerCase();
          const mode = typeof r === "string" || !file ? undefined : ts.getModeForFileReference(r, file.impliedNodeFormat);
          return ts.resolveTypeReferenceDirective(name, containing, options, this.host, redirected, types, mode);
        }),
    };
  }

  /** Forgets cached module resolutions (a module the cell could not find may exist now). */
  readonly forgetResolutions: () => void;

  /** Sets a virtual file's text (a new version only if it changed): the next cell builds a program. */
  write(name: string, text: string): void {
    const path = join(this.dir, name);
    const old = this.virtual.get(path);
    if (old?.text === text) return;
    this.virtual.set(path, { text, version: (old?.version ?? 0) + 1 });
    this.stale = true;
  }

  /** Forgets every kept cell (%reset). */
  forgetCells(): void {
    for (const path of this.kept) this.virtual.delete(path);
    this.kept.clear();
    this.stale = true;
  }

  /** Checks a cell; `name` is new for every cell (the checker knows files by name). */
  check(name: string, text: string): CheckedCell {
    const path = join(this.dir, name);
    this.virtual.set(path, { text, version: 1 });
    const file = this.sourceFile(path)!;
    const spliced = this.trySplice(file);
    if (spliced && !missesModule(spliced)) return spliced;
    if (spliced) unsplice(spliced.program, file);
    let cell = this.checkInNewProgram(path);
    if (missesModule(cell)) {
      this.forgetResolutions();
      cell = this.checkInNewProgram(path);
    }
    return cell;
  }

  /** The cell compiled to CommonJS, with `before` transformers. */
  emit(cell: CheckedCell, before: ts.TransformerFactory<ts.SourceFile>[]): string {
    let js = "";
    cell.program.emit(cell.file, (name, text) => {
      if (name.endsWith(".js")) js = text;
    }, undefined, false, { before });
    return js;
  }

  /** The cell declared names later cells may use: it stays, and later cells import it. */
  keep(cell: CheckedCell): void {
    this.kept.add(cell.file.fileName);
    if (cell.file.text.length >= BIG_CELL) this.stale = true;
  }

  /** The cell declared nothing (or did not run): nothing will import it. */
  drop(cell: CheckedCell): void {
    if (cell.program === this.current) unsplice(cell.program, cell.file);
    this.virtual.delete(cell.file.fileName);
    if (cell.file.text.length >= BIG_CELL) this.stale = true;
  }

  completions(text: string, position: number): ts.CompletionInfo | undefined {
    return this.probe(text).getCompletionsAtPosition(this.probeFile, position, {});
  }

  quickInfo(text: string, position: number): ts.QuickInfo | undefined {
    return this.probe(text).getQuickInfoAtPosition(this.probeFile, position);
  }

  dispose(): void {
    this.service?.dispose();
    this.service = undefined;
    this.current = undefined;
    this.stale = true;
  }

  /** Splices the cell into the current program, or says why not by returning undefined. */
  private trySplice(file: ts.SourceFile): CheckedCell | undefined {
    const program = this.current;
    if (this.stale || !program || this.spliced >= SPLICES_PER_PROGRAM || !spliceable(program)) return undefined;
    if (touchesGlobals(file)) return undefined;
    bindCell(file, this.options);
    const resolutions = new Map<string, ts.ResolvedModuleWithFailedLookupLocations>();
    for (const { fileName: specifier } of ts.preProcessFile(file.text, true, false).importedFiles) {
      const resolved = ts.resolveModuleName(specifier, file.fileName, this.options, this.host, this.modules);
      const target = resolved.resolvedModule?.resolvedFileName;
      // A module the program has not loaded yet: a new program loads it (and its imports).
      if (target !== undefined && !program.getSourceFile(target)) return undefined;
      resolutions.set(specifier, resolved);
    }
    splice(program, file, resolutions);
    this.spliced++;
    return { file, program, diagnostics: diagnosticsOf(program, file), touchesGlobals: false };
  }

  private checkInNewProgram(path: string): CheckedCell {
    const program = this.build([path]);
    const file = program.getSourceFile(path)!;
    return { file, program, diagnostics: diagnosticsOf(program, file), touchesGlobals: touchesGlobals(file) };
  }

  /** A new program of the scope module, the kept cells and `extra`, reusing what did not change. */
  private build(extra: string[]): ts.Program {
    const rootNames = [...this.roots, ...this.kept, ...extra];
    this.current = ts.createProgram({ rootNames, options: this.options, host: this.host, oldProgram: this.current });
    this.stale = false;
    this.spliced = 0;
    this.programsBuilt++;
    return this.current;
  }

  private sourceFile(path: string): ts.SourceFile | undefined {
    const v = this.virtual.get(path);
    if (v) return (v.source ??= parse(path, v.text, String(v.version)));
    let s = this.disk.get(path);
    if (s === undefined) {
      const text = ts.sys.readFile(path);
      s = text === undefined ? null : parse(path, text, "0");
      this.disk.set(path, s);
    }
    return s ?? undefined;
  }

  /** The language service with the probe file set to `text`. */
  private probe(text: string): ts.LanguageService {
    const old = this.virtual.get(this.probeFile);
    if (old?.text !== text) this.virtual.set(this.probeFile, { text, version: (old?.version ?? 0) + 1 });
    return this.languageService();
  }

  /** A language service whose documents are this service's SourceFiles (nothing parsed twice). */
  private languageService(): ts.LanguageService {
    if (this.service) return this.service;
    const shared = (fileName: string) => {
      const s = this.sourceFile(fileName);
      if (!s) throw new Error(`TypeScript asked for ${fileName}, which does not exist`);
      return s;
    };
    const registry: ts.DocumentRegistry = {
      acquireDocument: (fileName) => shared(fileName),
      acquireDocumentWithKey: (fileName) => shared(fileName),
      updateDocument: (fileName) => shared(fileName),
      updateDocumentWithKey: (fileName) => shared(fileName),
      getKeyForCompilationSettings: () => "xenlab" as ts.DocumentRegistryBucketKey,
      releaseDocument: () => undefined,
      releaseDocumentWithKey: () => undefined,
      reportStats: () => "",
    };
    const host: ts.LanguageServiceHost = {
      getCompilationSettings: () => this.options,
      getScriptFileNames: () => [this.probeFile],
      getScriptVersion: (f) => String(this.virtual.get(f)?.version ?? 0),
      getScriptSnapshot: (f) => {
        const s = this.sourceFile(f);
        return s ? ts.ScriptSnapshot.fromString(s.text) : undefined;
      },
      getCurrentDirectory: () => this.dir,
      getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
      fileExists: (f) => this.host.fileExists(f),
      readFile: (f) => this.host.readFile(f),
      directoryExists: (d) => this.host.directoryExists!(d),
      getDirectories: ts.sys.getDirectories,
      realpath: ts.sys.realpath,
      useCaseSensitiveFileNames: () => ts.sys.useCaseSensitiveFileNames,
    };
    this.service = ts.createLanguageService(host, registry);
    return this.service;
  }
}

function missesModule(cell: CheckedCell): boolean {
  return cell.diagnostics.some((d) => d.code === CANNOT_FIND_MODULE);
}

function diagnosticsOf(program: ts.Program, file: ts.SourceFile): readonly ts.Diagnostic[] {
  const syntactic = program.getSyntacticDiagnostics(file);
  return syntactic.length > 0 ? syntactic : program.getSemanticDiagnostics(file);
}

/** A SourceFile the language service can also use (it reads `version` off its documents). */
function parse(path: string, text: string, version: string): ts.SourceFile {
  return ts.createLanguageServiceSourceFile(path, ts.ScriptSnapshot.fromString(text), ts.ScriptTarget.ES2022, version, false);
}
