/**
 * SSE2 integer and data-movement semantics on 128-bit slots (SDM Vol. 2, one function per
 * instruction group). Slots are XMM0..15 or the scratch slots of cpu-state.ts (16 holds a memory
 * or MMX source, 17 a result being assembled); `d` is the destination slot, `s` the source.
 * Element-wise operations write the destination in place (lane i reads only lane i, so d === s
 * is fine); permutations build the result in slot 17 first.
 */
import { CpuState, VEC_RES } from "./cpu-state";

type V = CpuState;
const RB = VEC_RES * 16, RW = VEC_RES * 8, RD = VEC_RES * 4;

/** Copies the result slot to slot d. */
function fromRes(c: V, d: number): void {
  const x = c.vd;
  x[d * 4] = x[RD]!; x[d * 4 + 1] = x[RD + 1]!; x[d * 4 + 2] = x[RD + 2]!; x[d * 4 + 3] = x[RD + 3]!;
}

export function mov(c: V, d: number, s: number): void {
  const x = c.vd;
  x[d * 4] = x[s * 4]!; x[d * 4 + 1] = x[s * 4 + 1]!; x[d * 4 + 2] = x[s * 4 + 2]!; x[d * 4 + 3] = x[s * 4 + 3]!;
}
/** Copies 32-bit lanes [from, from+n) of slot s to the same lanes of slot d. */
export function movLanes(c: V, d: number, s: number, from: number, n: number): void {
  for (let i = from; i < from + n; i++) c.vd[d * 4 + i] = c.vd[s * 4 + i]!;
}
/** Copies n 32-bit lanes of slot s starting at lane sf to slot d at lane df. */
export function movLanesAt(c: V, d: number, df: number, s: number, sf: number, n: number): void {
  if (d === s && df > sf) { for (let i = n - 1; i >= 0; i--) c.vd[d * 4 + df + i] = c.vd[s * 4 + sf + i]!; return; }
  for (let i = 0; i < n; i++) c.vd[d * 4 + df + i] = c.vd[s * 4 + sf + i]!;
}
export function zeroLanes(c: V, d: number, from: number): void {
  for (let i = from; i < 4; i++) c.vd[d * 4 + i] = 0;
}

// ---- logic ----
export function pand(c: V, d: number, s: number): void { const x = c.vd; for (let i = 0; i < 4; i++) x[d * 4 + i] &= x[s * 4 + i]!; }
export function pandn(c: V, d: number, s: number): void { const x = c.vd; for (let i = 0; i < 4; i++) x[d * 4 + i] = ~x[d * 4 + i]! & x[s * 4 + i]!; }
export function por(c: V, d: number, s: number): void { const x = c.vd; for (let i = 0; i < 4; i++) x[d * 4 + i] |= x[s * 4 + i]!; }
export function pxor(c: V, d: number, s: number): void { const x = c.vd; for (let i = 0; i < 4; i++) x[d * 4 + i] ^= x[s * 4 + i]!; }

