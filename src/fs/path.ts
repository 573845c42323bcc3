import { FsError } from "./errors";

/** Splits an absolute or relative path into components, resolving "." and ".." lexically. */
export function splitPath(path: string): string[] {
  if (typeof path !== "string") throw new FsError("EINVAL", "path must be a string");
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return out;
}

export function joinPath(parts: readonly string[]): string {
  return `/${parts.join("/")}`;
}

export function childPath(dir: string, name: string): string {
  return dir === "/" || dir === "" ? `/${name}` : `${dir.replace(/\/+$/, "")}/${name}`;
}
