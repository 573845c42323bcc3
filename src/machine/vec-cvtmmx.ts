/**
 * The conversions between MMX and SSE registers (SDM Vol. 2A CVTPI2PS, CVTPS2PI, CVTTPS2PI,
 * CVTPI2PD, CVTPD2PI, CVTTPD2PI): two signed doublewords of an MM register (or m64) to two floats
 * in the low half of an XMM register, and back. Rounding and exceptions as for their XMM
 * relatives (softfloat.ts, vec-float.ts signal): cvtpi2ps rounds under MXCSR.RC and may raise
 * PE; cvtpi2pd is exact; the float→integer forms give the integer indefinite 0x80000000 with IE
 * for NaNs and out-of-range values, PE when inexact. An MM operand, source or destination, makes
 * the x87 → MMX transition (vec-mmx.ts mmxEnter), before the SIMD exceptions: the host makes it
 * even when the instruction then takes #XM. cvtpi2ps/cvtpi2pd from m64 do not.
 */
import { VEC_RES } from "./cpu-state";
import * as S from "./softfloat";
import { signal } from "./vec-float";
import { mmxEnter, mmSet } from "./vec-mmx";
import type { Vcpu } from "./vcpu";

/** cvtpi2ps/cvtpi2pd xmm(d), two int32 lo and hi; `fromMm`: the source was an MM register. */
export function cvtpi2f(c: Vcpu, dbl: boolean, d: number, lo: number, hi: number, fromMm: boolean): void {
  const m = S.modeOf(c.mxcsr), x = c.vd;
  if (fromMm) mmxEnter(c);
  if (dbl) {
    for (const [i, v] of [[0, lo], [1, hi]] as const) {
      const r = S.fromInt(BigInt(v | 0), S.F64, m)[0]; // exact: every int32 is a binary64
      x[VEC_RES * 4 + 2 * i] = Number(r & 0xffffffffn) | 0;
      x[VEC_RES * 4 + 2 * i + 1] = Number(r >> 32n) | 0;
    }
    x[d * 4] = x[VEC_RES * 4]!; x[d * 4 + 1] = x[VEC_RES * 4 + 1]!; x[d * 4 + 2] = x[VEC_RES * 4 + 2]!; x[d * 4 + 3] = x[VEC_RES * 4 + 3]!;
  } else {
    const a = S.fromInt(BigInt(lo | 0), S.F32, m), b = S.fromInt(BigInt(hi | 0), S.F32, m);
    signal(c, a[1] | b[1]);
    x[d * 4] = Number(a[0]) | 0; x[d * 4 + 1] = Number(b[0]) | 0;
  }
}

/** cvt(t)ps2pi / cvt(t)pd2pi: lanes 0 and 1 of slot s (binary32 or binary64) to MMd. */
export function cvtf2pi(c: Vcpu, dbl: boolean, mm: number, s: number, truncate: boolean): void {
  const m = S.modeOf(c.mxcsr), x = c.vd, f = dbl ? S.F64 : S.F32;
  const bits = (i: number) => dbl ? (BigInt(x[s * 4 + 2 * i + 1]! >>> 0) << 32n) | BigInt(x[s * 4 + 2 * i]! >>> 0) : BigInt(x[s * 4 + i]! >>> 0);
  const a = S.toInt(S.decode(bits(0), f, m.daz), 32, truncate, m), b = S.toInt(S.decode(bits(1), f, m.daz), 32, truncate, m);
  mmxEnter(c);
  signal(c, a[1] | b[1]);
  mmSet(c, mm, Number(BigInt.asUintN(32, a[0])) | 0, Number(BigInt.asUintN(32, b[0])) | 0);
}
