/**
 * gcc -O2 freestanding programs (sieve, CRC32, SHA-256, quicksort, bignum multiply, 64-bit
 * div/idiv) loaded from their ELF file into the emulator print exactly what the native build prints.
 */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { buildWorkloads, runElfGuest } from "./helpers";

describe("gcc -O2 workloads", () => {
  const { native, emu } = buildWorkloads();
  it("emulated output equals native output", () => {
    const want = execFileSync(native).toString();
    expect(want).toMatch(/^sieve 000000000000198e\n/); // 6542 primes below 65536
    const { out, v } = runElfGuest(emu);
    expect(out).toBe(want);
    expect(v.icount).toBeGreaterThan(1_000_000);
  });

  for (const opt of [["-O0"], ["-O1"], ["-O3", "-funroll-loops"], ["-Os"], ["-O2", "-march=x86-64-v3", "-mno-avx", "-mno-avx2"]]) {
    it(`also with ${opt.join(" ")}`, () => {
      const b = buildWorkloads(opt);
      expect(runElfGuest(b.emu).out).toBe(execFileSync(b.native).toString());
    });
  }
});