// ---- add / subtract (wrapping, saturating) ----
export function paddb(c: V, d: number, s: number): void { const x = c.vb; for (let i = 0; i < 16; i++) x[d * 16 + i] = x[d * 16 + i]! + x[s * 16 + i]!; }
export function paddw(c: V, d: number, s: number): void { const x = c.vw; for (let i = 0; i < 8; i++) x[d * 8 + i] = x[d * 8 + i]! + x[s * 8 + i]!; }
export function paddd(c: V, d: number, s: number): void { const x = c.vd; for (let i = 0; i < 4; i++) x[d * 4 + i] = (x[d * 4 + i]! + x[s * 4 + i]!) | 0; }
export function paddq(c: V, d: number, s: number): void {
  const x = c.vd;
  for (let q = 0; q < 2; q++) {
    const a = d * 4 + q * 2, b = s * 4 + q * 2;
    const lo = (x[a]! >>> 0) + (x[b]! >>> 0);
    x[a + 1] = (x[a + 1]! + x[b + 1]! + (lo > 0xffffffff ? 1 : 0)) | 0;
    x[a] = lo | 0;
  }
}
export function psubb(c: V, d: number, s: number): void { const x = c.vb; for (let i = 0; i < 16; i++) x[d * 16 + i] = x[d * 16 + i]! - x[s * 16 + i]!; }
export function psubw(c: V, d: number, s: number): void { const x = c.vw; for (let i = 0; i < 8; i++) x[d * 8 + i] = x[d * 8 + i]! - x[s * 8 + i]!; }
export function psubd(c: V, d: number, s: number): void { const x = c.vd; for (let i = 0; i < 4; i++) x[d * 4 + i] = (x[d * 4 + i]! - x[s * 4 + i]!) | 0; }
export function psubq(c: V, d: number, s: number): void {
  const x = c.vd;
  for (let q = 0; q < 2; q++) {
    const a = d * 4 + q * 2, b = s * 4 + q * 2;
    const borrow = (x[a]! >>> 0) < (x[b]! >>> 0) ? 1 : 0;
    x[a] = (x[a]! - x[b]!) | 0;
    x[a + 1] = (x[a + 1]! - x[b + 1]! - borrow) | 0;
  }
}
const sat = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);
const s8 = (v: number) => (v << 24) >> 24, s16 = (v: number) => (v << 16) >> 16;
export function paddsb(c: V, d: number, s: number): void { const x = c.vb; for (let i = 0; i < 16; i++) x[d * 16 + i] = sat(s8(x[d * 16 + i]!) + s8(x[s * 16 + i]!), -128, 127); }
export function paddsw(c: V, d: number, s: number): void { const x = c.vw; for (let i = 0; i < 8; i++) x[d * 8 + i] = sat(s16(x[d * 8 + i]!) + s16(x[s * 8 + i]!), -32768, 32767); }
export function paddusb(c: V, d: number, s: number): void { const x = c.vb; for (let i = 0; i < 16; i++) x[d * 16 + i] = sat(x[d * 16 + i]! + x[s * 16 + i]!, 0, 255); }
export function paddusw(c: V, d: number, s: number): void { const x = c.vw; for (let i = 0; i < 8; i++) x[d * 8 + i] = sat(x[d * 8 + i]! + x[s * 8 + i]!, 0, 65535); }
export function psubsb(c: V, d: number, s: number): void { const x = c.vb; for (let i = 0; i < 16; i++) x[d * 16 + i] = sat(s8(x[d * 16 + i]!) - s8(x[s * 16 + i]!), -128, 127); }
export function psubsw(c: V, d: number, s: number): void { const x = c.vw; for (let i = 0; i < 8; i++) x[d * 8 + i] = sat(s16(x[d * 8 + i]!) - s16(x[s * 8 + i]!), -32768, 32767); }
export function psubusb(c: V, d: number, s: number): void { const x = c.vb; for (let i = 0; i < 16; i++) x[d * 16 + i] = sat(x[d * 16 + i]! - x[s * 16 + i]!, 0, 255); }
export function psubusw(c: V, d: number, s: number): void { const x = c.vw; for (let i = 0; i < 8; i++) x[d * 8 + i] = sat(x[d * 8 + i]! - x[s * 8 + i]!, 0, 65535); }

