/**
 * Out-of-line semantics for the instructions that are too long to inline in generated blocks:
 * shifts/rotates, multiply/divide, bit scans, string operations. Results come back as the low
 * half (return value) with the high half in `c.tH`; flags are stored eagerly here.
 *
 * Flag rules follow the Intel SDM Vol. 2 "Flags Affected" sections; values the SDM leaves
 * undefined are computed in one fixed way (tests mask them).
 */
import { GuestFault, Vector } from "./exits";
import { AF, CF, OF, PARITY, SF, ZF } from "./flags";
import type { Vcpu } from "./vcpu";
import { N, W, neg128, smul64, udiv128, umul64 } from "./wide";
/** For generated code (emit/mul64.ts computes flags inline). */
export { PARITY } from "./flags";

const TWO32 = 4294967296;
let gH = 0;

function szf(lo: number, hi: number, size: number): number {
  let f = PARITY[lo & 255]!;
  if (size === 8) {
    if ((lo | hi) === 0) f |= ZF;
    if (hi < 0) f |= SF;
  } else {
    const bits = size * 8;
    const m = bits === 32 ? -1 : (1 << bits) - 1;
    if ((lo & m) === 0) f |= ZF;
    if ((lo >>> (bits - 1)) & 1) f |= SF;
  }
  return f;
}

function mask(v: number, size: number): number {
  return size === 4 ? v | 0 : size === 2 ? v & 0xffff : v & 0xff;
}

/** Bit k (0..63) of a 64-bit value. */
function bit64(lo: number, hi: number, k: number): number {
  return k < 32 ? (lo >>> k) & 1 : (hi >>> (k - 32)) & 1;
}

function shl64(lo: number, hi: number, n: number): number {
  if (n === 0) { gH = hi; return lo; }
  if (n < 32) { gH = (hi << n) | (lo >>> (32 - n)); return lo << n; }
  gH = n === 32 ? lo : n < 64 ? lo << (n - 32) : 0;
  return 0;
}
function shr64(lo: number, hi: number, n: number): number {
  if (n === 0) { gH = hi; return lo; }
  if (n < 32) { gH = hi >>> n; return (lo >>> n) | (hi << (32 - n)); }
  gH = 0;
  return n === 32 ? hi : n < 64 ? hi >>> (n - 32) : 0;
}
function sar64(lo: number, hi: number, n: number): number {
  if (n === 0) { gH = hi; return lo; }
  if (n < 32) { gH = hi >> n; return (lo >>> n) | (hi << (32 - n)); }
  gH = hi >> 31;
  return n === 32 ? hi : hi >> (n - 32);
}

export const enum ShiftOp { Rol = 0, Ror = 1, Rcl = 2, Rcr = 3, Shl = 4, Shr = 5, Sal = 6, Sar = 7 }

