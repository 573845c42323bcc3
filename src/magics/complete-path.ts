/** File-path completion for magic arguments (`%vhd info dis<Tab>`, `%cd no<Tab>`). */
import { readdirSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";

/**
 * Completions for the last word of `argsBeforeCursor`, as paths relative to the working folder:
 * directories end with `/`. `filter` keeps files whose name passes (directories always stay).
 */
export function completePath(argsBeforeCursor: string, options: { directoriesOnly?: boolean; filter?: (name: string) => boolean } = {}): string[] {
  const word = /(\S*)$/.exec(argsBeforeCursor)![1]!;
  const expanded = word.startsWith("~/") ? join(homedir(), word.slice(2)) : word;
  const dirPart = expanded.slice(0, expanded.lastIndexOf("/") + 1);
  const prefix = expanded.slice(dirPart.length);
  let entries: string[];
  try {
    entries = readdirSync(resolve(dirPart || "."));
  } catch {
    return [];
  }
  const shownDir = word.slice(0, word.length - prefix.length);
  return entries
    .filter((name) => name.startsWith(prefix) && (prefix.startsWith(".") || !name.startsWith(".")))
    .flatMap((name) => {
      let isDir = false;
      try {
        isDir = statSync(resolve(dirPart || ".", name)).isDirectory();
      } catch {
        return [];
      }
      if (isDir) return [`${shownDir}${name}/`];
      if (options.directoriesOnly || (options.filter && !options.filter(name))) return [];
      return [`${shownDir}${name}`];
    })
    .sort();
}
