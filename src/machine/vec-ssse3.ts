/**
 * SSE3, SSSE3 and SSE4.1/4.2 integer semantics on 128-bit slots (SDM Vol. 2; slot conventions
 * as vec-int.ts: d destination, s source, slot 17 the result being built).
 */
import { VEC_RES, VEC_SRC } from "./cpu-state";
import type { CpuState } from "./cpu-state";
import { mulU32 } from "./vec-int";

type V = CpuState;
const RB = VEC_RES * 16, RW = VEC_RES * 8, RD = VEC_RES * 4;
const s8 = (v: number) => (v << 24) >> 24, s16 = (v: number) => (v << 16) >> 16;
const sat = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);
function fromRes(c: V, d: number): void {
  const x = c.vd;
  x[d * 4] = x[RD]!; x[d * 4 + 1] = x[RD + 1]!; x[d * 4 + 2] = x[RD + 2]!; x[d * 4 + 3] = x[RD + 3]!;
}

// ---- SSE3 moves ----
export function movddup(c: V, d: number, s: number): void { const x = c.vd; x[RD] = x[s * 4]!; x[RD + 1] = x[s * 4 + 1]!; x[RD + 2] = x[s * 4]!; x[RD + 3] = x[s * 4 + 1]!; fromRes(c, d); }
export function movshdup(c: V, d: number, s: number): void { const x = c.vd; x[RD] = x[s * 4 + 1]!; x[RD + 1] = x[s * 4 + 1]!; x[RD + 2] = x[s * 4 + 3]!; x[RD + 3] = x[s * 4 + 3]!; fromRes(c, d); }
export function movsldup(c: V, d: number, s: number): void { const x = c.vd; x[RD] = x[s * 4]!; x[RD + 1] = x[s * 4]!; x[RD + 2] = x[s * 4 + 2]!; x[RD + 3] = x[s * 4 + 2]!; fromRes(c, d); }

// ---- SSSE3 ----
export function pshufb(c: V, d: number, s: number): void {
  const b = c.vb;
  for (let i = 0; i < 16; i++) { const k = b[s * 16 + i]!; b[RB + i] = k & 0x80 ? 0 : b[d * 16 + (k & 15)]!; }
  fromRes(c, d);
}
export function palignr(c: V, d: number, s: number, imm: number): void {
  const b = c.vb; // concatenation d:s (d high), shifted right by imm bytes
  for (let i = 0; i < 16; i++) { const k = i + imm; b[RB + i] = k < 16 ? b[s * 16 + k]! : k < 32 ? b[d * 16 + k - 16]! : 0; }
  fromRes(c, d);
}
export function pabsb(c: V, d: number, s: number): void { for (let i = 0; i < 16; i++) c.vb[d * 16 + i] = Math.abs(s8(c.vb[s * 16 + i]!)); }
export function pabsw(c: V, d: number, s: number): void { for (let i = 0; i < 8; i++) c.vw[d * 8 + i] = Math.abs(s16(c.vw[s * 8 + i]!)); }
export function pabsd(c: V, d: number, s: number): void { for (let i = 0; i < 4; i++) c.vd[d * 4 + i] = Math.abs(c.vd[s * 4 + i]!) | 0; }
export function psignb(c: V, d: number, s: number): void { for (let i = 0; i < 16; i++) { const k = s8(c.vb[s * 16 + i]!); c.vb[d * 16 + i] = k < 0 ? -c.vb[d * 16 + i]! : k === 0 ? 0 : c.vb[d * 16 + i]!; } }
export function psignw(c: V, d: number, s: number): void { for (let i = 0; i < 8; i++) { const k = s16(c.vw[s * 8 + i]!); c.vw[d * 8 + i] = k < 0 ? -c.vw[d * 8 + i]! : k === 0 ? 0 : c.vw[d * 8 + i]!; } }
export function psignd(c: V, d: number, s: number): void { for (let i = 0; i < 4; i++) { const k = c.vd[s * 4 + i]!; c.vd[d * 4 + i] = k < 0 ? -c.vd[d * 4 + i]! | 0 : k === 0 ? 0 : c.vd[d * 4 + i]!; } }
/** phaddw/phsubw/phaddsw/phsubsw (w) and phaddd/phsubd (d): pairs of d, then pairs of s. */
export function phw(c: V, d: number, s: number, sub: boolean, saturate: boolean): void {
  const w = c.vw;
  for (let i = 0; i < 8; i++) {
    const src = i < 4 ? d : s, k = (i & 3) * 2;
    const a = s16(w[src * 8 + k]!), b = s16(w[src * 8 + k + 1]!);
    const r = sub ? a - b : a + b;
    w[RW + i] = saturate ? sat(r, -32768, 32767) : r;
  }
  fromRes(c, d);
}
export function phd(c: V, d: number, s: number, sub: boolean): void {
  const x = c.vd;
  for (let i = 0; i < 4; i++) { const src = i < 2 ? d : s, k = (i & 1) * 2; x[RD + i] = (sub ? x[src * 4 + k]! - x[src * 4 + k + 1]! : x[src * 4 + k]! + x[src * 4 + k + 1]!) | 0; }
  fromRes(c, d);
}
export function pmaddubsw(c: V, d: number, s: number): void {
  const b = c.vb;
  for (let i = 0; i < 8; i++) {
    const r = b[d * 16 + 2 * i]! * s8(b[s * 16 + 2 * i]!) + b[d * 16 + 2 * i + 1]! * s8(b[s * 16 + 2 * i + 1]!);
    c.vw[RW + i] = sat(r, -32768, 32767);
  }
  fromRes(c, d);
}
export function pmulhrsw(c: V, d: number, s: number): void {
  for (let i = 0; i < 8; i++) c.vw[d * 8 + i] = (((s16(c.vw[d * 8 + i]!) * s16(c.vw[s * 8 + i]!)) >> 14) + 1) >> 1;
}