/** Shifts and rotates of size 1/2/4/8 bytes by `count` (masked here as the CPU does). */
export function shift(c: Vcpu, op: number, lo: number, hi: number, count: number, size: number): number {
  const bits = size * 8;
  const n = count & (size === 8 ? 63 : 31);
  if (n === 0) { c.tH = hi; return lo; }
  const f0 = c.getFlags();
  let rl: number, rh = 0, cf: number, of: number;
  switch (op) {
    case ShiftOp.Shl: case ShiftOp.Sal: {
      if (size === 8) { rl = shl64(lo, hi, n); rh = gH; cf = bit64(lo, hi, 64 - n); of = ((rh >>> 31) & 1) ^ cf; }
      else {
        rl = mask(n < 32 ? lo << n : 0, size);
        cf = n <= bits ? (lo >>> (bits - n)) & 1 : 0;
        of = ((rl >>> (bits - 1)) & 1) ^ cf;
      }
      c.setArith(szf(rl, rh, size) | (cf ? CF : 0) | (of ? OF : 0));
      break;
    }
    case ShiftOp.Shr: {
      if (size === 8) { rl = shr64(lo, hi, n); rh = gH; cf = bit64(lo, hi, n - 1); of = (hi >>> 31) & 1; }
      else {
        const a = size === 4 ? lo >>> 0 : lo;
        rl = mask(n < 32 ? a >>> n : 0, size);
        cf = n <= bits ? (a >>> (n - 1)) & 1 : 0;
        of = (a >>> (bits - 1)) & 1;
      }
      c.setArith(szf(rl, rh, size) | (cf ? CF : 0) | (of ? OF : 0));
      break;
    }
    case ShiftOp.Sar: {
      if (size === 8) { rl = sar64(lo, hi, n); rh = gH; cf = n - 1 < 64 ? bit64(lo, hi, n - 1) : (hi >>> 31) & 1; }
      else {
        const a = size === 4 ? lo | 0 : size === 2 ? (lo << 16) >> 16 : (lo << 24) >> 24;
        rl = mask(a >> Math.min(n, 31), size);
        cf = (a >> Math.min(n - 1, 31)) & 1;
      }
      c.setArith(szf(rl, rh, size) | (cf ? CF : 0));
      break;
    }
    case ShiftOp.Rol: case ShiftOp.Ror: {
      const k = n % bits;
      if (size === 8) {
        const s = op === ShiftOp.Rol ? k : (64 - k) % 64;
        const a1 = shl64(lo, hi, s), h1 = gH;
        const a2 = shr64(lo, hi, s === 0 ? 0 : 64 - s), h2 = gH;
        rl = s === 0 ? lo : a1 | a2; rh = s === 0 ? hi : h1 | h2;
      } else {
        const a = size === 4 ? lo >>> 0 : lo;
        const s = op === ShiftOp.Rol ? k : (bits - k) % bits;
        rl = s === 0 ? mask(a, size) : mask((a << s) | (a >>> (bits - s)), size);
      }
      const msb = size === 8 ? (rh >>> 31) & 1 : (rl >>> (bits - 1)) & 1;
      if (op === ShiftOp.Rol) { cf = rl & 1; of = msb ^ cf; }
      else {
        cf = msb;
        const next = size === 8 ? (rh >>> 30) & 1 : (rl >>> (bits - 2)) & 1;
        of = msb ^ next;
      }
      c.setArith((f0 & ~(CF | OF)) | (cf ? CF : 0) | (of ? OF : 0));
      break;
    }
    default: {
      // rcl/rcr: a (bits+1)-bit rotation through CF, one bit at a time on 32-bit halves (the
      // count is at most 63; these are rare in compiled code, but must never need BigInt).
      const k = size >= 4 ? n : n % (bits + 1);
      let l = size === 8 ? lo : size === 4 ? lo >>> 0 : lo & ((1 << bits) - 1), h = size === 8 ? hi : 0;
      let carry = f0 & CF;
      const top = bits === 64 ? 31 : bits - 1;
      for (let i = 0; i < k; i++) {
        if (op === ShiftOp.Rcl) {
          const out = size === 8 ? (h >>> 31) & 1 : (l >>> top) & 1;
          if (size === 8) { h = (h << 1) | (l >>> 31); l = (l << 1) | carry; }
          else l = bits === 32 ? ((l << 1) | carry) >>> 0 : ((l << 1) | carry) & ((1 << bits) - 1);
          carry = out;
        } else {
          const out = l & 1;
          if (size === 8) { l = (l >>> 1) | (h << 31); h = (h >>> 1) | (carry << 31); }
          else l = ((l >>> 1) | (carry << top)) >>> 0;
          carry = out;
        }
      }
      cf = carry;
      rl = size === 8 ? l | 0 : mask(l, size);
      rh = size === 8 ? h | 0 : 0;
      const msb = size === 8 ? (rh >>> 31) & 1 : (rl >>> (bits - 1)) & 1;
      if (op === ShiftOp.Rcl) of = msb ^ cf;
      else of = msb ^ (size === 8 ? (rh >>> 30) & 1 : (rl >>> (bits - 2)) & 1);
      c.setArith((f0 & ~(CF | OF)) | (cf ? CF : 0) | (of ? OF : 0));
      break;
    }
  }
  c.tH = rh;
  return rl;
}

/**
 * shld/shrd on 32-bit halves (SDM Vol. 2B SHLD/SHRD: the count is masked to 5/6 bits). A 16-bit
 * operand shifted by more than 16 is undefined; it is computed here as a shift of the 32-bit
 * concatenation, as the BigInt version did (the differential test skips those counts).
 */
