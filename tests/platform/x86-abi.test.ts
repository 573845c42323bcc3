/** The x86 numbers both hosts' exit code names (src/abi/x86.ts), against the SDM's statements. */
import { describe, expect, it } from "vitest";
import { EXC_GP, EXC_UD, RFLAGS_IF, unclaimedPortRead, vector } from "../../src/abi/x86";

describe("x86 architectural numbers", () => {
  it("an interrupt vector is an integer 0..255 (SDM Vol. 3A §6.2); anything else is refused by name", () => {
    expect(vector(0)).toBe(0);
    expect(vector(255)).toBe(255);
    for (const bad of [256, -1, 1.5, Number.NaN]) expect(() => vector(bad)).toThrow(/interrupt vector .* is not 0\.\.255/);
  });

  it("names the SDM's bits: #UD 6, #GP 13, RFLAGS.IF bit 9", () => {
    expect([EXC_UD, EXC_GP]).toEqual([6, 13]);
    expect(RFLAGS_IF).toBe(2 ** 9);
  });

  it("a port no device decodes reads as all ones of the access size", () => {
    expect([1, 2, 4].map((s) => unclaimedPortRead(s as 1 | 2 | 4))).toEqual([0xff, 0xffff, 0xffffffff]);
  });
});
