/**
 * Expands the kernel's names in a shell command line as IPython's `var_expand` does (its
 * DollarFormatter over Python's str.format): `{expr}` is replaced by the expression's value,
 * `$name` and `$name.attr` by the name's value (not inside single quotes), `$$` and `{{`/`}}`
 * stand for `$`, `{` and `}`. If anything fails (an unknown name, a `}` without its `{`), the
 * whole command is left exactly as written, so `!echo $HOME` reaches bash untouched, as it does in
 * IPython. Expressions are JavaScript evaluated over the cell scope (TypeScript-only syntax such as
 * `x as T` fails, and then the command is left as is); values are turned into text with String(),
 * as a template literal would.
 */

/** IPython's `(.*?)\$(\$?[\w\.]+)(?=([^']*'[^']*')*[^']*$)`: a `$name` outside single quotes. */
const DOLLAR = /\$(\$?[\w.]+)(?=(?:[^']*'[^']*')*[^']*$)/g;

class Unexpandable extends Error {}

export function expandVariables(command: string, scope: Record<string, unknown>): string {
  try {
    return expand(command, (expr) => String(evaluate(expr, scope)));
  } catch {
    return command;
  }
}

function expand(command: string, value: (expr: string) => string): string {
  let out = "";
  let literal = "";
  const flush = () => {
    out += literal.replace(DOLLAR, (_m, field: string) => (field.startsWith("$") ? field : value(field)));
    literal = "";
  };
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if ((c === "{" || c === "}") && command[i + 1] === c) {
      // Escaped braces are literal text; the `$` rule does not look inside them either.
      flush();
      out += c;
      i++;
    } else if (c === "{") {
      flush();
      const end = fieldEnd(command, i + 1);
      out += value(command.slice(i + 1, end));
      i = end;
    } else if (c === "}") {
      throw new Unexpandable("Single '}' encountered in format string");
    } else {
      literal += c;
    }
  }
  flush();
  return out;
}

/** The index of the `}` closing a field that starts at `from` (brackets inside it nest). */
function fieldEnd(s: string, from: number): number {
  let depth = 0;
  for (let i = from; i < s.length; i++) {
    const c = s[i];
    if (c === "{" || c === "[" || c === "(") depth++;
    else if ((c === "]" || c === ")") && depth > 0) depth--;
    else if (c === "}") {
      if (depth === 0) return i;
      depth--;
    }
  }
  throw new Unexpandable("expected '}' before end of string");
}

function evaluate(expr: string, scope: Record<string, unknown>): unknown {
  if (!expr.trim()) throw new Unexpandable("empty field");
  // `with` makes the cell's names (and, behind them, the globals) the expression's free names.
  const f = new Function("__xenlab_scope__", `with (__xenlab_scope__) { return (${expr}\n); }`) as (s: Record<string, unknown>) => unknown;
  return f(scope);
}