export function shiftDouble(c: Vcpu, left: boolean, dl: number, dh: number, sl: number, sh: number, count: number, size: number): number {
  const bits = size * 8;
  const n = count & (size === 8 ? 63 : 31);
  if (n === 0) { c.tH = dh; return dl; }
  let rl: number, rh = 0, cf: number, dSign: number;
  if (size === 8) {
    // 1 <= n <= 63: r = d << n | s >>> (64 - n) (left), d >>> n | s << (64 - n) (right).
    if (left) {
      const a = shl64(dl, dh, n), ah = gH, b = shr64(sl, sh, 64 - n), bh = gH;
      rl = a | b; rh = ah | bh; cf = bit64(dl, dh, 64 - n);
    } else {
      const a = shr64(dl, dh, n), ah = gH, b = shl64(sl, sh, 64 - n), bh = gH;
      rl = a | b; rh = ah | bh; cf = bit64(dl, dh, n - 1);
    }
    dSign = (dh >>> 31) & 1;
  } else if (size === 4) {
    // 1 <= n <= 31.
    if (left) { rl = (dl << n) | (sl >>> (32 - n)); cf = (dl >>> (32 - n)) & 1; }
    else { rl = (dl >>> n) | (sl << (32 - n)); cf = (dl >>> (n - 1)) & 1; }
    dSign = (dl >>> 31) & 1;
  } else {
    // 16-bit: the 32-bit concatenation d:s (left) or s:d (right), shifted by 1..31.
    const d = dl & 0xffff, s = sl & 0xffff;
    if (left) {
      const cat = ((d << 16) | s) >>> 0;
      rl = (n <= 16 ? cat >>> (16 - n) : cat << (n - 16)) & 0xffff;
      cf = (cat >>> (32 - n)) & 1;
    } else {
      const cat = ((s << 16) | d) >>> 0;
      rl = (cat >>> n) & 0xffff;
      cf = (cat >>> (n - 1)) & 1;
    }
    dSign = (d >>> 15) & 1;
  }
  const rSign = size === 8 ? (rh >>> 31) & 1 : (rl >>> (bits - 1)) & 1;
  const of = rSign ^ dSign;
  c.setArith(szf(rl, rh, size) | (cf ? CF : 0) | (of ? OF : 0));
  c.tH = rh;
  return rl;
}

/** Unsigned 32x32 → 64 product without BigInt: returns low half, high in gH. */
function umul32(a: number, b: number): number {
  const al = a & 0xffff, ah = a >>> 16, bl = b & 0xffff, bh = b >>> 16;
  const low = al * bl;
  const mid = ah * bl + al * bh;
  const t = low + (mid % 65536) * 65536;
  gH = (ah * bh + Math.floor(mid / 65536) + Math.floor(t / TWO32)) | 0;
  return Math.imul(a, b);
}


/**
 * One-operand mul/imul: RDX:RAX (or DX:AX, EDX:EAX, AX) = accumulator * src.
 * CF=OF set when the high half is significant. SF ZF AF PF undefined.
 */
