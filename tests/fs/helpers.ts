import { execFileSync } from "node:child_process";
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileSystem } from "../../src/fs";

/** Debian tools live in /sbin for some; make sure they are found and mtools does not nag about geometry. */
const ENV = { ...process.env, PATH: `${process.env.PATH ?? ""}:/usr/sbin:/sbin`, MTOOLS_SKIP_CHECK: "1", LC_ALL: "C.UTF-8", TZ: "UTC" };

export function run(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { env: ENV, encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"], maxBuffer: 256 * 1024 * 1024 });
}

/** Runs a command that may fail; returns its status and output. */
export function tryRun(cmd: string, args: string[]): { status: number; out: string } {
  try {
    return { status: 0, out: run(cmd, args) };
  } catch (e) {
    const err = e as { status?: number; stdout?: string; stderr?: string };
    return { status: err.status ?? -1, out: `${err.stdout ?? ""}${err.stderr ?? ""}` };
  }
}

export function tempDir(tag: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `xenlab-fs-${tag}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A zero-filled (sparse) image file of `bytes`. */
export function makeImage(path: string, bytes: number): void {
  writeFileSync(path, "");
  run("truncate", ["-s", String(bytes), path]);
}

/** Deterministic pseudo-random bytes (xorshift32), so a failure reproduces. */
export function pattern(length: number, seed: number): Buffer {
  const b = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

export type Entry = { type: "file"; size: number; data: Buffer } | { type: "dir" } | { type: "symlink"; target: string };

/** Every path under a host directory ("/a/b" form) with its type, contents or target. */
export function hostTree(root: string): Map<string, Entry> {
  const out = new Map<string, Entry>();
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const r = `${rel}/${name}`;
      const st = lstatSync(p);
      if (st.isSymbolicLink()) out.set(r, { type: "symlink", target: readlinkSync(p) });
      else if (st.isDirectory()) {
        out.set(r, { type: "dir" });
        walk(p, r);
      } else out.set(r, { type: "file", size: st.size, data: readFileSync(p) });
    }
  };
  walk(root, "");
  return out;
}

/** The same map, read through our filesystem (`ignore` drops e.g. ext's lost+found). */
export function fsTree(fs: FileSystem, ignore: (path: string) => boolean = () => false): Map<string, Entry> {
  const out = new Map<string, Entry>();
  for (const node of fs.tree("/").walk()) {
    const st = node.stat;
    if (st.path === "/" || ignore(st.path)) continue;
    if (st.type === "dir") out.set(st.path, { type: "dir" });
    else if (st.type === "symlink") out.set(st.path, { type: "symlink", target: st.target! });
    else out.set(st.path, { type: "file", size: st.size, data: Buffer.from(fs.readFile(st.path)) });
  }
  return out;
}

export function writeTree(root: string, files: Record<string, string | Buffer | { symlink: string } | null>): void {
  for (const [rel, content] of Object.entries(files)) {
    const p = join(root, rel);
    mkdirSync(join(p, ".."), { recursive: true });
    if (content === null) mkdirSync(p, { recursive: true });
    else if (typeof content === "object" && !Buffer.isBuffer(content)) symlinkSync(content.symlink, p);
    else writeFileSync(p, content);
  }
}

export { join };
