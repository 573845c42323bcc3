/**
 * gcc freestanding programs built WITHOUT -mno-sse (gcc then copies, zeroes and vectorises with
 * SSE2, as the x86-64 psABI allows) print exactly what their native build prints: the integer
 * workloads, and floats.c (Mandelbrot in double, matrix multiplies in double and float, decimal
 * formatting of doubles, the four MXCSR rounding modes, conversions; with -march=x86-64-v2 at
 * -O0/-O2/-O3/-Os also a CRC-32C with the crc32 instruction, checked against a bitwise CRC here), and strings.c (glibc-style
 * SSE4.2 strlen/strchr/strspn/strcspn/strstr and mask forms with _mm_cmpistri/_mm_cmpestri...).
 */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { buildWorkloads, runElfGuest } from "./helpers";

/** CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) bit by bit: the oracle for floats.c's crc32 line. */
function crc32cBits(state: number, bytes: Uint8Array): number {
  for (const b of bytes) {
    state ^= b;
    for (let k = 0; k < 8; k++) state = state & 1 ? (state >>> 1) ^ 0x82f63b78 : state >>> 1;
  }
  return state >>> 0;
}
/** The line floats.c prints from crc32c(): the CRC of its 4096-byte pattern, then the raw state carried over 17 more bytes. */
function expectedCrcLine(): string {
  const data = Uint8Array.from({ length: 4096 }, (_, i) => (i * 7 + (i >> 3)) & 0xff);
  const raw = crc32cBits(0xffffffff, data);
  const more = crc32cBits(raw, data.subarray(0, 17));
  const hex = (v: number) => v.toString(16).padStart(16, "0");
  return `crc32c ${hex((raw ^ 0xffffffff) >>> 0)} ${hex(more)}\n`;
}

describe("gcc programs using SSE2", () => {
  for (const opt of [["-O0"], ["-O2"], ["-O3", "-funroll-loops"], ["-Os"], ["-O3", "-march=x86-64-v2"]]) {
    it(`workloads.c at ${opt.join(" ")} with SSE: emulated output equals native output`, () => {
      const b = buildWorkloads(opt, true);
      const want = execFileSync(b.native).toString();
      expect(want).toMatch(/^sieve 000000000000198e\n/);
      expect(runElfGuest(b.emu).out).toBe(want);
    });
  }
  const floatLevels = [["-O0"], ["-O2"], ["-O3", "-funroll-loops"], ["-Os"], ["-O0", "-march=x86-64-v2"], ["-O2", "-march=x86-64-v2"], ["-O3", "-march=x86-64-v2"], ["-Os", "-march=x86-64-v2"]];
  for (const opt of floatLevels) {
    it(`floats.c at ${opt.join(" ")}: emulated output equals native output`, () => {
      const b = buildWorkloads(opt, true, "floats");
      const want = execFileSync(b.native).toString();
      expect(want).toMatch(/mandelbrot iterations 69482\n/);
      expect(want).toMatch(/^up 3fd5555555555556 /m); // 1/3 rounded up under MXCSR.RC = up
      if (opt.includes("-march=x86-64-v2")) {
        // The crc32 instruction is in the build and, natively, computes what a bitwise CRC-32C does.
        const code = execFileSync("objdump", ["-d", b.emu]).toString();
        expect(code).toMatch(/\tf2 4[89a-f] 0f 38 f1 /); // crc32 r64, r/m64 (F2 REX.W 0F 38 F1), register or memory source
        expect(code).toMatch(/\tf2 (4[0-9a-f] )?0f 38 f0 /); // crc32 r32, r/m8 (F2 0F 38 F0)
        expect(want).toContain(expectedCrcLine());
      }
      expect(runElfGuest(b.emu).out).toBe(want);
    });
  }
  for (const opt of [["-O0", "-msse4.2"], ["-O2", "-msse4.2"], ["-O3", "-march=x86-64-v2"], ["-Os", "-march=x86-64-v2"]]) {
    it(`strings.c (pcmpistri/pcmpestri string functions) at ${opt.join(" ")}: emulated output equals native output`, () => {
      const b = buildWorkloads(opt, true, "strings");
      const want = execFileSync(b.native).toString();
      expect(want).toMatch(/^mismatches against byte loops 0{16}\n/m); // natively, each SSE4.2 function agrees with its byte loop
      expect(execFileSync("objdump", ["-d", b.emu]).toString()).toMatch(/pcmpistri[\s\S]*pcmpestrm/); // the instructions are in the build
      expect(runElfGuest(b.emu).out).toBe(want);
    });
  }
  for (const opt of [["-O0", "-msse4.1"], ["-O2", "-msse4.1"], ["-O3", "-march=x86-64-v2"]]) {
    it(`dot.c (dpps/dppd dot products in every rounding mode, maskmovdqu) at ${opt.join(" ")}: emulated output equals native output`, () => {
      const b = buildWorkloads(opt, true, "dot");
      const want = execFileSync(b.native).toString();
      expect(want).toMatch(/^mismatches against C 0{16}\n/m); // natively, dpps/dppd sum in the SDM's order
      expect(execFileSync("objdump", ["-d", b.emu]).toString()).toMatch(/dpps[\s\S]*dppd[\s\S]*maskmovdqu|dpps[\s\S]*maskmovdqu[\s\S]*dppd/);
      expect(runElfGuest(b.emu).out).toBe(want);
    });
  }
  for (const opt of [["-O0"], ["-O2"], ["-Os"]]) {
    it(`mmx.c (MMX intrinsics in MM registers, emms, then x87) at ${opt.join(" ")}: emulated output equals native output`, () => {
      const b = buildWorkloads([...opt, "-msse", "-mno-sse2"], true, "mmx");
      const want = execFileSync(b.native).toString();
      expect(want).toMatch(/^mismatches against plain loops 0{16}\n/m);
      const code = execFileSync("objdump", ["-d", b.emu]).toString();
      for (const ins of [/psadbw +%mm/, /emms/, /cvtpi2ps /, /cvtps2pi .*,%mm/, /cvttps2pi .*,%mm/]) expect(code).toMatch(ins); // real MMX code
      expect(runElfGuest(b.emu).out).toBe(want);
    });
  }
});