export function mul1(c: Vcpu, signed: boolean, sl: number, sh: number, size: number): void {
  const R = c.R, H = c.H;
  let of = false;
  if (size === 1) {
    const a = R[0]! & 255;
    const p = signed ? ((a << 24) >> 24) * ((sl << 24) >> 24) : a * (sl & 255);
    R[0] = (R[0]! & ~0xffff) | (p & 0xffff);
    of = signed ? p !== ((p << 24) >> 24) : (p & 0xff00) !== 0;
    c.setArith(szf(p & 255, 0, 1) | (of ? CF | OF : 0));
    return;
  }
  if (size === 2) {
    const a = R[0]! & 0xffff;
    const p = signed ? ((a << 16) >> 16) * ((sl << 16) >> 16) : a * (sl & 0xffff);
    R[0] = (R[0]! & ~0xffff) | (p & 0xffff);
    R[2] = (R[2]! & ~0xffff) | ((p >>> 16) & 0xffff);
    of = signed ? p !== ((p << 16) >> 16) : (p >>> 16) !== 0;
    c.setArith(szf(p & 0xffff, 0, 2) | (of ? CF | OF : 0));
    return;
  }
  if (size === 4) {
    const a = R[0]!;
    const lo = umul32(a, sl);
    let hi = gH;
    if (signed) hi = (hi - (a < 0 ? sl : 0) - (sl < 0 ? a : 0)) | 0;
    R[0] = lo; H[0] = 0; R[2] = hi; H[2] = 0;
    of = signed ? hi !== lo >> 31 : hi !== 0;
    c.setArith(szf(lo, 0, 4) | (of ? CF | OF : 0));
    return;
  }
  // 64x64 → 128 in 32-bit halves (wide.ts).
  if (signed) smul64(R[0]!, H[0]!, sl, sh); else umul64(R[0]!, H[0]!, sl, sh);
  R[0] = W[0]! | 0; H[0] = W[1]! | 0; R[2] = W[2]! | 0; H[2] = W[3]! | 0;
  // Significant high half: unsigned, any bit set; signed, not the low half's sign extension.
  if (signed) { const ext = H[0]! < 0 ? -1 : 0; of = R[2] !== ext || H[2] !== ext; }
  else of = (R[2]! | H[2]!) !== 0;
  c.setArith(szf(R[0]!, H[0]!, 8) | (of ? CF | OF : 0));
}

/** Two/three-operand imul: low half of a*b, CF=OF when the signed product does not fit. */
export function imul2(c: Vcpu, al: number, ah: number, bl: number, bh: number, size: number): number {
  let lo: number, hi = 0, of: boolean;
  if (size === 2) {
    const p = ((al << 16) >> 16) * ((bl << 16) >> 16);
    lo = p & 0xffff;
    of = p !== ((p << 16) >> 16);
  } else if (size === 4) {
    lo = umul32(al, bl);
    const h = (gH - (al < 0 ? bl : 0) - (bl < 0 ? al : 0)) | 0;
    of = h !== lo >> 31;
  } else {
    smul64(al, ah, bl, bh);
    lo = W[0]! | 0; hi = W[1]! | 0;
    const ext = hi < 0 ? -1 : 0;
    of = (W[2]! | 0) !== ext || (W[3]! | 0) !== ext;
  }
  c.setArith(szf(lo, hi, size) | (of ? CF | OF : 0));
  c.tH = hi;
  return lo;
}

