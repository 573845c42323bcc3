/**
 * MMX (SDM Vol. 1 ch. 9): MM0..MM7 are the significands (bits 63:0) of the physical x87
 * registers R0..R7 (cpu-state.ts fpr), not of ST(i). Every MMX instruction but EMMS sets TOP to
 * 0 and tags all eight registers valid; a write to MMi also sets bits 79:64 of Ri to all ones;
 * the x87 control word, the other status bits and FIP/FDP/FOP are unchanged (§9.5.1 Table 9-2).
 * EMMS tags all registers empty (and also leaves TOP 0). Before any of that: CR0.EM is #UD, CR0.TS #NM, and a pending
 * unmasked x87 exception (FSW.ES) #MF with CR0.NE, as for the waiting x87 instructions.
 *
 * The integer operations themselves are the 128-bit ones of vec-int.ts/vec-ssse3.ts run on a
 * widened copy: an MM register is copied into the low half of a scratch slot (VEC_MM_D/S,
 * upper half zero), the lane-wise operation runs there, and the low 64 bits are written back.
 * The few operations whose lanes cross the 64-bit boundary (packs, high unpacks, pshufb,
 * palignr, horizontal adds, pshufw) have their own 64-bit forms below.
 */
import { VEC_MM_D, VEC_MM_S, VEC_RES } from "./cpu-state";
import type { CpuState } from "./cpu-state";
import { GuestFault, Vector } from "./exits";
import { CR0_EM, CR0_NE, CR0_TS } from "./registers";

type V = CpuState;
const FSW_ES = 0x80, FSW_TOP = 0x3800;
const s16 = (v: number) => (v << 16) >> 16;
const sat = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);

/** The exception checks of every MMX instruction (SDM Vol. 3A Table 2-2, Vol. 2 "Numeric Exceptions"). */
export function mmxCheck(c: V): void {
  if (c.cr0 & CR0_EM) throw new GuestFault(Vector.UD, undefined, "MMX instruction with CR0.EM set");
  if (c.cr0 & CR0_TS) throw new GuestFault(Vector.NM, undefined, "MMX instruction with CR0.TS set");
  if ((c.fsw & FSW_ES) && (c.cr0 & CR0_NE)) throw new GuestFault(Vector.MF, undefined, "MMX instruction with an x87 exception pending");
}

/** The x87 → MMX transition: TOP = 0, every register tagged valid. */
export function mmxEnter(c: V): void {
  c.fsw &= ~FSW_TOP;
  c.ftw = 0;
}

/** emms: every register tagged empty; TOP reads 0 afterwards on the host as after any MMX instruction. */
export function emms(c: V): void {
  c.fsw &= ~FSW_TOP;
  c.ftw = 0xffff;
}

/** MMm into the low half of slot, the upper half zero. */
export function mmGet(c: V, slot: number, m: number): void {
  const w = c.vw, f = c.fpr;
  for (let k = 0; k < 4; k++) { w[slot * 8 + k] = f[m * 5 + k]!; w[slot * 8 + 4 + k] = 0; }
}

/** The low half of slot into MMm (bits 79:64 all ones), and the transition. */
export function mmPut(c: V, m: number, slot: number): void {
  const w = c.vw, f = c.fpr;
  for (let k = 0; k < 4; k++) f[m * 5 + k] = w[slot * 8 + k]!;
  f[m * 5 + 4] = 0xffff;
  mmxEnter(c);
}

/** MMm from a 64-bit value (hi:lo), zero-extended when hi is 0. */
export function mmSet(c: V, m: number, lo: number, hi: number): void {
  const f = c.fpr;
  f[m * 5] = lo & 0xffff; f[m * 5 + 1] = lo >>> 16; f[m * 5 + 2] = hi & 0xffff; f[m * 5 + 3] = hi >>> 16;
  f[m * 5 + 4] = 0xffff;
  mmxEnter(c);
}

/** Dword k (0 or 1) of MMm, for moves to general registers and memory. */
export function mmDword(c: V, m: number, k: number): number {
  return (c.fpr[m * 5 + 2 * k]! | (c.fpr[m * 5 + 2 * k + 1]! << 16)) | 0;
}

// ---- operations whose lanes cross the 64-bit boundary: d is VEC_MM_D, s a widened source ----

/** Copies the low 8 bytes of the result slot to d. */
function fromRes(c: V, d: number): void {
  const x = c.vd;
  x[d * 4] = x[VEC_RES * 4]!; x[d * 4 + 1] = x[VEC_RES * 4 + 1]!;
}

