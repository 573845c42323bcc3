/**
 * gcc freestanding programs built WITHOUT -mno-sse (gcc then copies, zeroes and vectorises with
 * SSE2, as the x86-64 psABI allows) print exactly what their native build prints: the integer
 * workloads, and floats.c (Mandelbrot in double, matrix multiplies in double and float, decimal
 * formatting of doubles, the four MXCSR rounding modes, conversions), and strings.c (glibc-style
 * SSE4.2 strlen/strchr/strspn/strcspn/strstr and mask forms with _mm_cmpistri/_mm_cmpestri...).
 */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { buildWorkloads, runElfGuest } from "./helpers";

describe("gcc programs using SSE2", () => {
  for (const opt of [["-O0"], ["-O2"], ["-O3", "-funroll-loops"], ["-Os"], ["-O3", "-march=x86-64-v2"]]) {
    it(`workloads.c at ${opt.join(" ")} with SSE: emulated output equals native output`, () => {
      const b = buildWorkloads(opt, true);
      const want = execFileSync(b.native).toString();
      expect(want).toMatch(/^sieve 000000000000198e\n/);
      expect(runElfGuest(b.emu).out).toBe(want);
    });
  }
  for (const opt of [["-O0"], ["-O2"], ["-O3", "-funroll-loops"], ["-Os"], ["-O2", "-march=x86-64-v2"], ["-O3", "-march=x86-64-v2"]]) {
    it(`floats.c at ${opt.join(" ")}: emulated output equals native output`, () => {
      const b = buildWorkloads(opt, true, "floats");
      const want = execFileSync(b.native).toString();
      expect(want).toMatch(/mandelbrot iterations 69482\n/);
      expect(want).toMatch(/^up 3fd5555555555556 /m); // 1/3 rounded up under MXCSR.RC = up
      if (opt.includes("-march=x86-64-v2")) expect(want).toMatch(/^crc32c [0-9a-f]{16} /m); // the crc32 instruction ran
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
