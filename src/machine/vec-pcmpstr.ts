/**
 * SSE4.2 packed string compares, PCMPESTRI/PCMPESTRM/PCMPISTRI/PCMPISTRM (SDM Vol. 1 §12.10.x
 * and Vol. 2B §4.1 "Imm8 Control Byte Operation for PCMPESTRI / PCMPESTRM / PCMPISTRI /
 * PCMPISTRM"). Operand 1 (an XMM register) is the set/ranges/needle, operand 2 (XMM or m128,
 * never alignment-checked) the text. imm8 selects:
 *   1:0 source format  — 00 unsigned bytes, 01 unsigned words, 10 signed bytes, 11 signed words
 *   3:2 aggregation    — 00 equal any, 01 ranges, 10 equal each, 11 equal ordered
 *   5:4 polarity       — 00 positive, 01 negative, 10 masked(+), 11 masked(−)
 *   6   output         — index: least (0) or most (1) significant set bit; mask: bit mask (0)
 *                        or one all-ones element per set bit (1)
 * Lengths are explicit (|EAX|, |EDX|, or |RAX|, |RDX| with REX.W, saturated at 16 bytes /
 * 8 words) or implicit (up to the first null element). Invalid elements (past a length) force
 * the per-pair result as Table 4-7 says, which is what makes the instructions string functions.
 */
import type { CpuState } from "./cpu-state";

type V = CpuState;
const CF = 0x1, ZF = 0x40, SF = 0x80, OF = 0x800;

function element(c: V, slot: number, i: number, imm: number): number {
  if (imm & 1) { const w = c.vw[slot * 8 + i]!; return imm & 2 ? (w << 16) >> 16 : w; }
  const b = c.vb[slot * 16 + i]!;
  return imm & 2 ? (b << 24) >> 24 : b;
}

/** |value| of a 32-bit (hi undefined) or 64-bit signed length register, saturated at `ub`. */
export function explicitLength(lo: number, hi: number | undefined, ub: number): number {
  const v = hi === undefined ? lo | 0 : (hi | 0) * 4294967296 + (lo >>> 0);
  const a = Math.abs(v);
  return a > ub ? ub : a;
}

/** Elements before the first null one (the implicit-length forms). */
export function implicitLength(c: V, slot: number, imm: number, ub: number): number {
  for (let i = 0; i < ub; i++) if (element(c, slot, i, imm) === 0) return i;
  return ub;
}

/**
 * IntRes2 of one compare (bit i for element i) and the flags, for register a (operand 1) of
 * length la and slot b (operand 2) of length lb. Returned as `intRes2 | flags << 16`.
 */
export function pcmpstr(c: V, a: number, la: number, b: number, lb: number, imm: number): number {
  const ub = imm & 1 ? 8 : 16;
  const A: number[] = [], B: number[] = [];
  for (let i = 0; i < ub; i++) { A.push(element(c, a, i, imm)); B.push(element(c, b, i, imm)); }
  let res1 = 0;
  switch ((imm >> 2) & 3) {
    case 0: // equal any: text element j equals some valid set element
      for (let j = 0; j < lb; j++) for (let i = 0; i < la; i++) if (A[i] === B[j]) { res1 |= 1 << j; break; }
      break;
    case 1: // ranges: lower bound at even i, upper at odd i; a pair with an invalid half is false
      for (let j = 0; j < lb; j++) {
        for (let i = 0; i + 1 < la; i += 2) if (B[j]! >= A[i]! && B[j]! <= A[i + 1]!) { res1 |= 1 << j; break; }
      }
      break;
    case 2: // equal each: both invalid → true, one invalid → false
      for (let i = 0; i < ub; i++) {
        const va = i < la, vb = i < lb;
        if (va && vb ? A[i] === B[i] : !va && !vb) res1 |= 1 << i;
      }
      break;
    case 3: // equal ordered: the needle (operand 1) matches the text from j; a needle element
      // past la matches anything, a valid one against text past lb does not, and the needle
      // is cut at the register's end (a prefix matching at the end counts)
      for (let j = 0; j < ub; j++) {
        let m = true;
        for (let k = 0; j + k < ub && k < la; k++) if (j + k >= lb || A[k] !== B[j + k]) { m = false; break; }
        if (m) res1 |= 1 << j;
      }
      break;
  }
  const full = (1 << ub) - 1;
  let res2 = res1;
  switch ((imm >> 4) & 3) {
    case 1: res2 = ~res1 & full; break;
    case 3: res2 = res1 ^ ((1 << lb) - 1); break;
  }
  const flags = (res2 !== 0 ? CF : 0) | (lb < ub ? ZF : 0) | (la < ub ? SF : 0) | (res2 & 1 ? OF : 0);
  return res2 | (flags << 16);
}

/** The index form: ECX ← least or most significant set bit of IntRes2, or the element count. */
export function strIndex(r: number, imm: number): number {
  const res2 = r & 0xffff;
  if (res2 === 0) return imm & 1 ? 8 : 16;
  return imm & 0x40 ? 31 - Math.clz32(res2) : 31 - Math.clz32(res2 & -res2);
}

/** The mask form: XMM0 ← IntRes2 as bits (zero-extended) or as all-ones bytes/words. */
export function strMask(c: V, r: number, imm: number): void {
  const res2 = r & 0xffff;
  if (imm & 0x40) {
    if (imm & 1) for (let i = 0; i < 8; i++) c.vw[i] = (res2 >> i) & 1 ? 0xffff : 0;
    else for (let i = 0; i < 16; i++) c.vb[i] = (res2 >> i) & 1 ? 0xff : 0;
  } else {
    c.vd[0] = res2; c.vd[1] = 0; c.vd[2] = 0; c.vd[3] = 0;
  }
}
