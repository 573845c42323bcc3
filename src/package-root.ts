/** Where the xenlab package is installed (works from src/ under vitest and from dist/src/). */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

function findRoot(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, "utf8")) as { name?: string }).name === "xenlab") return dir;
    if (dirname(dir) === dir) throw new Error(`cannot find the xenlab package above ${__dirname}`);
  }
}

export const PACKAGE_ROOT = findRoot();
export const PACKAGE_VERSION = (JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as { version: string }).version;
/** The compiled library (cells are type-checked against its .d.ts files). */
export const DIST_SRC = join(PACKAGE_ROOT, "dist", "src");
