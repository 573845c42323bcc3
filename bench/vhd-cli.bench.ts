/**
 * The `xenlab vhd convert` CLI as users run it (a new node process, its cache mode's flushes
 * included), per cache mode, beside `qemu-img convert` in the same mode and `cp` on the same files
 * in the same run. What each side syncs, per mode (strace, tests/vhd/cache-mode.test.ts): unsafe
 * nothing; writeback and none one fdatasync at the end; writethrough and directsync one per
 * write. The `cp` anchor is followed by `sync --data` on the copy in every mode that flushes, so
 * the three sides always compare the same durability. Seconds, lower is better; each value is the
 * median of RUNS alternating runs, the note gives every side's spread (min-max).
 * XENLAB_BENCH_VHD_MIB sets the image size (default 1024).
 */
import { execFileSync } from "node:child_process";
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Figure, median, nowMs } from "./harness";

const MiB = 1024 * 1024;
const SIZE = Number(process.env.XENLAB_BENCH_VHD_MIB ?? 1024) * MiB;
const RUNS = 3;
const MODES = ["writeback", "unsafe", "writethrough", "none", "directsync"] as const;
type Mode = (typeof MODES)[number];
const CLI = join(__dirname, "..", "src", "cli", "main.js");

let workDir: string | undefined;

/** in.raw: non-zero data in every 2 MiB unit; zero.raw: data in one unit of 16 (mostly zero). */
function setup(): { dir: string; raw: string; zero: string } {
  if (!workDir) {
    workDir = mkdtempSync(join(tmpdir(), "xenlab-vhd-cli-bench-"));
    process.on("exit", () => rmSync(workDir!, { recursive: true, force: true }));
    const unit = Buffer.alloc(2 * MiB);
    for (let i = 0; i < unit.length; i += 4) unit.writeUInt32LE((i * 2654435761) >>> 0, i);
    for (const [name, every] of [["in.raw", 1], ["zero.raw", 16]] as const) {
      const fd = openSync(join(workDir, name), "w");
      for (let k = 0; k < SIZE / unit.length; k++) {
        if (k % every) continue;
        unit.writeUInt32LE(k, 0);
        writeSync(fd, unit, 0, unit.length, k * unit.length);
      }
      if (every > 1) execFileSync("truncate", ["-s", String(SIZE), join(workDir, name)]);
      fsyncSync(fd);
      closeSync(fd);
    }
  }
  return { dir: workDir, raw: join(workDir, "in.raw"), zero: join(workDir, "zero.raw") };
}

function timed(cmd: string, args: string[]): number {
  const t0 = nowMs();
  execFileSync(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
  return (nowMs() - t0) / 1000;
}

interface Side {
  name: string;
  run(): number;
}

/** Runs the sides in turn RUNS times (none always gets the warmest cache), after a sync each time. */
function compare(sides: Side[]): Array<{ name: string; median: number; min: number; max: number }> {
  const samples = sides.map(() => [] as number[]);
  for (let i = 0; i < RUNS; i++) {
    sides.forEach((s, k) => {
      execFileSync("sync"); // no side pays for another's dirty pages
      samples[k]!.push(s.run());
    });
  }
  return sides.map((s, k) => ({ name: s.name, median: median(samples[k]!), min: Math.min(...samples[k]!), max: Math.max(...samples[k]!) }));
}

const flushes = (mode: Mode) => mode !== "unsafe";

function cpSide(src: string, dst: string, mode: Mode): Side {
  return {
    name: flushes(mode) ? "cp + sync --data" : "cp",
    run: () => {
      rmSync(dst, { force: true });
      return timed("sh", ["-c", flushes(mode) ? `cp "$0" "$1" && sync --data "$1"` : `cp "$0" "$1"`, src, dst]);
    },
  };
}

function figure(name: string, mode: Mode, make: (dir: string) => { ours: Side; qemu: Side; cp: Side }, what: string): Figure {
  return {
    name,
    async run() {
      const { dir } = setup();
      const sides = make(dir);
      const [o, q, c] = compare([sides.ours, sides.qemu, sides.cp]);
      const spread = [o!, q!, c!].map((s) => `${s.name} ${s.median.toFixed(3)} s (${s.min.toFixed(3)}-${s.max.toFixed(3)})`).join("; ");
      return {
        value: o!.median,
        unit: "s",
        anchor: `qemu-img convert -t ${mode}`,
        anchor_value: q!.median,
        note: `${what}, ${SIZE / MiB} MiB, -t ${mode}; median (min-max) of ${RUNS}: ${spread}; ours/cp ${(o!.median / c!.median).toFixed(2)}`,
      };
    },
  };
}

function rawToDynamic(mode: Mode, input: "raw" | "zero"): Figure {
  return figure(
    `vhd.cli.convert.${input === "raw" ? "random" : "mostly-zero"}.raw-to-dynamic.${mode}`,
    mode,
    (dir) => {
      const src = join(dir, input === "raw" ? "in.raw" : "zero.raw");
      const ours = join(dir, "ours.vhd");
      const theirs = join(dir, "qemu.vhd");
      return {
        ours: { name: "xenlab vhd convert", run: () => (rmSync(ours, { force: true }), timed(process.execPath, [CLI, "vhd", "convert", "-t", mode, "-O", "dynamic", src, ours])) },
        qemu: { name: "qemu-img convert", run: () => (rmSync(theirs, { force: true }), timed("qemu-img", ["convert", "-t", mode, "-f", "raw", "-O", "vpc", "-o", "subformat=dynamic,force_size=on", src, theirs])) },
        cp: cpSide(src, join(dir, "cp.raw"), mode),
      };
    },
    `raw -> dynamic VHD, ${input === "raw" ? "non-zero data throughout" : "one 2 MiB unit in 16 holds data"}`,
  );
}

function dynamicToRaw(mode: Mode): Figure {
  return figure(
    `vhd.cli.convert.random.dynamic-to-raw.${mode}`,
    mode,
    (dir) => {
      const src = join(dir, "src.vhd");
      execFileSync("qemu-img", ["convert", "-f", "raw", "-O", "vpc", "-o", "subformat=dynamic,force_size=on", join(dir, "in.raw"), src]);
      const out = join(dir, "out.raw");
      return {
        ours: { name: "xenlab vhd convert", run: () => (rmSync(out, { force: true }), timed(process.execPath, [CLI, "vhd", "convert", "-t", mode, "-O", "raw", src, out])) },
        qemu: { name: "qemu-img convert", run: () => (rmSync(out, { force: true }), timed("qemu-img", ["convert", "-t", mode, "-f", "vpc", "-O", "raw", src, out])) },
        cp: cpSide(src, join(dir, "cp.vhd"), mode),
      };
    },
    "dynamic VHD (made by qemu-img) -> raw",
  );
}

export const figures: Figure[] = [
  ...MODES.map((m) => rawToDynamic(m, "raw")),
  ...MODES.map((m) => dynamicToRaw(m)),
  rawToDynamic("writeback", "zero"),
  rawToDynamic("unsafe", "zero"),
];
