/**
 * machine.mips: emulated x86-64 instructions per second on gcc -O2 freestanding workloads (sieve,
 * CRC32, SHA-256, quicksort, bignum multiply, div/idiv: tests/machine/programs/workloads.c), beside
 * the same workload run natively on the host CPU in the same run. The native instruction rate uses
 * the emulator's exact instruction count for the same iterations (the binaries differ only in I/O).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Figure, median, nowMs } from "./harness";
import { ElfFile, Machine, Vcpu, buildPageTables, domId, gfn } from "../src/machine";

const SRC = join(__dirname, "..", "..", "tests", "machine", "programs", "workloads.c");
const FLAGS = ["-O2", "-ffreestanding", "-nostdlib", "-mno-sse", "-mno-red-zone", "-static", "-no-pie", "-fno-pic"];

function build(dir: string, def: string, iters: number): string {
  const out = join(dir, `w-${def}-${iters}`);
  execFileSync("gcc", [...FLAGS, `-D${def}`, `-DITERS=${iters}`, "-o", out, SRC]);
  return out;
}

/** Runs the ELF `runs` times on one machine (reloading it each time, so blocks are recompiled). */
export function emulate(path: string, runs: number): { icount: number; ms: number[]; out: string } {
  const elf = new ElfFile(new Uint8Array(readFileSync(path)));
  const m = new Machine(64);
  const dom = domId(1);
  m.populate(dom, gfn(0), 4096);
  const g = m.guest(dom);
  const { cr3 } = buildPageTables(g, 0x10000, [{ va: 0, gpa: 0, pages: 4096 }]);
  const ms: number[] = [];
  let out = "";
  let icount = 0;
  for (let r = 0; r < runs; r++) {
    elf.loadInto(g);
    const v = new Vcpu(m, dom, 0, { mode: "long64", rip: elf.entry, rsp: 0xfff000, cr3 });
    out = "";
    const t0 = nowMs();
    for (;;) {
      const x = v.run(100_000_000);
      if (x.kind === "io" && x.port === 0xe9) { out += String.fromCharCode(x.value); continue; }
      if (x.kind === "hlt") break;
      throw new Error(`workload stopped with ${x.kind}`);
    }
    ms.push(nowMs() - t0);
    icount = v.icount;
  }
  return { icount, ms, out };
}

export const figures: Figure[] = [
  {
    name: "machine.step_us",
    async run() {
      // Median cost of one vcpu.step() (what a %step magic calls) on the workload, beside the
      // cost per instruction inside run() on the same machine.
      const dir = mkdtempSync(join(tmpdir(), "xenlab-bench-"));
      const elf = new ElfFile(new Uint8Array(readFileSync(build(dir, "EMU", 1))));
      const m = new Machine(64);
      const dom = domId(1);
      m.populate(dom, gfn(0), 4096);
      const g = m.guest(dom);
      const { cr3 } = buildPageTables(g, 0x10000, [{ va: 0, gpa: 0, pages: 4096 }]);
      elf.loadInto(g);
      const v = new Vcpu(m, dom, 0, { mode: "long64", rip: elf.entry, rsp: 0xfff000, cr3 });
      const samples: number[] = [];
      for (let k = 0; k < 20_000; k++) {
        const t = nowMs();
        const x = v.step();
        samples.push((nowMs() - t) * 1000);
        if (x.kind === "hlt") break;
      }
      const runStart = nowMs();
      const before = v.icount;
      for (;;) { const x = v.run(100_000_000); if (x.kind === "hlt") break; }
      const perInsn = ((nowMs() - runStart) * 1000) / (v.icount - before);
      return {
        value: median(samples.slice(2000)),
        unit: "us",
        anchor: "one instruction inside run() (same workload)",
        anchor_value: perInsn,
        note: "step() compiles and caches one-instruction blocks; the %step magic adds its own round trip",
      };
    },
  },
  {
    name: "machine.mips",
    async run() {
      const dir = mkdtempSync(join(tmpdir(), "xenlab-bench-"));
      const e1 = emulate(build(dir, "EMU", 1), 1);
      const iters = 6;
      const eN = emulate(build(dir, "EMU", iters), 7);
      const perIter = (eN.icount - e1.icount) / (iters - 1);
      // First run warms V8 up; the median of the next six is the figure (the host is shared).
      const ms = median(eN.ms.slice(1));
      const mips = eN.icount / (ms / 1000) / 1e6;
      // Native: two iteration counts, slope removes process start-up.
      const time = (p: string) => { const t = nowMs(); const o = execFileSync(p).toString(); return { ms: nowMs() - t, o }; };
      const nA = 100, nB = 600;
      const pa = build(dir, "NATIVE", nA), pb = build(dir, "NATIVE", nB);
      const samples: number[] = [];
      for (let k = 0; k < 3; k++) samples.push(time(pb).ms - time(pa).ms);
      samples.sort((a, b) => a - b);
      const nativeMips = (perIter * (nB - nA)) / (samples[1]! / 1000) / 1e6;
      const want = execFileSync(build(dir, "NATIVE", iters)).toString();
      if (want !== eN.out) throw new Error("emulated output differs from native");
      return {
        value: mips,
        unit: "MIPS",
        anchor: "same workload native on the host CPU",
        anchor_value: nativeMips,
        note: `${(perIter / 1e6).toFixed(3)} M instructions/iteration; ${iters} iterations: median ${ms.toFixed(0)} ms of 6 runs (first, cold: ${eN.ms[0]!.toFixed(0)} ms); goal >= 50 MIPS, design 200 (Blink's interpreter: 85-89 here)`,
      };
    },
  },
];