/** div/idiv: #DE on a zero divisor or a quotient that does not fit (SDM Vol. 2A DIV/IDIV). */
export function div1(c: Vcpu, signed: boolean, sl: number, sh: number, size: number): void {
  const R = c.R, H = c.H;
  if (size <= 2) {
    // 16/8 and 32/16: every value is exact in a double.
    const bits = size * 8;
    let n = size === 1 ? R[0]! & 0xffff : ((R[2]! & 0xffff) * 65536 + (R[0]! & 0xffff));
    let d = size === 1 ? sl & 0xff : sl & 0xffff;
    if (signed) { n = size === 1 ? (n << 16) >> 16 : n | 0; d = size === 1 ? (d << 24) >> 24 : (d << 16) >> 16; }
    if (d === 0) throw new GuestFault(Vector.DE, undefined, "divide by zero");
    const q = Math.trunc(n / d), r = n - q * d; // truncates toward zero, as idiv does
    const fits = signed ? q >= -(2 ** (bits - 1)) && q < 2 ** (bits - 1) : q < 2 ** bits;
    if (!fits) throw new GuestFault(Vector.DE, undefined, "quotient too large");
    const m = (1 << bits) - 1;
    if (size === 1) R[0] = (R[0]! & ~0xffff) | (q & m) | ((r & m) << 8);
    else { R[0] = (R[0]! & ~0xffff) | (q & m); R[2] = (R[2]! & ~0xffff) | (r & m); }
    return;
  }
  // 64/32 and 128/64 on 32-bit halves (wide.ts): dividend words n0..n3, divisor d0:d1.
  let n0: number, n1: number, n2: number, n3: number, d0 = sl, d1: number;
  if (size === 4) {
    n0 = R[0]!; n1 = R[2]!;
    n2 = n3 = signed && R[2]! < 0 ? -1 : 0;
    d1 = signed && sl < 0 ? -1 : 0;
  } else { n0 = R[0]!; n1 = H[0]!; n2 = R[2]!; n3 = H[2]!; d1 = sh; }
  if ((d0 | d1) === 0) throw new GuestFault(Vector.DE, undefined, "divide by zero");
  const nNeg = signed && n3 < 0, dNeg = signed && d1 < 0;
  if (nNeg) { neg128(n0, n1, n2, n3); n0 = N[0]!; n1 = N[1]!; n2 = N[2]!; n3 = N[3]!; }
  if (dNeg) { neg128(d0, d1, -1, -1); d0 = N[0]!; d1 = N[1]!; }
  if (!udiv128(n0, n1, n2, n3, d0, d1)) throw new GuestFault(Vector.DE, undefined, "quotient too large");
  let q0 = W[0]!, q1 = W[1]!, r0 = W[2]!, r1 = W[3]!;
  // Signed: |q| may reach 2^(bits-1) only when the quotient is negative.
  const qNeg = nNeg !== dNeg;
  const fits = size === 4
    ? q1 === 0 && (!signed ? true : q0 < 0x80000000 || (qNeg && q0 === 0x80000000))
    : !signed || q1 < 0x80000000 || (qNeg && q1 === 0x80000000 && q0 === 0);
  if (!fits) throw new GuestFault(Vector.DE, undefined, "quotient too large");
  if (qNeg) { neg128(q0, q1, 0, 0); q0 = N[0]!; q1 = N[1]!; }
  if (nNeg) { neg128(r0, r1, 0, 0); r0 = N[0]!; r1 = N[1]!; }
  if (size === 4) { R[0] = q0 | 0; H[0] = 0; R[2] = r0 | 0; H[2] = 0; }
  else { R[0] = q0 | 0; H[0] = q1 | 0; R[2] = r0 | 0; H[2] = r1 | 0; }
  // All six flags are undefined after div; leave them as they were.
}

/** Bits set in a 32-bit word (SWAR count). */
function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}
/** Index of the lowest set bit of a nonzero 32-bit word. */
function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** bsf/bsr/tzcnt/lzcnt/popcnt on 32-bit halves. Returns the result (or -1: destination unchanged). */
export function bitscan(c: Vcpu, kind: number, lo: number, hi: number, size: number): number {
  const bits = size * 8;
  const l = size === 8 || size === 4 ? lo : lo & ((1 << bits) - 1), h = size === 8 ? hi : 0;
  c.tH = 0;
  if (kind === 4) { // popcnt: ZF if source zero, others cleared
    c.setArith((l | h) === 0 ? ZF : 0);
    return popcount32(l) + popcount32(h);
  }
  if ((l | h) === 0) {
    if (kind <= 1) { c.mergeArith(ZF | CF | OF | SF | AF | 0x4, ZF); return -1; } // bsf/bsr: ZF=1, dest unchanged
    c.setArith(CF); // tzcnt/lzcnt of zero: result = operand size, CF=1
    return bits;
  }
  let res: number;
  if (kind === 0 || kind === 2) res = l !== 0 ? ctz32(l) : 32 + ctz32(h); // bsf / tzcnt
  else { res = h !== 0 ? 63 - Math.clz32(h) : 31 - Math.clz32(l); if (kind === 3) res = bits - 1 - res; } // bsr / lzcnt
  if (kind <= 1) c.mergeArith(ZF | CF | OF | SF | AF | 0x4, 0);
  else c.setArith(res === 0 ? ZF : 0);
  return res;
}

// ---- string instructions --------------------------------------------------------------------

/** Iterations a rep-prefixed instruction runs per execution before yielding (RIP stays put). */
const REP_CHUNK = 1 << 20;