// ---- multiply, average, sum of absolute differences ----
export function pmullw(c: V, d: number, s: number): void { const x = c.vw; for (let i = 0; i < 8; i++) x[d * 8 + i] = Math.imul(x[d * 8 + i]!, x[s * 8 + i]!); }
export function pmulhw(c: V, d: number, s: number): void { const x = c.vw; for (let i = 0; i < 8; i++) x[d * 8 + i] = (s16(x[d * 8 + i]!) * s16(x[s * 8 + i]!)) >> 16; }
export function pmulhuw(c: V, d: number, s: number): void { const x = c.vw; for (let i = 0; i < 8; i++) x[d * 8 + i] = (x[d * 8 + i]! * x[s * 8 + i]!) >>> 16; }
/** Unsigned 32x32 → 64 product of lanes 0 and 2 (exact via 16-bit halves). */
export function pmuludq(c: V, d: number, s: number): void {
  const x = c.vd;
  for (let q = 0; q < 2; q++) {
    const a = x[d * 4 + q * 2]! >>> 0, b = x[s * 4 + q * 2]! >>> 0;
    const [lo, hi] = mulU32(a, b);
    x[d * 4 + q * 2] = lo; x[d * 4 + q * 2 + 1] = hi;
  }
}
/** a*b for unsigned 32-bit a, b as [low, high] int32 halves. */
export function mulU32(a: number, b: number): [number, number] {
  const al = a & 0xffff, ah = a >>> 16, bl = b & 0xffff, bh = b >>> 16;
  const ll = al * bl, mid = al * bh + ah * bl; // mid < 2^33
  const lo = ll + (mid % 65536) * 65536;
  const hi = ah * bh + Math.floor(mid / 65536) + Math.floor(lo / 4294967296);
  return [lo | 0, hi | 0];
}
export function pmaddwd(c: V, d: number, s: number): void {
  const w = c.vw;
  for (let i = 0; i < 4; i++) {
    const p = s16(w[d * 8 + 2 * i]!) * s16(w[s * 8 + 2 * i]!) + s16(w[d * 8 + 2 * i + 1]!) * s16(w[s * 8 + 2 * i + 1]!);
    c.vd[d * 4 + i] = p | 0;
  }
}
export function pavgb(c: V, d: number, s: number): void { const x = c.vb; for (let i = 0; i < 16; i++) x[d * 16 + i] = (x[d * 16 + i]! + x[s * 16 + i]! + 1) >> 1; }
export function pavgw(c: V, d: number, s: number): void { const x = c.vw; for (let i = 0; i < 8; i++) x[d * 8 + i] = (x[d * 8 + i]! + x[s * 8 + i]! + 1) >> 1; }
export function psadbw(c: V, d: number, s: number): void {
  const b = c.vb;
  for (let q = 0; q < 2; q++) {
    let sum = 0;
    for (let i = 0; i < 8; i++) sum += Math.abs(b[d * 16 + q * 8 + i]! - b[s * 16 + q * 8 + i]!);
    c.vd[d * 4 + q * 2] = sum; c.vd[d * 4 + q * 2 + 1] = 0;
  }
}

// ---- min / max / compare ----
export function pminub(c: V, d: number, s: number): void { const x = c.vb; for (let i = 0; i < 16; i++) x[d * 16 + i] = Math.min(x[d * 16 + i]!, x[s * 16 + i]!); }
export function pmaxub(c: V, d: number, s: number): void { const x = c.vb; for (let i = 0; i < 16; i++) x[d * 16 + i] = Math.max(x[d * 16 + i]!, x[s * 16 + i]!); }
export function pminsw(c: V, d: number, s: number): void { const x = c.vw; for (let i = 0; i < 8; i++) x[d * 8 + i] = Math.min(s16(x[d * 8 + i]!), s16(x[s * 8 + i]!)); }
export function pmaxsw(c: V, d: number, s: number): void { const x = c.vw; for (let i = 0; i < 8; i++) x[d * 8 + i] = Math.max(s16(x[d * 8 + i]!), s16(x[s * 8 + i]!)); }
export function pcmpeqb(c: V, d: number, s: number): void { const x = c.vb; for (let i = 0; i < 16; i++) x[d * 16 + i] = x[d * 16 + i] === x[s * 16 + i] ? 255 : 0; }
export function pcmpeqw(c: V, d: number, s: number): void { const x = c.vw; for (let i = 0; i < 8; i++) x[d * 8 + i] = x[d * 8 + i] === x[s * 8 + i] ? 65535 : 0; }
export function pcmpeqd(c: V, d: number, s: number): void { const x = c.vd; for (let i = 0; i < 4; i++) x[d * 4 + i] = x[d * 4 + i] === x[s * 4 + i] ? -1 : 0; }
export function pcmpgtb(c: V, d: number, s: number): void { const x = c.vb; for (let i = 0; i < 16; i++) x[d * 16 + i] = s8(x[d * 16 + i]!) > s8(x[s * 16 + i]!) ? 255 : 0; }
export function pcmpgtw(c: V, d: number, s: number): void { const x = c.vw; for (let i = 0; i < 8; i++) x[d * 8 + i] = s16(x[d * 8 + i]!) > s16(x[s * 8 + i]!) ? 65535 : 0; }
export function pcmpgtd(c: V, d: number, s: number): void { const x = c.vd; for (let i = 0; i < 4; i++) x[d * 4 + i] = x[d * 4 + i]! > x[s * 4 + i]! ? -1 : 0; }

