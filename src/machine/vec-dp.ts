/**
 * SSE4.1 dpps/dppd (SDM Vol. 2A DPPS, DPPD: "DP_primitive"): the lanes selected by imm8[7:4]
 * (dppd: imm8[5:4]) are multiplied, the others are +0.0; the products are summed pairwise in the
 * SDM's order (dpps: (p0 + p1) + (p2 + p3); dppd: p0 + p1), every multiply and add rounded to
 * the lane format under MXCSR, and the sum goes to the lanes selected by imm8[3:0] (dppd:
 * imm8[1:0]), +0.0 elsewhere. "Exceptions are determined separately for each add and multiply
 * operation": the flags of all of them are or-ed and handled as for one instruction
 * (vec-float.ts signal), so an unmasked one leaves the destination unchanged.
 */
import { VEC_RES } from "./cpu-state";
import * as S from "./softfloat";
import { signal } from "./vec-float";
import type { Vcpu } from "./vcpu";

function lane32(c: Vcpu, slot: number, i: number): bigint {
  return BigInt(c.vd[slot * 4 + i]! >>> 0);
}
function lane64(c: Vcpu, slot: number, i: number): bigint {
  return (BigInt(c.vd[slot * 4 + 2 * i + 1]! >>> 0) << 32n) | BigInt(c.vd[slot * 4 + 2 * i]! >>> 0);
}

/** dpps xmm, xmm/m128, imm8 and dppd xmm, xmm/m128, imm8. */
export function dp(c: Vcpu, dbl: boolean, d: number, s: number, imm: number): void {
  const f = dbl ? S.F64 : S.F32, m = S.modeOf(c.mxcsr), n = dbl ? 2 : 4;
  const get = dbl ? lane64 : lane32;
  let flags = 0;
  /** One rounded operation: its bits, and its result decoded as the next operation's operand. */
  const op = (o: S.BinOp, a: S.Num, b: S.Num): S.Num => {
    const [bits, fl] = S.arith(o, a, b, f, m);
    flags |= fl;
    return S.decode(bits, f, m.daz);
  };
  const add = (a: S.Num, b: S.Num): [bigint, S.Num] => {
    const [bits, fl] = S.arith("add", a, b, f, m);
    flags |= fl;
    return [bits, S.decode(bits, f, m.daz)];
  };
  const zero = S.decode(0n, f, false);
  const p: S.Num[] = [];
  for (let i = 0; i < n; i++) {
    p.push((imm >> (4 + i)) & 1 ? op("mul", S.decode(get(c, d, i), f, m.daz), S.decode(get(c, s, i), f, m.daz)) : zero);
  }
  // Each stage (the multiplies, then each level of adds) signals its own exceptions before the
  // next one runs: an unmasked one in the multiplies leaves the adds' flags unset (the host agrees).
  const stage = () => { signal(c, flags); flags = 0; };
  stage();
  // Every lane sums the same products in the same pairs, so the value is the same; but each lane
  // has its own order of operands, which decides which NaN comes through when several do (the
  // SDM leaves that "implementation dependent"; the order here is the host's, measured): dppd
  // lane i is p[i] + p[i^1]; dpps lane i is (p[i^1] + p[i]) + (p[i^3] + p[i^2]).
  const sums: bigint[] = [];
  if (dbl) for (let i = 0; i < 2; i++) sums.push(add(p[i]!, p[i ^ 1]!)[0]);
  else {
    const t = [0, 1, 2, 3].map((k) => add(p[k ^ 1]!, p[k]!)[1]);
    stage();
    for (let i = 0; i < 4; i++) sums.push(add(t[i]!, t[i ^ 2]!)[0]);
  }
  signal(c, flags);
  const x = c.vd;
  for (let i = 0; i < n; i++) {
    const v = (imm >> i) & 1 ? sums[i]! : 0n;
    if (dbl) { x[VEC_RES * 4 + 2 * i] = Number(v & 0xffffffffn) | 0; x[VEC_RES * 4 + 2 * i + 1] = Number(v >> 32n) | 0; }
    else x[VEC_RES * 4 + i] = Number(v) | 0;
  }
  for (let i = 0; i < 4; i++) x[d * 4 + i] = x[VEC_RES * 4 + i]!;
}