/** A string register (CX/SI/DI at address size 2, 4 or 8). */
function getAddr(c: Vcpu, r: number, asz: number): number {
  return asz === 2 ? c.R[r]! & 0xffff : asz === 4 ? c.R[r]! >>> 0 : c.H[r]! * TWO32 + (c.R[r]! >>> 0);
}
function setAddr(c: Vcpu, r: number, v: number, asz: number): void {
  if (asz === 2) c.R[r] = (c.R[r]! & ~0xffff) | (v & 0xffff);
  else if (asz === 4) { c.R[r] = v | 0; c.H[r] = 0; }
  else { c.R[r] = v | 0; c.H[r] = Math.floor(v / TWO32) | 0; }
}
function rd(c: Vcpu, ea: number, size: number): number {
  if (size === 1) return c.r8(ea);
  if (size === 2) return c.r16(ea);
  if (size === 4) return c.r32(ea);
  return c.r64(ea);
}
function wr(c: Vcpu, ea: number, size: number, lo: number, hi: number): void {
  if (size === 1) c.w8(ea, lo);
  else if (size === 2) c.w16(ea, lo);
  else if (size === 4) c.w32(ea, lo);
  else c.w64(ea, lo, hi);
}

export const enum StrOp { Movs = 0, Stos = 1, Lods = 2, Cmps = 3, Scas = 4 }
/** rep: 0 none, 1 rep/repe, 2 repne. Returns false if RIP must stay (chunk limit reached). */
export function strop(c: Vcpu, op: number, size: number, rep: number, asz: number, segBase: number, dstBase: number): boolean {
  const step = c.df ? -size : size;
  let count = rep ? getAddr(c, 1, asz) : 1;
  if (rep && count === 0) return true;
  let si = getAddr(c, 6, asz), di = getAddr(c, 7, asz);
  let n = 0;
  let done = false;
  const wrap = (x: number) => (asz === 2 ? x & 0xffff : asz === 4 ? x >>> 0 : x);
  // Outside 64-bit mode the linear address is base + offset, wrapping at 4 GiB.
  const m64 = c.mode64;
  const ea = (x: number) => (m64 ? c.cn(x) : x >>> 0);
  try {
    for (;;) {
      switch (op) {
        case StrOp.Movs: {
          const lo = rd(c, ea(si + segBase), size);
          wr(c, ea(di + dstBase), size, lo, c.tH);
          si = wrap(si + step); di = wrap(di + step);
          break;
        }
        case StrOp.Stos:
          wr(c, ea(di + dstBase), size, c.R[0]!, c.H[0]!);
          di = wrap(di + step);
          break;
        case StrOp.Lods: {
          const lo = rd(c, ea(si + segBase), size);
          if (size === 1) c.R[0] = (c.R[0]! & ~0xff) | lo;
          else if (size === 2) c.R[0] = (c.R[0]! & ~0xffff) | lo;
          else { c.R[0] = lo; c.H[0] = size === 8 ? c.tH : 0; }
          si = wrap(si + step);
          break;
        }
        default: {
          let al: number, ah = 0, bl: number, bh = 0;
          if (op === StrOp.Cmps) {
            al = rd(c, ea(si + segBase), size); ah = c.tH;
            bl = rd(c, ea(di + dstBase), size); bh = c.tH;
            si = wrap(si + step);
          } else {
            al = size === 1 ? c.R[0]! & 0xff : size === 2 ? c.R[0]! & 0xffff : c.R[0]!; ah = c.H[0]!;
            bl = rd(c, ea(di + dstBase), size); bh = c.tH;
          }
          di = wrap(di + step);
          // flags as cmp a, b (lazy Sub)
          const lg = size === 1 ? 0 : size === 2 ? 1 : size === 4 ? 2 : 3;
          c.fop = (2 << 2) | lg;
          if (size === 8) {
            c.fr = (al - bl) | 0; c.frh = (ah - bh - ((al >>> 0) < (bl >>> 0) ? 1 : 0)) | 0;
            c.fa = al; c.fah = ah; c.fb = bl; c.fbh = bh;
          } else {
            c.fr = size === 4 ? (al - bl) | 0 : (al - bl) & (size === 2 ? 0xffff : 0xff);
            c.fa = al; c.fb = bl;
          }
          break;
        }
      }
      n++;
      if (!rep) { done = true; break; }
      count--;
      if (count === 0) { done = true; break; }
      if (op >= StrOp.Cmps) {
        const zf = (c.getFlags() & ZF) !== 0;
        if (rep === 1 ? !zf : zf) { done = true; break; }
      }
      // Yield with RIP on this instruction: after a chunk, or when a write stopped the block
      // (watchpoint, self-modifying code); the next execution continues with the updated RCX.
      if (n >= REP_CHUNK || c.stop !== 0) break;
    }
  } finally {
    if (op !== StrOp.Stos && op !== StrOp.Scas) setAddr(c, 6, si, asz);
    if (op !== StrOp.Lods) setAddr(c, 7, di, asz);
    if (rep) setAddr(c, 1, count, asz);
  }
  return done;
}

