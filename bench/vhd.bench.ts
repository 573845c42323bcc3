/**
 * VHD figures, each beside qemu-img (and plain `cp`) measured in the same run:
 * - convert 1 GiB raw -> dynamic VHD and back (seconds, lower is better), anchors `qemu-img
 *   convert` and plain `cp`. None of the three syncs at the end here (qemu-img convert does not:
 *   strace shows its one fdatasync at image creation); `xenlab vhd convert` does by default;
 * - random 4 KiB reads and writes per second on a 1 GiB dynamic disk (higher is better), anchor
 *   `qemu-img bench` (which has no random mode: it strides by a large odd multiple of 4 KiB,
 *   wrapping at the end of the disk, which scatters its I/O across the disk in the same way).
 */
import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, writeSync, fsyncSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Figure, median, nowMs } from "./harness";
import { VhdDisk, convertImage, convertImageAsync } from "../src/vhd";

const GiB = 1024 * 1024 * 1024;
const MiB = 1024 * 1024;
const RUNS = 5;
const IOPS_OPS = 100_000;
/** qemu's vpc write path manages ~2000 writes/s here: fewer of them keep the run short. */
const QEMU_WRITE_OPS = 20_000;
/** qemu-img bench stride: 7919 x 4 KiB (a prime number of pages, so the walk visits the whole disk). */
const STRIDE = 7919 * 4096;

let workDir: string | undefined;

/** A 1 GiB raw file of non-zero data (every 2 MiB unit distinct), made once per run. */
function setup(): { dir: string; raw: string } {
  if (!workDir) {
    workDir = mkdtempSync(join(tmpdir(), "xenlab-vhd-bench-"));
    process.on("exit", () => rmSync(workDir!, { recursive: true, force: true }));
    const fd = openSync(join(workDir, "in.raw"), "w");
    const unit = Buffer.alloc(2 * MiB);
    for (let i = 0; i < unit.length; i += 4) unit.writeUInt32LE((i * 2654435761) >>> 0, i);
    for (let k = 0; k < GiB / unit.length; k++) {
      unit.writeUInt32LE(k, 0);
      writeSync(fd, unit, 0, unit.length, k * unit.length);
    }
    fsyncSync(fd);
    closeSync(fd);
  }
  return { dir: workDir, raw: join(workDir, "in.raw") };
}

function seconds(fn: () => void): number {
  const t0 = nowMs();
  fn();
  return (nowMs() - t0) / 1000;
}

async function secondsAsync(fn: () => Promise<unknown>): Promise<number> {
  const t0 = nowMs();
  await fn();
  return (nowMs() - t0) / 1000;
}

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8", maxBuffer: 16 * MiB });
}

/** Plain `cp` (no sync, like both converters in these figures), from a clean page cache state. */
function timeCp(src: string, dst: string): number {
  rmSync(dst, { force: true });
  sh("sync", []);
  return seconds(() => sh("cp", [src, dst]));
}

/** Runs `a` and `b` alternately RUNS times (so neither always gets the warmer cache); medians. */
async function paired(a: () => number | Promise<number>, b: () => number | Promise<number>): Promise<[number, number]> {
  const as: number[] = [];
  const bs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    // each timed run starts with no dirty pages: otherwise one side pays for the other's writeback
    sh("sync", []);
    as.push(await a());
    sh("sync", []);
    bs.push(await b());
  }
  return [median(as), median(bs)];
}

function randomIops(path: string, write: boolean): number {
  const d = VhdDisk.open(path, { readOnly: !write });
  const buf = Buffer.alloc(4096, 0x5a);
  const pages = Math.floor(d.size / 4096);
  let x = 0x2545f491;
  const t0 = nowMs();
  for (let i = 0; i < IOPS_OPS; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const off = ((x >>> 0) % pages) * 4096;
    if (write) d.write(off, buf);
    else d.read(off, buf);
  }
  const s = (nowMs() - t0) / 1000;
  d.close();
  return IOPS_OPS / s;
}

