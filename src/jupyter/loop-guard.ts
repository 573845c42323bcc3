/**
 * Makes cell code interruptible. Node cannot stop a busy JavaScript loop from another thread
 * without tearing down the isolate (tslab's `breakOnSigint` covers only the synchronous part of a
 * cell: `await x; while (true) {}` wedges it). So every loop in a cell's compiled JavaScript starts
 * its body with a call to a tick function (a transformer of the cell's emit, see ts-converter.ts) that throws KeyboardInterrupt once an interrupt is
 * pending. Library code is not rewritten: its long loops call `checkInterrupt()` per slice.
 */
import * as ts from "typescript";
import { TICK_NAME } from "./cell-names";


export const loopGuardTransformer: ts.TransformerFactory<ts.SourceFile> = (context) => {
  const f = context.factory;
  const tick = () => f.createExpressionStatement(f.createCallExpression(f.createIdentifier(TICK_NAME), undefined, []));
  const guard = (body: ts.Statement): ts.Statement =>
    f.createBlock([tick(), ...(ts.isBlock(body) ? body.statements : [body])], true);
  const visit = (node: ts.Node): ts.Node => {
    const n = ts.visitEachChild(node, visit, context);
    if (ts.isWhileStatement(n)) return f.updateWhileStatement(n, n.expression, guard(n.statement));
    if (ts.isDoStatement(n)) return f.updateDoStatement(n, guard(n.statement), n.expression);
    if (ts.isForStatement(n)) return f.updateForStatement(n, n.initializer, n.condition, n.incrementor, guard(n.statement));
    if (ts.isForInStatement(n)) return f.updateForInStatement(n, n.initializer, n.expression, guard(n.statement));
    if (ts.isForOfStatement(n)) {
      return f.updateForOfStatement(n, n.awaitModifier, n.initializer, n.expression, guard(n.statement));
    }
    return n;
  };
  return (file) => ts.visitNode(file, visit) as ts.SourceFile;
};
