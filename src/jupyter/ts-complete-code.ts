/**
 * Whether a cell typed at a console prompt is complete (run it on Enter) or needs more lines.
 * tslab asked TypeScript's parser whether it expected more at the very end of the text; this
 * scanner answers the same question for the cases a prompt meets (an open bracket, template,
 * comment, a trailing operator or keyword, a control header without its statement) without loading
 * TypeScript, so is_complete is answered at once from the kernel's first moment.
 */

/** Tokens after which an operand or a statement must follow. */
const OPERATOR_TAIL = /(?:[-+*/%&|^!~<>=?:,.]|=>|\.\.\.)$/;
const KEYWORD_TAIL = new Set([
  "if", "else", "for", "while", "do", "with", "switch", "new", "typeof", "instanceof", "in", "of", "void", "delete",
  "throw", "extends", "implements", "const", "let", "var", "function", "class", "interface", "type", "enum",
  "namespace", "from", "as", "keyof", "satisfies",
]);
/** A `(...)` that opens these needs a statement after its `)`. */
const CONTROL_HEADERS = new Set(["if", "for", "while", "with"]);

interface Open {
  char: "(" | "[" | "{" | "${";
  /** For `(`: the word before it (`if (`). */
  before: string;
  /** `?` of conditionals at the enclosing level still waiting for their `:`. */
  conditionals: number;
}

export function isCompleteCode(content: string): { completed: boolean; indent?: string } {
  // Two blank-ish lines at the end force the cell through, as tslab did.
  if (/(^|\n)\s*\n\s*$/.test(content)) return { completed: true };
  const incomplete = { completed: false, indent: indentOnEnter(content) };
  const stack: Open[] = [];
  let last = ""; // the last significant token
  let lastWord = "";
  let conditionals = 0;
  let i = 0;
  const n = content.length;
  while (i < n) {
    const c = content[i]!;
    const next = content[i + 1];
    if (c === "/" && next === "/") {
      const end = content.indexOf("\n", i);
      i = end < 0 ? n : end;
      continue;
    }
    if (c === "/" && next === "*") {
      const end = content.indexOf("*/", i + 2);
      if (end < 0) return incomplete;
      i = end + 2;
      continue;
    }
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "'" || c === '"') {
      // An unterminated quote is an error, not a continuation (a string cannot span lines).
      let j = i + 1;
      while (j < n && content[j] !== c && content[j] !== "\n") j += content[j] === "\\" ? 2 : 1;
      i = j + 1;
      last = "str";
      continue;
    }
    if (c === "`" || (c === "}" && stack.at(-1)?.char === "${")) {
      if (c === "}") conditionals = stack.pop()!.conditionals;
      let j = i + 1;
      let opened = false;
      while (j < n && content[j] !== "`") {
        if (content[j] === "\\") j += 2;
        else if (content[j] === "$" && content[j + 1] === "{") {
          stack.push({ char: "${", before: "", conditionals });
          conditionals = 0;
          opened = true;
          j += 2;
          break;
        } else j++;
      }
      if (opened) {
        i = j;
        last = "${";
        continue;
      }
      if (j >= n) return incomplete; // inside a template literal
      i = j + 1;
      last = "str";
      continue;
    }
    if (c === "/" && regexCanStart(last)) {
      let j = i + 1;
      let inClass = false;
      while (j < n && content[j] !== "\n" && (inClass || content[j] !== "/")) {
        if (content[j] === "\\") j++;
        else if (content[j] === "[") inClass = true;
        else if (content[j] === "]") inClass = false;
        j++;
      }
      i = j + 1;
      while (i < n && /[a-z]/.test(content[i]!)) i++;
      last = "regex";
      continue;
    }
    if (c === "(" || c === "[" || c === "{") {
      stack.push({ char: c, before: c === "(" ? lastWord : "", conditionals });
      conditionals = 0;
      last = c;
      lastWord = "";
      i++;
      continue;
    }
    if (c === ")" || c === "]" || c === "}") {
      const open = stack.pop();
      conditionals = open?.conditionals ?? 0;
      last = c === ")" && open && CONTROL_HEADERS.has(open.before) ? "control)" : c;
      lastWord = "";
      i++;
      continue;
    }
    const word = /^[A-Za-z_$][\w$]*/.exec(content.slice(i, i + 64));
    if (word) {
      last = lastWord = word[0];
      i += word[0].length;
      continue;
    }
    const num = /^(?:0[xob][\da-f_]+|\d[\d_]*(?:\.\d*)?(?:e[+-]?\d+)?n?|\.\d+)/i.exec(content.slice(i, i + 64));
    if (num) {
      last = "num";
      lastWord = "";
      i += num[0].length;
      continue;
    }
    const op = /^(?:\.\.\.|=>|\+\+|--|[-+*/%&|^!~<>=?:,.;]+)/.exec(content.slice(i, i + 4));
    last = op ? op[0] : c;
    lastWord = "";
    // `a ? b` waits for `: c`; `?.`, `??` and an optional member's `?:` are not conditionals.
    if (last === "?") conditionals++;
    else if (last === ":" && conditionals > 0) conditionals--;
    else if (last === ";") conditionals = 0;
    i += op ? op[0].length : 1;
  }
  if (stack.length > 0 || conditionals > 0) return incomplete;
  if (last === "control)" || KEYWORD_TAIL.has(last)) return incomplete;
  if (last !== "++" && last !== "--" && OPERATOR_TAIL.test(last)) return incomplete;
  return { completed: true };
}

/** Whether a `/` here starts a regular expression (not a division). */
function regexCanStart(last: string): boolean {
  return last === "" || last === "(" || last === "[" || last === "{" || last === "${" || last === "control)" || KEYWORD_TAIL.has(last) || last === "return" || (/[^\w$)\]]$/.test(last) && last !== "str" && last !== "num" && last !== "regex" && last !== "++" && last !== "--");
}

/** The indent for the next line: one level deeper after an open bracket, one less on a closer. */
function indentOnEnter(src: string): string {
  const line = /[^\n]*$/.exec(src)![0];
  const current = /^\s*/.exec(line)![0];
  if (/^((?!.*?\/\*).*\*\/)?\s*[}\]].*$/.test(line)) {
    if (current.endsWith("  ")) return current.slice(0, -2);
    if (current.endsWith("\t") || current.endsWith(" ")) return current.slice(0, -1);
    return current;
  }
  if (/^((?!\/\/).)*(\{[^}"'`]*|\([^)"'`]*|\[[^\]"'`]*)$/.test(line)) return `${current}  `;
  return current;
}