function qemuBenchIops(path: string, write: boolean): number {
  const ops = write ? QEMU_WRITE_OPS : IOPS_OPS;
  // -t writeback: the page cache, like our writes (qemu-img bench's default cache mode is slower)
  const out = sh("qemu-img", ["bench", "-f", "vpc", "-t", "writeback", "-c", String(ops), "-d", "1", "-s", "4k", "-S", String(STRIDE), ...(write ? ["-w"] : []), path]);
  const m = /Run completed in ([\d.]+) seconds/.exec(out);
  if (!m) throw new Error(`unexpected qemu-img bench output: ${out}`);
  return ops / Number(m[1]);
}

/** A fully allocated 1 GiB dynamic disk (from the raw file), for the I/O figures. */
function dynamicDisk(): string {
  const { dir, raw } = setup();
  const p = join(dir, "iops.vhd");
  rmSync(p, { force: true });
  convertImage(raw, p, { to: "dynamic" });
  return p;
}

export const figures: Figure[] = [
  {
    name: "vhd.convert.raw-to-dynamic",
    async run() {
      const { dir, raw } = setup();
      const ours = join(dir, "ours.vhd");
      const theirs = join(dir, "qemu.vhd");
      const [v, q] = await paired(
        () => {
          rmSync(ours, { force: true });
          return secondsAsync(() => convertImageAsync(raw, ours, { to: "dynamic", cache: "unsafe" }));
        },
        () => {
          rmSync(theirs, { force: true });
          return seconds(() => sh("qemu-img", ["convert", "-f", "raw", "-O", "vpc", "-o", "subformat=dynamic,force_size=on", raw, theirs]));
        },
      );
      const cp = median(Array.from({ length: RUNS }, () => timeCp(raw, join(dir, "cp.raw"))));
      return { value: v, unit: "s", anchor: "qemu-img convert -O vpc (dynamic)", anchor_value: q, note: `1 GiB non-zero data, lower is better; no final fdatasync on either side (qemu-img convert's only fdatasync comes at image creation, before the data: strace); plain cp: ${cp.toFixed(3)} s (ours/cp ${(v / cp).toFixed(2)})` };
    },
  },
  {
    name: "vhd.convert.dynamic-to-raw",
    async run() {
      const { dir, raw } = setup();
      const src = join(dir, "src.vhd");
      rmSync(src, { force: true });
      convertImage(raw, src, { to: "dynamic" });
      const out = join(dir, "out.raw");
      const [v, q] = await paired(
        () => {
          rmSync(out, { force: true });
          return secondsAsync(() => convertImageAsync(src, out, { to: "raw", cache: "unsafe" }));
        },
        () => {
          rmSync(out, { force: true });
          return seconds(() => sh("qemu-img", ["convert", "-f", "vpc", "-O", "raw", src, out]));
        },
      );
      const cp = median(Array.from({ length: RUNS }, () => timeCp(src, join(dir, "cp.vhd"))));
      return { value: v, unit: "s", anchor: "qemu-img convert -f vpc -O raw", anchor_value: q, note: `lower is better; no fdatasync on either side (qemu-img convert issues none for raw output, checked with strace); plain cp of the VHD: ${cp.toFixed(3)} s (ours/cp ${(v / cp).toFixed(2)})` };
    },
  },
  {
    name: "vhd.random-4k.read",
    async run() {
      const p = dynamicDisk();
      const [v, q] = await paired(
        () => randomIops(p, false),
        () => qemuBenchIops(p, false),
      );
      return { value: v, unit: "IOPS", anchor: `qemu-img bench -t writeback -d 1 -s 4k -S ${STRIDE}`, anchor_value: q, note: `${IOPS_OPS} reads on a fully allocated 1 GiB dynamic disk, warm page cache, higher is better` };
    },
  },
  {
    name: "vhd.random-4k.write",
    async run() {
      const p = dynamicDisk();
      const [v, q] = await paired(
        () => randomIops(p, true),
        () => qemuBenchIops(p, true),
      );
      return { value: v, unit: "IOPS", anchor: `qemu-img bench -w -t writeback -d 1 -s 4k -S ${STRIDE}`, anchor_value: q, note: `${IOPS_OPS} writes, no flush (neither side), higher is better` };
    },
  },
];