// ---- pack (saturating narrowing): the destination's elements first, then the source's ----
function pack(c: V, d: number, s: number, from: "w" | "d", lo: number, hi: number): void {
  if (from === "w") {
    for (let i = 0; i < 8; i++) c.vb[RB + i] = sat(s16(c.vw[d * 8 + i]!), lo, hi);
    for (let i = 0; i < 8; i++) c.vb[RB + 8 + i] = sat(s16(c.vw[s * 8 + i]!), lo, hi);
  } else {
    for (let i = 0; i < 4; i++) c.vw[RW + i] = sat(c.vd[d * 4 + i]!, lo, hi);
    for (let i = 0; i < 4; i++) c.vw[RW + 4 + i] = sat(c.vd[s * 4 + i]!, lo, hi);
  }
  fromRes(c, d);
}
export function packsswb(c: V, d: number, s: number): void { pack(c, d, s, "w", -128, 127); }
export function packuswb(c: V, d: number, s: number): void { pack(c, d, s, "w", 0, 255); }
export function packssdw(c: V, d: number, s: number): void { pack(c, d, s, "d", -32768, 32767); }
export function packusdw(c: V, d: number, s: number): void { pack(c, d, s, "d", 0, 65535); }

// ---- unpack (interleave): `hi` takes the upper halves ----
export function punpckb(c: V, d: number, s: number, hi: boolean): void {
  const o = hi ? 8 : 0, b = c.vb;
  for (let i = 0; i < 8; i++) { b[RB + 2 * i] = b[d * 16 + o + i]!; b[RB + 2 * i + 1] = b[s * 16 + o + i]!; }
  fromRes(c, d);
}
export function punpckw(c: V, d: number, s: number, hi: boolean): void {
  const o = hi ? 4 : 0, w = c.vw;
  for (let i = 0; i < 4; i++) { w[RW + 2 * i] = w[d * 8 + o + i]!; w[RW + 2 * i + 1] = w[s * 8 + o + i]!; }
  fromRes(c, d);
}
export function punpckd(c: V, d: number, s: number, hi: boolean): void {
  const o = hi ? 2 : 0, x = c.vd;
  x[RD] = x[d * 4 + o]!; x[RD + 1] = x[s * 4 + o]!; x[RD + 2] = x[d * 4 + o + 1]!; x[RD + 3] = x[s * 4 + o + 1]!;
  fromRes(c, d);
}
export function punpckq(c: V, d: number, s: number, hi: boolean): void {
  const o = hi ? 2 : 0, x = c.vd;
  x[RD] = x[d * 4 + o]!; x[RD + 1] = x[d * 4 + o + 1]!; x[RD + 2] = x[s * 4 + o]!; x[RD + 3] = x[s * 4 + o + 1]!;
  fromRes(c, d);
}

// ---- shuffles ----
export function pshufd(c: V, d: number, s: number, imm: number): void {
  const x = c.vd;
  for (let i = 0; i < 4; i++) x[RD + i] = x[s * 4 + ((imm >> (2 * i)) & 3)]!;
  fromRes(c, d);
}
/** pshuflw (hi false) / pshufhw (hi true): permute four words of one half, copy the other. */
export function pshufw(c: V, d: number, s: number, imm: number, hi: boolean): void {
  const w = c.vw, o = hi ? 4 : 0, k = hi ? 0 : 4;
  for (let i = 0; i < 4; i++) w[RW + o + i] = w[s * 8 + o + ((imm >> (2 * i)) & 3)]!;
  for (let i = 0; i < 4; i++) w[RW + k + i] = w[s * 8 + k + i]!;
  fromRes(c, d);
}
export function shufps(c: V, d: number, s: number, imm: number): void {
  const x = c.vd;
  x[RD] = x[d * 4 + (imm & 3)]!; x[RD + 1] = x[d * 4 + ((imm >> 2) & 3)]!;
  x[RD + 2] = x[s * 4 + ((imm >> 4) & 3)]!; x[RD + 3] = x[s * 4 + ((imm >> 6) & 3)]!;
  fromRes(c, d);
}
export function shufpd(c: V, d: number, s: number, imm: number): void {
  const x = c.vd, a = (imm & 1) * 2, b = ((imm >> 1) & 1) * 2;
  x[RD] = x[d * 4 + a]!; x[RD + 1] = x[d * 4 + a + 1]!; x[RD + 2] = x[s * 4 + b]!; x[RD + 3] = x[s * 4 + b + 1]!;
  fromRes(c, d);
}

