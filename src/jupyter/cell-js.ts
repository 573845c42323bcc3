/**
 * Rewrites a cell's compiled JavaScript before it runs:
 * - every loop gets an interrupt tick (see loop-guard.ts);
 * - `{ x }` where `x` was declared by an earlier cell becomes `{ x: exports.x }`. tslab's converter
 *   rewrites uses of earlier cells' names to `exports.x` but misses shorthand properties, which
 *   would otherwise throw "x is not defined" at run time.
 */
import * as ts from "@tslab/typescript-for-tslab";
import { loopGuardTransformer } from "./loop-guard";

export function rewriteCellJs(js: string, earlierNames: ReadonlySet<string>): string {
  const needsLoops = /\b(for|while|do)\b/.test(js);
  const needsShorthand = earlierNames.size > 0 && /[{,]\s*[A-Za-z_$][\w$]*\s*[,}]/.test(js);
  if (!needsLoops && !needsShorthand) return js;
  const source = ts.createSourceFile("cell.js", js, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
  const transformers: ts.TransformerFactory<ts.SourceFile>[] = [];
  if (needsShorthand) transformers.push(shorthandTransformer(earlierNames, boundNames(source)));
  if (needsLoops) transformers.push(loopGuardTransformer);
  const result = ts.transform(source, transformers);
  const printed = ts.createPrinter({ newLine: ts.NewLineKind.LineFeed }).printFile(result.transformed[0]!);
  result.dispose();
  return printed;
}

/** Every name the cell itself binds anywhere (declarations, parameters, functions, classes). */
function boundNames(source: ts.SourceFile): Set<string> {
  const names = new Set<string>();
  const addBinding = (name: ts.BindingName) => {
    if (ts.isIdentifier(name)) names.add(name.text);
    else for (const el of name.elements) if (!ts.isOmittedExpression(el)) addBinding(el.name);
  };
  const visit = (node: ts.Node): void => {
    if (ts.isVariableDeclaration(node) || ts.isParameter(node) || ts.isBindingElement(node)) addBinding(node.name);
    else if ((ts.isFunctionDeclaration(node) || ts.isClassDeclaration(node) || ts.isFunctionExpression(node) || ts.isClassExpression(node)) && node.name) names.add(node.name.text);
    else if (ts.isImportClause(node) && node.name) names.add(node.name.text);
    else if (ts.isNamespaceImport(node) || ts.isImportSpecifier(node)) names.add(node.name.text);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return names;
}

function shorthandTransformer(earlier: ReadonlySet<string>, bound: ReadonlySet<string>): ts.TransformerFactory<ts.SourceFile> {
  return (context) => {
    const f = context.factory;
    const visit = (node: ts.Node): ts.Node => {
      const n = ts.visitEachChild(node, visit, context);
      if (ts.isShorthandPropertyAssignment(n) && !n.objectAssignmentInitializer) {
        const name = n.name.text;
        if (earlier.has(name) && !bound.has(name)) {
          return f.createPropertyAssignment(name, f.createPropertyAccessExpression(f.createIdentifier("exports"), name));
        }
      }
      return n;
    };
    return (file) => ts.visitNode(file, visit) as ts.SourceFile;
  };
}
