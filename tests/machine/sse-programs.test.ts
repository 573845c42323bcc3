/**
 * gcc freestanding programs built WITHOUT -mno-sse (gcc then copies, zeroes and vectorises with
 * SSE2, as the x86-64 psABI allows) print exactly what their native build prints.
 */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { buildWorkloads, runElfGuest } from "./helpers";

describe("gcc programs using SSE2", () => {
  for (const opt of [["-O0"], ["-O2"], ["-O3", "-funroll-loops"], ["-Os"]]) {
    it(`workloads.c at ${opt.join(" ")} with SSE: emulated output equals native output`, () => {
      const b = buildWorkloads(opt, true);
      const want = execFileSync(b.native).toString();
      expect(want).toMatch(/^sieve 000000000000198e\n/);
      expect(runElfGuest(b.emu).out).toBe(want);
    });
  }
});