// ---- shifts: count from an immediate or the low 64 bits of a slot ----
/** The shift count in slot s (bits 63:0, unsigned) clamped to 255 (every count ≥ the width acts alike). */
export function countOf(c: V, s: number): number {
  return c.vd[s * 4 + 1] !== 0 || (c.vd[s * 4]! >>> 0) > 255 ? 255 : c.vd[s * 4]!;
}
export function psllw(c: V, d: number, n: number): void { const w = c.vw; for (let i = 0; i < 8; i++) w[d * 8 + i] = n > 15 ? 0 : w[d * 8 + i]! << n; }
export function psrlw(c: V, d: number, n: number): void { const w = c.vw; for (let i = 0; i < 8; i++) w[d * 8 + i] = n > 15 ? 0 : w[d * 8 + i]! >>> n; }
export function psraw(c: V, d: number, n: number): void { const w = c.vw; for (let i = 0; i < 8; i++) w[d * 8 + i] = s16(w[d * 8 + i]!) >> Math.min(n, 15); }
export function pslld(c: V, d: number, n: number): void { const x = c.vd; for (let i = 0; i < 4; i++) x[d * 4 + i] = n > 31 ? 0 : x[d * 4 + i]! << n; }
export function psrld(c: V, d: number, n: number): void { const x = c.vd; for (let i = 0; i < 4; i++) x[d * 4 + i] = n > 31 ? 0 : x[d * 4 + i]! >>> n; }
export function psrad(c: V, d: number, n: number): void { const x = c.vd; for (let i = 0; i < 4; i++) x[d * 4 + i] = x[d * 4 + i]! >> Math.min(n, 31); }
export function psllq(c: V, d: number, n: number): void {
  const x = c.vd;
  for (let q = 0; q < 2; q++) {
    const a = d * 4 + q * 2, lo = x[a]!, hi = x[a + 1]!;
    if (n > 63) { x[a] = 0; x[a + 1] = 0; } else if (n >= 32) { x[a + 1] = lo << (n - 32); x[a] = 0; } else if (n > 0) { x[a + 1] = (hi << n) | (lo >>> (32 - n)); x[a] = lo << n; }
  }
}
export function psrlq(c: V, d: number, n: number): void {
  const x = c.vd;
  for (let q = 0; q < 2; q++) {
    const a = d * 4 + q * 2, lo = x[a]!, hi = x[a + 1]!;
    if (n > 63) { x[a] = 0; x[a + 1] = 0; } else if (n >= 32) { x[a] = hi >>> (n - 32); x[a + 1] = 0; } else if (n > 0) { x[a] = (lo >>> n) | (hi << (32 - n)); x[a + 1] = hi >>> n; }
  }
}
/** Byte shifts of the whole register (pslldq/psrldq): counts above 15 clear it. */
export function pslldq(c: V, d: number, n: number): void {
  const b = c.vb;
  for (let i = 15; i >= 0; i--) b[d * 16 + i] = i - n >= 0 ? b[d * 16 + i - n]! : 0;
}
export function psrldq(c: V, d: number, n: number): void {
  const b = c.vb;
  for (let i = 0; i < 16; i++) b[d * 16 + i] = i + n < 16 ? b[d * 16 + i + n]! : 0;
}

// ---- masks and word extract/insert ----
export function pmovmskb(c: V, s: number): number {
  let m = 0;
  for (let i = 0; i < 16; i++) m |= (c.vb[s * 16 + i]! >> 7) << i;
  return m;
}
export function movmskps(c: V, s: number): number {
  let m = 0;
  for (let i = 0; i < 4; i++) m |= (c.vd[s * 4 + i]! >>> 31) << i;
  return m;
}
export function movmskpd(c: V, s: number): number {
  return (c.vd[s * 4 + 1]! >>> 31) | ((c.vd[s * 4 + 3]! >>> 31) << 1);
}