// ---- SSE4.1 ----
export function pminsb(c: V, d: number, s: number): void { for (let i = 0; i < 16; i++) c.vb[d * 16 + i] = Math.min(s8(c.vb[d * 16 + i]!), s8(c.vb[s * 16 + i]!)); }
export function pmaxsb(c: V, d: number, s: number): void { for (let i = 0; i < 16; i++) c.vb[d * 16 + i] = Math.max(s8(c.vb[d * 16 + i]!), s8(c.vb[s * 16 + i]!)); }
export function pminuw(c: V, d: number, s: number): void { for (let i = 0; i < 8; i++) c.vw[d * 8 + i] = Math.min(c.vw[d * 8 + i]!, c.vw[s * 8 + i]!); }
export function pmaxuw(c: V, d: number, s: number): void { for (let i = 0; i < 8; i++) c.vw[d * 8 + i] = Math.max(c.vw[d * 8 + i]!, c.vw[s * 8 + i]!); }
export function pminsd(c: V, d: number, s: number): void { for (let i = 0; i < 4; i++) c.vd[d * 4 + i] = Math.min(c.vd[d * 4 + i]!, c.vd[s * 4 + i]!); }
export function pmaxsd(c: V, d: number, s: number): void { for (let i = 0; i < 4; i++) c.vd[d * 4 + i] = Math.max(c.vd[d * 4 + i]!, c.vd[s * 4 + i]!); }
export function pminud(c: V, d: number, s: number): void { for (let i = 0; i < 4; i++) c.vd[d * 4 + i] = Math.min(c.vd[d * 4 + i]! >>> 0, c.vd[s * 4 + i]! >>> 0) | 0; }
export function pmaxud(c: V, d: number, s: number): void { for (let i = 0; i < 4; i++) c.vd[d * 4 + i] = Math.max(c.vd[d * 4 + i]! >>> 0, c.vd[s * 4 + i]! >>> 0) | 0; }
export function pmulld(c: V, d: number, s: number): void { for (let i = 0; i < 4; i++) c.vd[d * 4 + i] = Math.imul(c.vd[d * 4 + i]!, c.vd[s * 4 + i]!); }
/** Signed 32x32 → 64 of lanes 0 and 2. */
export function pmuldq(c: V, d: number, s: number): void {
  const x = c.vd;
  for (let q = 0; q < 2; q++) {
    const a = x[d * 4 + q * 2]!, b = x[s * 4 + q * 2]!;
    let [lo, hi] = mulU32(Math.abs(a), Math.abs(b));
    if ((a < 0) !== (b < 0) && (lo !== 0 || hi !== 0)) { lo = -lo | 0; hi = (~hi + (lo === 0 ? 1 : 0)) | 0; }
    x[d * 4 + q * 2] = lo; x[d * 4 + q * 2 + 1] = hi;
  }
}
export function pcmpeqq(c: V, d: number, s: number): void {
  const x = c.vd;
  for (let q = 0; q < 2; q++) { const e = x[d * 4 + 2 * q] === x[s * 4 + 2 * q] && x[d * 4 + 2 * q + 1] === x[s * 4 + 2 * q + 1] ? -1 : 0; x[d * 4 + 2 * q] = e; x[d * 4 + 2 * q + 1] = e; }
}
export function pcmpgtq(c: V, d: number, s: number): void {
  const x = c.vd;
  for (let q = 0; q < 2; q++) {
    const ah = x[d * 4 + 2 * q + 1]!, bh = x[s * 4 + 2 * q + 1]!;
    const gt = ah > bh || (ah === bh && (x[d * 4 + 2 * q]! >>> 0) > (x[s * 4 + 2 * q]! >>> 0)) ? -1 : 0;
    x[d * 4 + 2 * q] = gt; x[d * 4 + 2 * q + 1] = gt;
  }
}
/** Blends: lane i from s where the mask bit (imm, or the sign of XMM0's element) is set. */
export function blendBytes(c: V, d: number, s: number, mask: (i: number) => boolean, width: number): void {
  const b = c.vb;
  for (let i = 0; i < 16 / width; i++) if (mask(i)) for (let k = 0; k < width; k++) b[d * 16 + i * width + k] = b[s * 16 + i * width + k]!;
}
export function pblendvb(c: V, d: number, s: number): void { blendBytes(c, d, s, (i) => (c.vb[i]! & 0x80) !== 0, 1); }
export function blendvps(c: V, d: number, s: number): void { blendBytes(c, d, s, (i) => c.vd[i]! < 0, 4); }
export function blendvpd(c: V, d: number, s: number): void { blendBytes(c, d, s, (i) => c.vd[2 * i + 1]! < 0, 8); }
export function pblendw(c: V, d: number, s: number, imm: number): void { blendBytes(c, d, s, (i) => ((imm >> i) & 1) !== 0, 2); }
export function blendps(c: V, d: number, s: number, imm: number): void { blendBytes(c, d, s, (i) => ((imm >> i) & 1) !== 0, 4); }
export function blendpd(c: V, d: number, s: number, imm: number): void { blendBytes(c, d, s, (i) => ((imm >> i) & 1) !== 0, 8); }
/** pmovsx/pmovzx: `from`-byte elements of the low part of s widened to `to` bytes. */
export function pmovx(c: V, d: number, s: number, from: number, to: number, signed: boolean): void {
  const b = c.vb, n = 16 / to;
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (let k = 0; k < from; k++) v |= b[s * 16 + i * from + k]! << (8 * k);
    const neg = signed && (b[s * 16 + i * from + from - 1]! & 0x80) !== 0;
    for (let k = 0; k < to; k++) b[RB + i * to + k] = k < from ? (v >>> (8 * k)) & 255 : neg ? 255 : 0;
  }
  fromRes(c, d);
}
/** ptest: ZF = (d AND s) == 0, CF = (NOT d AND s) == 0; the other arithmetic flags cleared. */
export function ptest(c: V, d: number, s: number): number {
  let z = 0, cf = 0;
  for (let i = 0; i < 4; i++) { z |= c.vd[d * 4 + i]! & c.vd[s * 4 + i]!; cf |= ~c.vd[d * 4 + i]! & c.vd[s * 4 + i]!; }
  return (z === 0 ? 0x40 : 0) | (cf === 0 ? 1 : 0);
}
export function phminposuw(c: V, d: number, s: number): void {
  let m = 0xffff, at = 0;
  for (let i = 0; i < 8; i++) { const v = c.vw[s * 8 + i]!; if (v < m) { m = v; at = i; } }
  c.vd[d * 4] = m | (at << 16); c.vd[d * 4 + 1] = 0; c.vd[d * 4 + 2] = 0; c.vd[d * 4 + 3] = 0;
}
/** insertps: element (imm 7:6) of s (or lane 0 of a memory source) into lane imm 5:4, zero mask imm 3:0. */
export function insertps(c: V, d: number, s: number, imm: number): void {
  const v = c.vd[s * 4 + (s === VEC_SRC ? 0 : (imm >> 6) & 3)]!;
  c.vd[d * 4 + ((imm >> 4) & 3)] = v;
  for (let i = 0; i < 4; i++) if ((imm >> i) & 1) c.vd[d * 4 + i] = 0;
}

