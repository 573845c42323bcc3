/**
 * Completion and inspection from the values cells see, for the moments before the type checker is loaded (it is
 * loaded by the first TypeScript cell: ~2.5-5 s and ~100 MiB that a complete_request right after
 * start must not wait for). As rlcompleter does for Python: a name completes from the cell scope
 * and the globals, `a.b.c` from the properties of the value `a.b` has now (own and inherited
 * names; reaching `a.b` reads properties, it calls nothing). Once the checker is loaded, its
 * completions (types, members of declared types) and quick info take over.
 */
import { inspect as utilInspect } from "node:util";

export interface RuntimeCompletion {
  start: number;
  end: number;
  candidates: string[];
}

/** The dotted path and the partial name before the cursor: `host.dom` -> ["host"], "dom". */
const BEFORE_CURSOR = /((?:[A-Za-z_$][\w$]*\s*\.\s*)*)([A-Za-z_$][\w$]*)?$/;

export function runtimeComplete(scope: Record<string, unknown>, code: string, position: number): RuntimeCompletion {
  const m = BEFORE_CURSOR.exec(code.slice(code.lastIndexOf("\n", position - 1) + 1, position))!;
  const path = m[1]!.split(".").map((s) => s.trim()).filter((s) => s.length > 0);
  const typed = m[2] ?? "";
  const after = /^[\w$]*/.exec(code.slice(position))![0];
  const none = { start: position, end: position, candidates: [] };
  let names: string[];
  if (path.length === 0) {
    names = [...Object.keys(scope), ...Object.getOwnPropertyNames(globalThis)];
  } else {
    const target = resolve(scope, path);
    if (target === undefined || target === null) return none;
    names = propertyNames(target);
  }
  const candidates = [...new Set(names)].filter((n) => n.startsWith(typed) && !n.startsWith("__")).sort((a, b) => a.localeCompare(b));
  return { start: position - typed.length, end: position + after.length, candidates };
}

/** `path[0]` from the scope (or the globals), then each property in turn; undefined if any step fails. */
function resolve(scope: Record<string, unknown>, path: string[]): unknown {
  const [first, ...rest] = path;
  let value: unknown;
  try {
    value = first! in scope ? scope[first!] : (globalThis as Record<string, unknown>)[first!];
    for (const p of rest) {
      if (value === undefined || value === null) return undefined;
      value = (value as Record<string, unknown>)[p];
    }
  } catch {
    return undefined; // a getter threw: nothing to offer
  }
  return value;
}

/** Own and inherited property names, up to (not including) Object.prototype for objects. */
function propertyNames(value: unknown): string[] {
  const names: string[] = [];
  let o: object | null = typeof value === "object" || typeof value === "function" ? (value as object) : Object.getPrototypeOf(value);
  while (o !== null && o !== Object.prototype && o !== Function.prototype) {
    for (const n of Object.getOwnPropertyNames(o)) if (n !== "constructor") names.push(n);
    o = Object.getPrototypeOf(o);
  }
  return names;
}

/** The dotted name at the cursor (the cursor inside it or just after it). */
const NAME_BEFORE = /[A-Za-z_$][\w$]*(?:\s*\.\s*[A-Za-z_$][\w$]*)*$/;
/** How much of a value's string form inspection shows. */
const STRING_FORM_CHARS = 400;

/**
 * What a value is, for inspect_request before the checker is loaded: its kind and, for a function
 * or class, its source's head (native functions: their parameter count), else its string form
 * (util.inspect at depth 0, which reads no getters).
 */
export function runtimeInspect(scope: Record<string, unknown>, code: string, position: number): string | undefined {
  const line = code.slice(code.lastIndexOf("\n", position - 1) + 1);
  const at = position - (code.length - line.length);
  const head = NAME_BEFORE.exec(line.slice(0, at))?.[0] ?? "";
  const tail = /^[\w$]*/.exec(line.slice(at))![0];
  const path = (head + tail).split(".").map((s) => s.trim()).filter((s) => s.length > 0);
  if (path.length === 0) return undefined;
  const name = path.join(".");
  const first = path[0]!;
  if (path.length === 1 && !(first in scope) && !(first in globalThis)) return undefined;
  const value = resolve(scope, path);
  const note = "(values as they are now; types once a TypeScript cell has run)";
  if (typeof value === "function") {
    const source = Function.prototype.toString.call(value);
    const native = /\{\s*\[native code\]\s*\}$/.test(source);
    const signature = native ? `${source.replace(/\{\s*\[native code\]\s*\}$/, "").trim()}  (native, ${value.length} parameters)` : source.slice(0, source.search(/\{|=>/) >= 0 ? source.search(/\{|=>/) : undefined).trim();
    return `${name}: ${/^class\b/.test(source) ? "class" : "function"}\n${signature}\n\n${note}`;
  }
  const kind = value === null ? "null" : typeof value === "object" ? (Object.getPrototypeOf(value)?.constructor?.name ?? "object") : typeof value;
  const form = utilInspect(value, { depth: 0, breakLength: 100 });
  return `${name}: ${kind}\n${form.length > STRING_FORM_CHARS ? `${form.slice(0, STRING_FORM_CHARS)}...` : form}\n\n${note}`;
}
