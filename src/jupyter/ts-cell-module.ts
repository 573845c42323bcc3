/**
 * Turns a cell's TypeScript into a module the long-lived program can check on its own: every
 * top-level declaration gets `export` (so TypeScript's CommonJS emit keeps it on the shared scope
 * object and later cells can import it), and names of earlier cells the cell uses are imported
 * from the cell that declared them last (library and kernel names from the scope module). Only `export ` is ever inserted into the user's text, so every position
 * TypeScript reports maps back to the cell exactly (see `toCellOffset`).
 */
import * as ts from "typescript";

/** How a top-level name may be used by later cells: only `let`/`var` may be assigned. */
export type BindingKind = "mutable" | "const" | "function" | "class" | "import" | "type";

export interface CellModule {
  /** What the program checks: the cell with `export `s inserted, then the scope import. */
  text: string;
  /** Names the cell declares at top level (they shadow earlier cells' names), with their kind. */
  declared: Map<string, BindingKind>;
  /** The cell awaits at top level: it runs as an async function. */
  topLevelAwait: boolean;
  /** Index of the cell's last statement when it is an expression (its value is shown). */
  lastExpression: number | undefined;
  /** Offsets into the cell's own code where `export ` was inserted, ascending. */
  insertions: number[];
  /** Length of the user's code inside `text` (everything after is ours). */
  codeLength: number;
}

const EXPORT = "export ";

/**
 * `scope` maps every name earlier cells and the library put in scope to the module it is imported
 * from; `importAll` imports all of them (completion wants them all), otherwise only those the cell
 * mentions (less to check).
 */
export function toCellModule(code: string, scope: ReadonlyMap<string, string>, importAll: boolean): CellModule {
  const source = ts.createSourceFile("cell.ts", code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const declared = new Map<string, BindingKind>();
  const insertions: number[] = [];
  const reexports: string[] = [];
  for (const statement of source.statements) {
    const kind = declarationKind(statement);
    if (!kind) continue;
    const names = declaredNames(statement);
    for (const n of names) declared.set(n, kind);
    if (ts.isImportDeclaration(statement)) {
      // `import x from "m"` cannot take `export`; re-exporting it keeps it for later cells.
      reexports.push(...names);
    } else if (names.length > 0 && !hasModifier(statement, ts.SyntaxKind.ExportKeyword)) {
      insertions.push(statement.getStart(source));
    }
  }
  const used = importAll ? undefined : mentionedNames(source);
  const imports = new Map<string, string[]>();
  for (const [name, from] of scope) {
    if ((used && !used.has(name)) || declared.has(name)) continue;
    const names = imports.get(from) ?? [];
    names.push(name);
    imports.set(from, names);
  }
  let text = "";
  let from = 0;
  for (const at of insertions) {
    text += code.slice(from, at) + EXPORT;
    from = at;
  }
  text += code.slice(from);
  // A newline first: the cell may end in a `//` comment. The imports are hoisted like any import.
  const importText = [...imports].map(([from, names]) => `import { ${names.join(", ")} } from ${JSON.stringify(from)};`).join(" ");
  text += `\n;${importText}\nexport { ${reexports.join(", ")} };\n`;
  const last = source.statements.at(-1);
  return {
    text,
    declared,
    topLevelAwait: hasTopLevelAwait(source),
    lastExpression: last && ts.isExpressionStatement(last) ? source.statements.length - 1 : undefined,
    insertions,
    codeLength: code.length + insertions.length * EXPORT.length,
  };
}

/** The offset in the cell's own code of an offset in the module text. */
export function toCellOffset(module: CellModule, offset: number): number {
  let shift = 0;
  for (const at of module.insertions) {
    const inserted = at + shift;
    if (offset < inserted) break;
    if (offset < inserted + EXPORT.length) return at;
    shift += EXPORT.length;
  }
  return Math.min(offset - shift, module.codeLength - shift);
}

function declarationKind(s: ts.Statement): BindingKind | undefined {
  if (ts.isVariableStatement(s)) {
    const scoped = s.declarationList.flags & ts.NodeFlags.BlockScoped;
    // `using` declarations cannot be exported; they end with the cell, as intended.
    if (scoped === ts.NodeFlags.Using || scoped === ts.NodeFlags.AwaitUsing) return undefined;
    return scoped === ts.NodeFlags.Const ? "const" : "mutable";
  }
  if (ts.isFunctionDeclaration(s)) return "function";
  if (ts.isClassDeclaration(s) || ts.isEnumDeclaration(s)) return "class";
  if (ts.isInterfaceDeclaration(s) || ts.isTypeAliasDeclaration(s)) return "type";
  // `namespace N {}` (not `declare module "m"` or `declare global`: those augment, they bind nothing).
  if (ts.isModuleDeclaration(s) && ts.isIdentifier(s.name) && !(s.flags & ts.NodeFlags.GlobalAugmentation)) return "class";
  if (ts.isImportDeclaration(s) || ts.isImportEqualsDeclaration(s)) return "import";
  return undefined;
}

function declaredNames(s: ts.Statement): string[] {
  if (hasModifier(s, ts.SyntaxKind.DefaultKeyword)) return [];
  if (ts.isVariableStatement(s)) return s.declarationList.declarations.flatMap((d) => bindingNames(d.name));
  if (ts.isImportDeclaration(s)) {
    const clause = s.importClause;
    if (!clause) return [];
    const names = clause.name ? [clause.name.text] : [];
    const bindings = clause.namedBindings;
    if (bindings && ts.isNamespaceImport(bindings)) names.push(bindings.name.text);
    else if (bindings) names.push(...bindings.elements.map((e) => e.name.text));
    return names;
  }
  const name = (s as ts.DeclarationStatement).name;
  return name && ts.isIdentifier(name) ? [name.text] : [];
}

function bindingNames(name: ts.BindingName): string[] {
  if (ts.isIdentifier(name)) return [name.text];
  return name.elements.flatMap((e) => (ts.isOmittedExpression(e) ? [] : bindingNames(e.name)));
}

function hasModifier(s: ts.Statement, kind: ts.SyntaxKind): boolean {
  return ts.canHaveModifiers(s) && (ts.getModifiers(s) ?? []).some((m) => m.kind === kind);
}

function mentionedNames(source: ts.SourceFile): Set<string> {
  const names = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node)) names.add(node.text);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return names;
}

/** An `await` (or `for await`) outside every function: the cell must run as an async function. */
function hasTopLevelAwait(source: ts.SourceFile): boolean {
  let found = false;
  const visit = (node: ts.Node): void => {
    if (found || ts.isFunctionLike(node) || ts.isClassStaticBlockDeclaration(node)) return;
    if (ts.isAwaitExpression(node) || (ts.isForOfStatement(node) && node.awaitModifier)) found = true;
    else if (ts.isVariableDeclarationList(node) && (node.flags & ts.NodeFlags.AwaitUsing) === ts.NodeFlags.AwaitUsing) found = true;
    else ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}
