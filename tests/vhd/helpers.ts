/** Shared test helpers: temp dirs, real tools (qemu-img, qemu-io, vhdiinfo, pyvhdi), seeded data. */
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import ts from "typescript";

export function tempDir(tag: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), `xenlab-vhd-${tag}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function run(cmd: string, args: string[], input?: Buffer): string {
  return execFileSync(cmd, args, { encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"] });
}

export function runStatus(cmd: string, args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** qemu-img info's virtual size for a file read as vpc. */
export function qemuVirtualSize(path: string): number {
  return JSON.parse(run("qemu-img", ["info", "--output=json", "-f", "vpc", path]))["virtual-size"];
}

/** vhdiinfo's "Media size ... (N bytes)". */
export function vhdiinfoMediaSize(path: string): number {
  const m = /Media size\s*:.*\((\d+) bytes\)/.exec(run("vhdiinfo", [path]));
  if (!m) throw new Error(`vhdiinfo gave no media size for ${path}`);
  return Number(m[1]);
}

/** The whole virtual disk as qemu reads it (qemu-img convert -f vpc -O raw). */
export function qemuRaw(path: string, dir: string): Buffer {
  const out = join(dir, `qemu-${Math.random().toString(36).slice(2)}.raw`);
  run("qemu-img", ["convert", "-f", "vpc", "-O", "raw", path, out]);
  const data = readFileSync(out);
  rmSync(out);
  return data;
}

/**
 * The whole virtual disk as libvhdi reads it, through Debian's python3-libvhdi; `chain` is the
 * child first then its parents, attached with set_parent (pyvhdi never opens parents itself).
 * Reads go 64 KiB at a time, aligned, so none crosses a block boundary: libvhdi 20210425 reads the
 * wrong source (parent, or zeros) for a differencing block when one read starts in the block
 * before it (verified on a minimal chain: 512 KiB blocks, child data in blocks 0 and 1; a 2 MiB
 * read from 0 misses block 1's child sectors, a read starting at block 1 returns them).
 */
export function pyvhdiRead(chain: string[], out: string): { mediaSize: number } {
  const script = `
import pyvhdi, sys, json
paths = json.loads(sys.argv[1])
files = []
for p in paths:
    f = pyvhdi.file(); f.open(p); files.append(f)
for child, parent in zip(files, files[1:]):
    child.set_parent(parent)
top = files[0]
size = top.get_media_size()
top.seek(0)
with open(sys.argv[2], "wb") as o:
    left = size
    while left:
        b = top.read(min(left, 65536))
        if not b: raise SystemExit("short read")
        o.write(b); left -= len(b)
print(size)
`;
  const r = run("/usr/bin/python3", ["-c", script, JSON.stringify(chain), out]);
  return { mediaSize: Number(r.trim()) };
}

/** A deterministic byte stream (xorshift32), so failures reproduce. */
export function pattern(seed: number, length: number): Buffer {
  const b = Buffer.alloc(Math.ceil(length / 4) * 4);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < b.length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b.writeUInt32LE(x >>> 0, i);
  }
  return b.subarray(0, length);
}

export function rng(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

/**
 * Transpiles src/vhd and src/render into CommonJS under `outDir` with TypeScript's own
 * transpiler, so child processes (the crash-test writer) run the current sources without a build.
 * Returns the path of the compiled src/vhd/index.js.
 */
export function buildVhdLib(outDir: string): string {
  const root = join(__dirname, "..", "..");
  // The MIME layer (src/mime.ts) is the one top-level file the VHD library needs.
  for (const sub of ["src/vhd", "src/render", "src/cli", "src"]) {
    for (const name of readdirSync(join(root, sub))) {
      if (!name.endsWith(".ts") || (sub === "src/cli" && !name.startsWith("vhd")) || (sub === "src" && name !== "mime.ts")) continue;
      const src = readFileSync(join(root, sub, name), "utf8");
      const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } }).outputText;
      const dest = join(outDir, sub, name.replace(/\.ts$/, ".js"));
      mkdirSync(dirname(dest), { recursive: true });
      writeFileSync(dest, js);
    }
  }
  return join(outDir, "src", "vhd", "index.js");
}

export function rel(from: string, to: string): string {
  return relative(from, to);
}

/**
 * `xenlab vhd ARGS` as a user runs it: a new node process on the sources transpiled by
 * buildVhdLib into `libDir` (package.json copied beside them for --version), working in `cwd`.
 */
export function vhdCli(libDir: string, cwd: string): (args: string[], input?: Buffer) => { status: number; stdout: string; stderr: string } {
  copyFileSync(join(__dirname, "..", "..", "package.json"), join(libDir, "package.json"));
  const cli = join(libDir, "src", "cli", "vhd.js");
  return (args, input) => {
    const r = spawnSync(process.execPath, ["-e", `require(${JSON.stringify(cli)}).vhdCommand(process.argv.slice(1)).then(c => process.exit(c))`, "--", ...args], { cwd, encoding: "utf8", input });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
}
