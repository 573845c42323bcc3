/**
 * Cache modes -t / -T mean what qemu-img means by them. The oracle is qemu-img itself, traced
 * with strace on the same input in the same mode: whether the image is opened O_DIRECT, and
 * whether flushes (fdatasync) happen never, once at the end, or after every write. qemu-img
 * convert to raw is the clean reference (its vpc driver adds flushes of its own per allocation).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { copyFileSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildVhdLib, pattern, qemuRaw, run, tempDir } from "./helpers";

const t = tempDir("cache");
afterAll(t.cleanup);
const f = (name: string) => join(t.dir, name);
const MiB = 1024 * 1024;
const MODES = ["writeback", "writethrough", "none", "directsync", "unsafe"] as const;
let cli = "";
let input: Buffer;

beforeAll(() => {
  buildVhdLib(join(t.dir, "lib"));
  copyFileSync(join(__dirname, "..", "..", "package.json"), join(t.dir, "lib", "package.json"));
  cli = join(t.dir, "lib", "src", "cli", "vhd.js");
  // 10 MiB: random data in four 2 MiB units, one unit of zeros (which convert skips)
  input = Buffer.concat([pattern(1, 4 * MiB), Buffer.alloc(2 * MiB), pattern(2, 4 * MiB)]);
  writeFileSync(f("in.raw"), input);
});

interface Trace {
  /** The output file was opened with O_DIRECT. */
  direct: boolean;
  /** The input file was opened with O_DIRECT. */
  inputDirect: boolean;
  fdatasyncs: number;
}

/** The input's 2 MiB units that hold data: writethrough must flush at least once per unit written. */
const DATA_UNITS = 4;

function traced(cmd: string[], out: string, fresh = true): Trace {
  if (fresh) rmSync(f(out), { force: true });
  const log = f(`${out}.strace`);
  const r = spawnSync("strace", ["-f", "-qq", "-e", "trace=openat,fdatasync,fsync,pwrite64,write,pwritev", "-o", log, ...cmd], { cwd: t.dir, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd.join(" ")}: ${r.stderr}`);
  const lines = readFileSync(log, "utf8").split("\n");
  const opens = (name: string) => lines.filter((l) => l.includes("openat(") && l.includes(`"${name}"`) && !l.includes("ENOENT"));
  return {
    direct: opens(out).some((l) => l.includes("O_DIRECT")),
    inputDirect: opens("in.raw").some((l) => l.includes("O_DIRECT")),
    fdatasyncs: lines.filter((l) => /\bf(data)?sync\(/.test(l)).length,
  };
}

function ours(args: string[], out: string): Trace {
  return traced([process.execPath, "-e", `require(${JSON.stringify(cli)}).vhdCommand(process.argv.slice(1)).then(c => process.exit(c))`, "--", ...args], out);
}

/**
 * What a mode does, read off a trace: O_DIRECT or not, and flushes never / at the end / after
 * every write (counted, not matched to writes: Node's libuv may submit async writes through
 * io_uring, which strace does not show as pwrite).
 */
function behaviour(x: Trace): { direct: boolean; flushes: "never" | "at the end" | "after every write" } {
  const flushes = x.fdatasyncs === 0 ? "never" : x.fdatasyncs >= DATA_UNITS ? "after every write" : "at the end";
  return { direct: x.direct, flushes };
}

describe("convert -t CACHE behaves as qemu-img convert -t CACHE", () => {
  for (const mode of MODES) {
    it(`-t ${mode}`, () => {
      const q = traced(["qemu-img", "convert", "-t", mode, "-f", "raw", "-O", "raw", "in.raw", "q.raw"], "q.raw");
      const raw = ours(["convert", "-t", mode, "-O", "raw", "in.raw", "o.raw"], "o.raw");
      expect({ mode, ...behaviour(raw) }, JSON.stringify({ q, raw })).toEqual({ mode, ...behaviour(q) });
      expect(readFileSync(f("o.raw")).equals(input)).toBe(true);
      // a dynamic VHD output in the same mode: the same behaviour, and qemu reads the bytes back
      const dyn = ours(["convert", "-t", mode, "-O", "dynamic", "in.raw", "o.vhd"], "o.vhd");
      expect(behaviour(dyn)).toEqual(behaviour(q));
      expect(qemuRaw(f("o.vhd"), t.dir).equals(input)).toBe(true);
      if (mode === "writeback" || mode === "none") expect(dyn.fdatasyncs).toBe(1);
    });
  }

  it("-T none reads the source with O_DIRECT, as qemu-img -T none does; -T writeback does not", () => {
    expect(traced(["qemu-img", "convert", "-T", "none", "-f", "raw", "-O", "raw", "in.raw", "q.raw"], "q.raw").inputDirect).toBe(true);
    expect(ours(["convert", "-T", "none", "-O", "dynamic", "in.raw", "o.vhd"], "o.vhd").inputDirect).toBe(true);
    expect(ours(["convert", "-T", "writeback", "-O", "dynamic", "in.raw", "o.vhd"], "o.vhd").inputDirect).toBe(false);
    expect(qemuRaw(f("o.vhd"), t.dir).equals(input)).toBe(true);
  });
});

describe("the other writing verbs take -t", () => {
  it("write -t unsafe never flushes, -t writethrough flushes every write, -t directsync also opens O_DIRECT", () => {
    const writeWith = (mode: string) => (run("qemu-img", ["create", "-q", "-f", "vpc", f("w.vhd"), "8M"]), traced(["sh", "-c", `head -c 1048576 in.raw | ${JSON.stringify(process.execPath)} -e 'require(${JSON.stringify(cli)}).vhdCommand(process.argv.slice(1)).then(c => process.exit(c))' -- write -t ${mode} w.vhd 1M`], "w.vhd", false));
    expect(writeWith("unsafe").fdatasyncs).toBe(0);
    expect(writeWith("writeback").fdatasyncs).toBeGreaterThan(0);
    expect(writeWith("writeback").fdatasyncs).toBeLessThan(4);
    // 1 MiB into an empty block: footer, data, bitmap, then the BAT at flush, each flushed
    expect(writeWith("writethrough").fdatasyncs).toBeGreaterThanOrEqual(4);
    expect(writeWith("directsync").direct).toBe(true);
    expect(qemuRaw(f("w.vhd"), t.dir).subarray(MiB, 2 * MiB).equals(input.subarray(0, MiB))).toBe(true);
  });

  it("an unknown mode is refused by name", () => {
    const r = spawnSync(process.execPath, ["-e", `require(${JSON.stringify(cli)}).vhdCommand(process.argv.slice(1)).then(c => process.exit(c))`, "--", "convert", "-t", "fast", "-O", "raw", "in.raw", "x.raw"], { cwd: t.dir, encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/-t fast: the cache mode must be one of writeback, writethrough, none, directsync, unsafe/);
  });
});
