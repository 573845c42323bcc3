/**
 * One TypeScript program kept for the kernel's whole life and rebuilt from the previous one for
 * every cell: files that did not change (the standard library, @types, the library's .d.ts,
 * earlier cells' declarations) keep their parsed and bound SourceFiles, so a new cell costs a parse
 * of that cell and of a small scope file, and checking the cell alone. (tslab's watch program
 * rebuilt a builder program and re-checked its declaration file twice per cell: ~10x the work.)
 * Completion and quick info use a language service built on first use over the same SourceFiles.
 */
import { dirname, join } from "node:path";
import * as ts from "typescript";

/** Compiler options as tslab set them, so that cells mean what they meant there. */
function compilerOptions(root: string): ts.CompilerOptions {
  return {
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    esModuleInterop: true,
    target: ts.ScriptTarget.ES2022,
    lib: ["lib.es2022.d.ts"],
    declaration: true,
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

export interface EmitOutput {
  js: string;
  dts: string;
}

interface VirtualFile {
  text: string;
  version: number;
  source?: ts.SourceFile;
}

export class TsService {
  readonly dir: string;
  readonly cellFile: string;
  private readonly options: ts.CompilerOptions;
  private readonly virtual = new Map<string, VirtualFile>();
  /** Files on disk, parsed once (like tslab, the kernel does not watch them: a rebuilt .d.ts needs a restart). */
  private readonly disk = new Map<string, ts.SourceFile | null>();
  private readonly host: ts.CompilerHost;
  private current: ts.Program | undefined;
  /** A file changed since `current` was built: the next program is built from it. */
  private stale = true;
  private service: ts.LanguageService | undefined;

  constructor(dir: string) {
    this.dir = dir;
    this.options = compilerOptions(dir);
    this.cellFile = join(dir, "__xenlab_cell__.ts");
    const base = ts.createCompilerHost(this.options, true);
    // Resolution caches that outlive each program: without them TypeScript looks up every file's
    // package.json again for every cell (most of a cell's time).
    const modules = ts.createModuleResolutionCache(dir, (f) => f, this.options);
    const types = ts.createTypeReferenceDirectiveResolutionCache(dir, (f) => f, this.options, modules.getPackageJsonInfoCache());
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

  /** Sets a virtual file's text (a new version only if it changed). */
  write(name: string, text: string): void {
    const path = join(this.dir, name);
    const old = this.virtual.get(path);
    if (old?.text === text) return;
    this.virtual.set(path, { text, version: (old?.version ?? 0) + 1 });
    this.stale = true;
  }

  remove(name: string): void {
    if (this.virtual.delete(join(this.dir, name))) this.stale = true;
  }

  setCell(text: string): void {
    this.write("__xenlab_cell__.ts", text);
  }

  /** Syntax errors of the cell, or else its type errors (library files are not re-checked). */
  diagnostics(): readonly ts.Diagnostic[] {
    const program = this.program();
    const cell = program.getSourceFile(this.cellFile);
    const syntactic = program.getSyntacticDiagnostics(cell);
    return syntactic.length > 0 ? syntactic : program.getSemanticDiagnostics(cell);
  }

  /** The cell compiled to CommonJS, with `before` transformers, and its declarations. */
  emit(before: ts.TransformerFactory<ts.SourceFile>[]): EmitOutput {
    const program = this.program();
    const out: EmitOutput = { js: "", dts: "" };
    program.emit(
      program.getSourceFile(this.cellFile),
      (name, text) => {
        if (name.endsWith(".d.ts")) out.dts = text;
        else if (name.endsWith(".js")) out.js = text;
      },
      undefined,
      false,
      { before },
    );
    return out;
  }

  completions(position: number): ts.CompletionInfo | undefined {
    return this.languageService().getCompletionsAtPosition(this.cellFile, position, {});
  }

  quickInfo(position: number): ts.QuickInfo | undefined {
    return this.languageService().getQuickInfoAtPosition(this.cellFile, position);
  }

  program(): ts.Program {
    if (this.stale || !this.current) {
      this.current = ts.createProgram({ rootNames: [this.cellFile], options: this.options, host: this.host, oldProgram: this.current });
      this.stale = false;
    }
    return this.current;
  }

  dispose(): void {
    this.service?.dispose();
    this.service = undefined;
    this.current = undefined;
    this.stale = true;
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
      getScriptFileNames: () => [this.cellFile],
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

/** A SourceFile the language service can also use (it reads `version` off its documents). */
function parse(path: string, text: string, version: string): ts.SourceFile {
  return ts.createLanguageServiceSourceFile(path, ts.ScriptSnapshot.fromString(text), ts.ScriptTarget.ES2022, version, false);
}
