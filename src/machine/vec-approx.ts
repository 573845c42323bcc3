/**
 * rcpps/rcpss/rsqrtps/rsqrtss (SDM Vol. 2B RCPPS, RCPSS, RSQRTPS, RSQRTSS): approximations of
 * 1/x and 1/sqrt(x) in binary32 that the SDM only bounds, |relative error| <= 1.5 * 2^-12. The
 * host's values come from a table in the processor that is neither public nor the same across
 * vendors or generations, so no emulator can be bit-equal to every host; this one computes a
 * deterministic value inside the bound: the exact result (a JS double; its error is 2^-53)
 * rounded to nearest-even at 12 significant bits, an error of at most 2^-12 (plus 2^-53).
 * tests/machine/sse-differential.test.ts (with sse-approx.ts) checks that bound for both the host
 * and this value.
 *
 * What the SDM does fix is reproduced exactly: RC and DAZ/FTZ are ignored and no MXCSR flag is
 * ever raised ("SIMD Floating-Point Exceptions: None"); a denormal source counts as a zero of its
 * sign; ±0 gives ±inf; rcp(±inf) = ±0; rsqrt(+inf) = +0; rsqrt of a negative non-zero value
 * (including -inf) is the QNaN indefinite; a NaN is returned quieted; rcp's tiny results are
 * flushed to a zero of the operand's sign (an exact result below 2^-126 after the rounding).
 */
const dv = new DataView(new ArrayBuffer(8));
const f32 = new DataView(new ArrayBuffer(4));
const INDEFINITE = 0xffc00000 | 0;

/** The positive double r (normal) rounded to 12 significant bits, as binary32 bits; 0 when below 2^-126. */
function round12(r: number): number {
  dv.setFloat64(0, r);
  const hi = dv.getUint32(0), lo = dv.getUint32(4);
  let e = ((hi >>> 20) & 0x7ff) - 1023;
  let q = 0x800 | ((hi >>> 9) & 0x7ff);
  const rem = hi & 0x1ff;
  if (rem > 0x100 || (rem === 0x100 && (lo !== 0 || (q & 1) === 1))) q += 1;
  if (q === 0x1000) { q = 0x800; e += 1; }
  if (e < -126) return 0;
  return ((e + 127) << 23) | ((q & 0x7ff) << 12);
}

/** The binary32 value of bits b (finite, normal). */
function value(b: number): number {
  f32.setUint32(0, b & 0x7fffffff);
  return f32.getFloat32(0);
}

/** rcp of one binary32 lane. */
export function rcp32(b: number): number {
  const sign = b & 0x80000000, e = (b >>> 23) & 0xff;
  if (e === 0xff) return (b & 0x7fffff) !== 0 ? b | 0x400000 : sign; // NaN quieted; ±inf → ±0
  if (e === 0) return sign | 0x7f800000; // ±0 and denormals → ±inf
  return sign | round12(1 / value(b));
}

/** rsqrt of one binary32 lane. */
export function rsqrt32(b: number): number {
  const sign = b & 0x80000000, e = (b >>> 23) & 0xff, m = b & 0x7fffff;
  if (e === 0xff && m !== 0) return b | 0x400000;
  if (e === 0) return sign | 0x7f800000; // ±0 and denormals → ±inf
  if (sign !== 0) return INDEFINITE;
  if (e === 0xff) return 0; // +inf → +0
  return round12(1 / Math.sqrt(value(b)));
}

/** rcpps/rsqrtps (lanes 4) and rcpss/rsqrtss (lanes 1: d's other lanes kept). */
export function approx(c: { vd: Int32Array }, sqrt: boolean, d: number, s: number, lanes: number): void {
  const x = c.vd, fn = sqrt ? rsqrt32 : rcp32;
  for (let i = 0; i < lanes; i++) x[d * 4 + i] = fn(x[s * 4 + i]!) | 0;
}