// ---- SSE4.2 crc32 (CRC-32C, reflected polynomial 0x82F63B78) ----
const CRC32C = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) { let k = n; for (let i = 0; i < 8; i++) k = k & 1 ? (k >>> 1) ^ 0x82f63b78 : k >>> 1; t[n] = k; }
  return t;
})();
/** crc32 of `bytes` bytes of value lo:hi into crc. */
export function crc32(crc: number, lo: number, hi: number, bytes: number): number {
  for (let i = 0; i < bytes; i++) {
    const b = (i < 4 ? lo >>> (8 * i) : hi >>> (8 * (i - 4))) & 255;
    crc = CRC32C[(crc ^ b) & 255]! ^ (crc >>> 8);
  }
  return crc | 0;
}
/** mpsadbw: word i = Σk |d[a+i+k] − s[b+k]|, a = imm[2]·4 bytes into d, b = imm[1:0]·4 bytes into s. */
export function mpsadbw(c: V, d: number, s: number, imm: number): void {
  const b = c.vb, a = ((imm >> 2) & 1) * 4, o = (imm & 3) * 4;
  for (let i = 0; i < 8; i++) {
    let sum = 0;
    for (let k = 0; k < 4; k++) sum += Math.abs(b[d * 16 + a + i + k]! - b[s * 16 + o + k]!);
    c.vw[RW + i] = sum;
  }
  fromRes(c, d);
}
