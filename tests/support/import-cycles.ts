/**
 * Finds import cycles among the files under src/ (what `npx madge --circular --extensions ts src`
 * reports), with the TypeScript compiler's own parser: every `import`/`export ... from`, type-only
 * ones included (a type cycle still ties two modules' designs together). Used by
 * tests/architecture.test.ts.
 */
import * as ts from "typescript";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (n.endsWith(".ts") && !n.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

function resolveImport(from: string, spec: string): string | undefined {
  if (!spec.startsWith(".")) return undefined;
  const base = resolve(dirname(from), spec);
  for (const c of [`${base}.ts`, join(base, "index.ts")]) if (existsSync(c)) return c;
  return undefined;
}

/** The import graph: file (relative to root) → the files it imports. */
export function importGraph(root: string): Map<string, string[]> {
  const src = join(root, "src");
  const g = new Map<string, string[]>();
  for (const f of tsFiles(src)) {
    const info = ts.preProcessFile(readFileSync(f, "utf8"), true, false);
    const deps = info.importedFiles.map((i) => resolveImport(f, i.fileName)).filter((x): x is string => x !== undefined);
    g.set(relative(root, f), [...new Set(deps.map((d) => relative(root, d)))]);
  }
  return g;
}

/** Strongly connected components with more than one file (or a file importing itself). */
export function cycles(g: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>(), low = new Map<string, number>(), on = new Set<string>(), stack: string[] = [];
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index); low.set(v, index); index++;
    stack.push(v); on.add(v);
    for (const w of g.get(v) ?? []) {
      if (!idx.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); }
      else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do { w = stack.pop()!; on.delete(w); comp.push(w); } while (w !== v);
      if (comp.length > 1 || (g.get(v) ?? []).includes(v)) out.push(comp.sort());
    }
  };
  for (const v of [...g.keys()].sort()) if (!idx.has(v)) visit(v);
  return out;
}

