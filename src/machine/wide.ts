/**
 * 64-bit multiply and 128-by-64 divide on 32-bit halves, without BigInt (issue 15: BigInt
 * allocations made one-operand mul/imul/div ~55% of a multiply-heavy program).
 *
 * Words are unsigned 32-bit numbers (0 .. 2^32-1) held in doubles; every intermediate sum stays
 * below 2^53 so double arithmetic is exact. Results land in the module-level array `W`
 * (one owner: the caller reads it straight after the call).
 */
const TWO32 = 4294967296;

/** Result words: mul64 → W[0..3] = product low..high; udiv128 → W[0..1] quotient, W[2..3] remainder. */
export const W = [0, 0, 0, 0];

let mLo = 0, mHi = 0;
/** Exact unsigned 32x32 → 64 product into mLo, mHi (16-bit limbs keep each partial below 2^49). */
function mul32(a: number, b: number): void {
  const al = a & 0xffff, ah = a >>> 16, bl = b & 0xffff, bh = b >>> 16;
  const m1 = ah * bl, m2 = al * bh;
  const t = al * bl + ((m1 & 0xffff) + (m2 & 0xffff)) * 65536;
  mLo = t >>> 0;
  mHi = ah * bh + (m1 >>> 16) + (m2 >>> 16) + Math.floor(t / TWO32);
}

/** Unsigned (a1:a0) * (b1:b0) → 128-bit product in W[0..3] (all unsigned words). */
export function umul64(a0: number, a1: number, b0: number, b1: number): void {
  a0 >>>= 0; a1 >>>= 0; b0 >>>= 0; b1 >>>= 0;
  mul32(a0, b0); const l00 = mLo, h00 = mHi;
  mul32(a0, b1); const l01 = mLo, h01 = mHi;
  mul32(a1, b0); const l10 = mLo, h10 = mHi;
  mul32(a1, b1); const l11 = mLo, h11 = mHi;
  const s1 = h00 + l01 + l10;
  const c1 = Math.floor(s1 / TWO32);
  const s2 = h01 + h10 + l11 + c1;
  const c2 = Math.floor(s2 / TWO32);
  W[0] = l00; W[1] = s1 >>> 0; W[2] = s2 >>> 0; W[3] = (h11 + c2) >>> 0;
}

/**
 * Signed 64x64 → 128: the unsigned product, then the high half corrected by
 * - (a<0 ? b : 0) - (b<0 ? a : 0) (mod 2^64), the two's-complement identity.
 */
export function smul64(a0: number, a1: number, b0: number, b1: number): void {
  umul64(a0, a1, b0, b1);
  let lo = W[2]!, hi = W[3]!;
  if (a1 < 0 || a1 > 0x7fffffff) { const r = sub64(lo, hi, b0 >>> 0, b1 >>> 0); lo = r; hi = sHi; }
  if (b1 < 0 || b1 > 0x7fffffff) { const r = sub64(lo, hi, a0 >>> 0, a1 >>> 0); lo = r; hi = sHi; }
  W[2] = lo; W[3] = hi;
}

let sHi = 0;
function sub64(l: number, h: number, bl: number, bh: number): number {
  let lo = l - bl, borrow = 0;
  if (lo < 0) { lo += TWO32; borrow = 1; }
  let hi = h - bh - borrow;
  if (hi < 0) hi += TWO32;
  sHi = hi;
  return lo;
}

/**
 * Unsigned (n3:n2:n1:n0) / (d1:d0). Returns false when the quotient needs more than 64 bits
 * (div's #DE); otherwise quotient in W[0..1], remainder in W[2..3]. The divisor must be nonzero.
 */
export function udiv128(n0: number, n1: number, n2: number, n3: number, d0: number, d1: number): boolean {
  n0 >>>= 0; n1 >>>= 0; n2 >>>= 0; n3 >>>= 0; d0 >>>= 0; d1 >>>= 0;
  // The quotient fits in 64 bits exactly when the dividend's high half is below the divisor.
  if (n3 > d1 || (n3 === d1 && n2 >= d0)) return false;
  if (d1 === 0) {
    // One-word divisor: long division in 16-bit digits; rem * 65536 + digit < 2^48 stays exact.
    let r = n2; // n3 is 0 here and n2 < d0
    const q = [0, 0];
    for (let w = 1; w >= 0; w--) {
      const word = w === 1 ? n1 : n0;
      const hiD = r * 65536 + (word >>> 16);
      const qh = Math.floor(hiD / d0); r = hiD - qh * d0;
      const loD = r * 65536 + (word & 0xffff);
      const ql = Math.floor(loD / d0); r = loD - ql * d0;
      q[w] = qh * 65536 + ql;
    }
    W[0] = q[0]!; W[1] = q[1]!; W[2] = r; W[3] = 0;
    return true;
  }
  if (n3 === 0 && n2 === 0) {
    // 64/64 with a divisor ≥ 2^32 (the divides gcc emits): the quotient is below 2^32, so the
    // double estimate is off by at most one or two; fix it against the exact product q*d.
    let q = Math.min(Math.floor((n1 * TWO32 + n0) / (d1 * TWO32 + d0)), 0xffffffff);
    umul64(q, 0, d0, d1);
    let p0 = W[0]!, p1 = W[1]!, p2 = W[2]!;
    while (p2 > 0 || p1 > n1 || (p1 === n1 && p0 > n0)) {
      const borrow = p1 < d1 || (p1 === d1 && p0 < d0);
      p0 = sub64(p0, p1, d0, d1); p1 = sHi; if (borrow) p2--;
      q--;
    }
    let r0 = sub64(n0, n1, p0, p1), r1 = sHi;
    while (r1 > d1 || (r1 === d1 && r0 >= d0)) { r0 = sub64(r0, r1, d0, d1); r1 = sHi; q++; }
    W[0] = q; W[1] = 0; W[2] = r0; W[3] = r1;
    return true;
  }
  // Two-word divisor: restoring division one bit at a time over the 64 low dividend bits,
  // the running remainder (r1:r0) starting as the high half (already below the divisor).
  let r0 = n2, r1 = n3, q0 = 0, q1 = 0;
  for (let i = 63; i >= 0; i--) {
    const bit = i >= 32 ? (n1 >>> (i - 32)) & 1 : (n0 >>> i) & 1;
    const carry = r1 >>> 31;
    r1 = ((r1 << 1) | (r0 >>> 31)) >>> 0;
    r0 = ((r0 << 1) | bit) >>> 0;
    q1 = ((q1 << 1) | (q0 >>> 31)) >>> 0;
    q0 = (q0 << 1) >>> 0;
    if (carry || r1 > d1 || (r1 === d1 && r0 >= d0)) {
      r0 = sub64(r0, r1, d0, d1); r1 = sHi;
      q0 = (q0 | 1) >>> 0;
    }
  }
  W[0] = q0; W[1] = q1; W[2] = r0; W[3] = r1;
  return true;
}

/** Two's-complement negation of a 128-bit value given as unsigned words, into N[0..3]. */
export const N = [0, 0, 0, 0];
export function neg128(w0: number, w1: number, w2: number, w3: number): void {
  const ws = [w0 >>> 0, w1 >>> 0, w2 >>> 0, w3 >>> 0];
  let carry = 1;
  for (let i = 0; i < 4; i++) {
    const v = (~ws[i]! >>> 0) + carry;
    N[i] = v >>> 0;
    carry = v >= TWO32 ? 1 : 0;
  }
}