/** packsswb/packuswb (words → bytes) and packssdw (dwords → words): d's elements, then s's. */
export function pack64(c: V, d: number, s: number, words: boolean, lo: number, hi: number): void {
  const R = VEC_RES;
  if (words) {
    for (let i = 0; i < 4; i++) { c.vb[R * 16 + i] = sat(s16(c.vw[d * 8 + i]!), lo, hi); c.vb[R * 16 + 4 + i] = sat(s16(c.vw[s * 8 + i]!), lo, hi); }
  } else {
    for (let i = 0; i < 2; i++) { c.vw[R * 8 + i] = sat(c.vd[d * 4 + i]!, lo, hi); c.vw[R * 8 + 2 + i] = sat(c.vd[s * 4 + i]!, lo, hi); }
  }
  fromRes(c, d);
}

/** punpckl/punpckh of e-byte elements (1, 2, 4) within 64 bits: d's and s's low or high halves interleaved. */
export function unpack64(c: V, d: number, s: number, e: number, hi: boolean): void {
  const b = c.vb, R = VEC_RES * 16, n = 4 / e, base = hi ? 4 : 0;
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < e; j++) {
      b[R + 2 * k * e + j] = b[d * 16 + base + k * e + j]!;
      b[R + (2 * k + 1) * e + j] = b[s * 16 + base + k * e + j]!;
    }
  }
  fromRes(c, d);
}

export function pshufb64(c: V, d: number, s: number): void {
  const b = c.vb;
  for (let i = 0; i < 8; i++) { const k = b[s * 16 + i]!; b[VEC_RES * 16 + i] = k & 0x80 ? 0 : b[d * 16 + (k & 7)]!; }
  fromRes(c, d);
}

/** palignr: the 16-byte concatenation d:s (d high) shifted right by imm bytes. */
export function palignr64(c: V, d: number, s: number, imm: number): void {
  const b = c.vb;
  for (let i = 0; i < 8; i++) { const k = i + imm; b[VEC_RES * 16 + i] = k < 8 ? b[s * 16 + k]! : k < 16 ? b[d * 16 + k - 8]! : 0; }
  fromRes(c, d);
}

/** phaddw/phsubw/phaddsw/phsubsw: the pairs of d, then the pairs of s. */
export function phw64(c: V, d: number, s: number, sub: boolean, saturate: boolean): void {
  const w = c.vw;
  for (let i = 0; i < 4; i++) {
    const src = i < 2 ? d : s, k = (i & 1) * 2;
    const a = s16(w[src * 8 + k]!), b = s16(w[src * 8 + k + 1]!);
    const r = sub ? a - b : a + b;
    w[VEC_RES * 8 + i] = saturate ? sat(r, -32768, 32767) : r;
  }
  fromRes(c, d);
}

/** phaddd/phsubd: d's pair, then s's pair. */
export function phd64(c: V, d: number, s: number, sub: boolean): void {
  const x = c.vd;
  x[VEC_RES * 4] = (sub ? x[d * 4]! - x[d * 4 + 1]! : x[d * 4]! + x[d * 4 + 1]!) | 0;
  x[VEC_RES * 4 + 1] = (sub ? x[s * 4]! - x[s * 4 + 1]! : x[s * 4]! + x[s * 4 + 1]!) | 0;
  fromRes(c, d);
}

/** pshufw: word i of d ← word imm[2i+1:2i] of s. */
export function pshufw64(c: V, d: number, s: number, imm: number): void {
  const w = c.vw;
  for (let i = 0; i < 4; i++) w[VEC_RES * 8 + i] = w[s * 8 + ((imm >> (2 * i)) & 3)]!;
  fromRes(c, d);
}

/** pmovmskb r32, mm: the 8 byte sign bits. */
export function pmovmskb64(c: V, m: number): number {
  let r = 0;
  for (let k = 0; k < 4; k++) { const w = c.fpr[m * 5 + k]!; r |= ((w >> 7) & 1) << (2 * k) | ((w >> 15) & 1) << (2 * k + 1); }
  return r;
}

/** maskmovq: the bytes of MMd whose selector byte in MMs has its top bit set are stored at ea (DS:rDI). */
export function maskmovq(c: V & { w8(ea: number, v: number): void }, ea: number, d: number, s: number): void {
  mmGet(c, VEC_MM_D, d); mmGet(c, VEC_MM_S, s);
  for (let i = 0; i < 8; i++) if (c.vb[VEC_MM_S * 16 + i]! & 0x80) c.w8(ea + i, c.vb[VEC_MM_D * 16 + i]!);
  mmxEnter(c);
}

