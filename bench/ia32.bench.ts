/**
 * ia32.*: the vCPU's instruction rate on 32-bit code under PAE paging (tests/machine/programs/
 * ia32.c, gcc -m32 -O2 -msse2 -mfpmath=sse: integer, 64-bit-on-32-bit and SSE2 float work) beside,
 * in the same run, the same source built for x86-64 on the vCPU in long mode. Each run is a fresh
 * guest (the program's data starts as loaded); the median of 3 runs after a warm-up.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Figure, median, nowMs } from "./harness";
import { emulate } from "./machine.bench";
import { runIa32 } from "../tests/support/ia32-guest";

const SRC = join(__dirname, "..", "..", "tests", "machine", "programs", "ia32.c");
const FLAGS = ["-O2", "-ffreestanding", "-nostdlib", "-static", "-no-pie", "-fno-pic", "-fno-stack-protector", "-fno-math-errno", "-DEMU"];

export const figures: Figure[] = [
  {
    name: "ia32.pae_mips",
    async run() {
      const dir = mkdtempSync(join(tmpdir(), "xenlab-ia32-bench-"));
      const p32 = join(dir, "ia32"), p64 = join(dir, "ia64");
      execFileSync("gcc", ["-m32", "-msse2", "-mfpmath=sse", ...FLAGS, "-Wl,-Ttext-segment=0x400000", "-o", p32, SRC, "-lgcc"]);
      execFileSync("gcc", ["-mno-red-zone", ...FLAGS, "-o", p64, SRC, "-lgcc"]);
      const ms: number[] = [];
      let icount = 0;
      for (let r = 0; r < 4; r++) {
        const t0 = nowMs();
        const { v } = runIa32(p32, "PAE");
        ms.push(nowMs() - t0);
        icount = v.icount;
      }
      const e64 = emulate(p64, 4);
      const mips = icount / (median(ms.slice(1)) / 1000) / 1e6;
      const mips64 = e64.icount / (median(e64.ms.slice(1)) / 1000) / 1e6;
      return {
        value: mips, unit: "MIPS",
        anchor: "the same source built for x86-64 on the vCPU in long mode, same run", anchor_value: mips64,
        note: `i386 build ${(icount / 1e6).toFixed(2)} M instructions under PAE paging (4 KiB + 2 MiB pages, XD), x86-64 build ${(e64.icount / 1e6).toFixed(2)} M`,
      };
    },
  },
];
