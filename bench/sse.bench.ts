/**
 * sse.*: the vCPU's instruction rate on SSE floating-point code (tests/machine/programs/fpbench.c:
 * a Mandelbrot set and a matrix multiply in double, gcc -O2 with SSE2) beside, in the same run,
 * the same algorithms in 16.16 fixed point (integer code, same source with -DINTEGER) on the
 * vCPU, and the SSE build natively on the host CPU. Native MIPS use the vCPU's exact instruction
 * count of the same iterations (the builds differ only in I/O).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Figure, median, nowMs } from "./harness";
import { emulate } from "./machine.bench";

const SRC = join(__dirname, "..", "..", "tests", "machine", "programs", "fpbench.c");
const FLAGS = ["-O2", "-ffreestanding", "-nostdlib", "-mno-red-zone", "-static", "-no-pie", "-fno-pic"];

function build(dir: string, defs: string[], iters: number): string {
  const out = join(dir, `fp-${defs.join("-")}-${iters}`);
  execFileSync("gcc", [...FLAGS, ...defs.map((d) => `-D${d}`), `-DITERS=${iters}`, "-o", out, SRC]);
  return out;
}

/** vCPU MIPS: the median of `runs` runs after one warm-up, and the instruction count. */
function vcpu(path: string, runs: number): { mips: number; icount: number; out: string } {
  const e = emulate(path, runs + 1);
  return { mips: e.icount / (median(e.ms.slice(1)) / 1000) / 1e6, icount: e.icount, out: e.out };
}

const ITERS = 20;
let dir = "";
const workdir = () => (dir ||= mkdtempSync(join(tmpdir(), "xenlab-sse-bench-")));

export const figures: Figure[] = [
  {
    name: "sse.float_mips",
    async run() {
      const fp = vcpu(build(workdir(), ["EMU"], ITERS), 3);
      const int = vcpu(build(workdir(), ["EMU", "INTEGER"], ITERS), 3);
      if (fp.out !== execFileSync(build(workdir(), ["NATIVE"], ITERS)).toString()) throw new Error("SSE build: emulated output differs from native");
      return {
        value: fp.mips,
        unit: "MIPS",
        anchor: "the same algorithms in fixed point (integer code) on the vCPU, same run",
        anchor_value: int.mips,
        note: `double build ${(fp.icount / 1e6).toFixed(2)} M instructions, fixed-point build ${(int.icount / 1e6).toFixed(2)} M; goal: within 10x of integer per instruction`,
      };
    },
  },
  {
    name: "sse.float_vs_native",
    async run() {
      const e1 = vcpu(build(workdir(), ["EMU"], 1), 1);
      const eN = vcpu(build(workdir(), ["EMU"], ITERS), 3);
      const perIter = (eN.icount - e1.icount) / (ITERS - 1);
      const time = (p: string) => { const t = nowMs(); execFileSync(p); return nowMs() - t; };
      const nA = 200, nB = 1200;
      const pa = build(workdir(), ["NATIVE"], nA), pb = build(workdir(), ["NATIVE"], nB);
      const slopes: number[] = [];
      for (let k = 0; k < 3; k++) slopes.push(time(pb) - time(pa));
      const nativeMips = (perIter * (nB - nA)) / (median(slopes) / 1000) / 1e6;
      return { value: eN.mips, unit: "MIPS", anchor: "the same SSE build natively on the host CPU", anchor_value: nativeMips };
    },
  },
];
