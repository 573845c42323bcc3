/**
 * PCLMULQDQ (SDM Vol. 2B): the carry-less (GF(2)[x]) product of one quadword of each operand,
 * imm8 bit 0 selecting the destination's (first source's) high quadword and bit 4 the second
 * source's, into all 128 bits of the destination.
 */
import { VEC_RES } from "./cpu-state";
import type { CpuState } from "./cpu-state";

/** Carry-less 32 x 32 → 64 bits: [low, high] dwords. */
function clmul32(a: number, b: number): [number, number] {
  let lo = 0, hi = 0;
  for (let i = 0; i < 32; i++) {
    if ((b >>> i) & 1) { lo ^= a << i; if (i) hi ^= a >>> (32 - i); }
  }
  return [lo, hi];
}

export function pclmulqdq(c: CpuState, d: number, s: number, imm: number): void {
  const x = c.vd;
  const a0 = x[d * 4 + (imm & 1) * 2]!, a1 = x[d * 4 + (imm & 1) * 2 + 1]!;
  const b0 = x[s * 4 + ((imm >> 4) & 1) * 2]!, b1 = x[s * 4 + ((imm >> 4) & 1) * 2 + 1]!;
  const [p0, p1] = clmul32(a0, b0), [q0, q1] = clmul32(a0, b1), [r0, r1] = clmul32(a1, b0), [t0, t1] = clmul32(a1, b1);
  // a·b = a0b0 ⊕ (a0b1 ⊕ a1b0)·x^32 ⊕ a1b1·x^64
  const R = VEC_RES * 4;
  x[R] = p0; x[R + 1] = p1 ^ q0 ^ r0; x[R + 2] = q1 ^ r1 ^ t0; x[R + 3] = t1;
  x[d * 4] = x[R]!; x[d * 4 + 1] = x[R + 1]!; x[d * 4 + 2] = x[R + 2]!; x[d * 4 + 3] = x[R + 3]!;
}
