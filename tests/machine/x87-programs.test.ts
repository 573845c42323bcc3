/**
 * gcc-built freestanding x87 programs (tests/machine/programs/longdouble.c, -mno-sse so every
 * float, double and long double operation is x87 code) print exactly their native output at
 * -O0/-O2/-O3/-Os: the raw 80-bit patterns of a Mandelbrot, Machin's pi, e, Newton and fsqrt
 * roots, fprem loops, frndint and fistp under all four rounding modes, precision control, float and
 * double stores and a decimal formatter written in long double arithmetic.
 */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { buildWorkloads, runElfGuest } from "./helpers";

describe("gcc long double programs (x87 code)", () => {
  for (const opt of [["-O0"], ["-O2"], ["-O3", "-funroll-loops"], ["-Os"]]) {
    it(`with ${opt.join(" ")} the emulated output equals the native output`, () => {
      const b = buildWorkloads(opt, false, "longdouble");
      const want = execFileSync(b.native).toString();
      expect(want).toMatch(/^mandel \d+\npi 4000c90fdaa22168c236 3\.14159265358979323e0\n/);
      const { out } = runElfGuest(b.emu);
      expect(out).toBe(want);
    });
  }
});