// ---- BMI1/BMI2 (x86-64-v3) --------------------------------------------------------------------

/** shlx/shrx/sarx: shifts without flags, count masked to 5/6 bits (SDM Vol. 2B SARX/SHLX/SHRX). */
export function shiftNoFlags(c: Vcpu, op: number, lo: number, hi: number, count: number, size: number): number {
  const n = count & (size === 8 ? 63 : 31);
  if (size === 8) {
    const r = op === ShiftOp.Shl ? shl64(lo, hi, n) : op === ShiftOp.Shr ? shr64(lo, hi, n) : sar64(lo, hi, n);
    c.tH = gH;
    return r;
  }
  c.tH = 0;
  if (n === 0) return lo;
  return op === ShiftOp.Shl ? lo << n : op === ShiftOp.Shr ? lo >>> n | 0 : lo >> n;
}

/**
 * andn/blsr/blsi/blsmsk/bzhi with their flags (SDM Vol. 2A): kind 0 andn (a=src1, b=src2),
 * 1 blsr, 2 blsi, 3 blsmsk (a=src), 4 bzhi (a=src, b=index). AF and PF are undefined.
 */
export function bmi(c: Vcpu, kind: number, al: number, ah: number, bl: number, bh: number, size: number): number {
  const wide = size === 8;
  const bits = size * 8;
  // Operands as 32-bit halves; a 32-bit operand has no high half.
  if (!wide) { ah = 0; bh = 0; }
  let rl: number, rh: number, cf = 0, zfForced: boolean | undefined;
  const zero = (al | ah) === 0;
  switch (kind) {
    case 0: rl = ~al & bl; rh = ~ah & bh; break;
    case 1: rl = al & (al - 1); rh = ah & (al === 0 ? ah - 1 : ah); cf = zero ? 1 : 0; break; // a & (a-1)
    case 2: rl = al & -al; rh = ah & (al === 0 ? -ah : ~ah); cf = zero ? 0 : 1; break; // a & -a
    case 3: rl = al ^ (al - 1); rh = ah ^ (al === 0 ? ah - 1 : ah); cf = zero ? 1 : 0; zfForced = false; break; // a ^ (a-1)
    default: { // bzhi: keep the low n bits
      const n = bl & 0xff;
      rl = al; rh = ah;
      if (n < bits) {
        if (n < 32) { rl = n === 0 ? 0 : al & (-1 >>> (32 - n)); rh = 0; }
        else rh = n === 32 ? 0 : ah & (-1 >>> (64 - n));
      }
      cf = n > bits - 1 ? 1 : 0;
    }
  }
  if (!wide) rh = 0;
  rl |= 0; rh |= 0;
  let f = (cf ? CF : 0) | (((wide ? rh : rl) >>> 31) & 1 ? SF : 0);
  if (zfForced === undefined ? (rl | rh) === 0 : zfForced) f |= ZF;
  c.setArith(f);
  c.tH = rh;
  return rl;
}

/** mulx: unsigned RDX/EDX * src, no flags; returns the low half, high half (both words) via out. */
export function mulx(al: number, ah: number, bl: number, bh: number, size: number, out: Int32Array): void {
  if (size === 4) {
    out[0] = umul32(al, bl); out[1] = 0; out[2] = gH; out[3] = 0;
    return;
  }
  umul64(al, ah, bl, bh);
  out[0] = W[0]! | 0; out[1] = W[1]! | 0; out[2] = W[2]! | 0; out[3] = W[3]! | 0;
}
export const MULX_OUT = new Int32Array(4);
