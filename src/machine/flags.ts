/**
 * Lazy arithmetic flags (QEMU's CC_OP scheme, target/i386/cpu.h): an ALU instruction stores its
 * operation, size, operands and result; CF PF AF ZF SF OF are computed only when something reads
 * them (jcc, setcc, pushf...). 64-bit values are kept as two int32 halves.
 *
 * `fop = (op << 2) | log2(size in bytes)`.
 */

export const enum FlagOp {
  /** Flags already computed, in `fbits`. */
  Eager = 0,
  Add = 1,
  Sub = 2,
  Adc = 3,
  Sbb = 4,
  Logic = 5,
  /** inc/dec: like add/sub of 1 but CF is the saved `fc`. */
  Inc = 6,
  Dec = 7,
}

/** EFLAGS bits (Intel SDM Vol. 1 §3.4.3). */
export const CF = 0x1, PF = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80, TF = 0x100, IF = 0x200, DF = 0x400, OF = 0x800;
export const ARITH_FLAGS = CF | PF | AF | ZF | SF | OF;

export interface FlagState {
  fop: number;
  fr: number;
  frh: number;
  fa: number;
  fah: number;
  fb: number;
  fbh: number;
  fc: number;
  fbits: number;
}

/** Parity of the low byte: PF is set when the number of 1 bits is even. */
export const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let b = i, n = 0;
  while (b) { n += b & 1; b >>= 1; }
  PARITY[i] = n % 2 === 0 ? PF : 0;
}

function u(x: number): number {
  return x >>> 0;
}

/** Computes the six arithmetic flags (in their EFLAGS positions) from the lazy state. */
export function computeFlags(s: FlagState): number {
  const fop = s.fop;
  const op = fop >> 2;
  if (op === FlagOp.Eager) return s.fbits;
  const lg = fop & 3;
  if (lg === 3) return computeFlags64(s, op);
  const bits = 8 << lg;
  const sh = bits - 1;
  const mask = bits === 32 ? -1 : (1 << bits) - 1;
  const r = s.fr & mask, a = s.fa & mask, b = s.fb & mask;
  let f = PARITY[r & 255]!;
  if (r === 0) f |= ZF;
  if ((r >>> sh) & 1) f |= SF;
  switch (op) {
    case FlagOp.Add:
      if (u(r) < u(a)) f |= CF;
      if ((((a ^ r) & (b ^ r)) >>> sh) & 1) f |= OF;
      f |= (a ^ b ^ r) & AF;
      break;
    case FlagOp.Adc:
      if (s.fc ? u(r) <= u(a) : u(r) < u(a)) f |= CF;
      if ((((a ^ r) & (b ^ r)) >>> sh) & 1) f |= OF;
      f |= (a ^ b ^ r) & AF;
      break;
    case FlagOp.Sub:
      if (u(a) < u(b)) f |= CF;
      if ((((a ^ b) & (a ^ r)) >>> sh) & 1) f |= OF;
      f |= (a ^ b ^ r) & AF;
      break;
    case FlagOp.Sbb:
      if (s.fc ? u(a) <= u(b) : u(a) < u(b)) f |= CF;
      if ((((a ^ b) & (a ^ r)) >>> sh) & 1) f |= OF;
      f |= (a ^ b ^ r) & AF;
      break;
    case FlagOp.Logic:
      break;
    case FlagOp.Inc:
      if (s.fc) f |= CF;
      if ((((a ^ r) & (b ^ r)) >>> sh) & 1) f |= OF;
      f |= (a ^ b ^ r) & AF;
      break;
    case FlagOp.Dec:
      if (s.fc) f |= CF;
      if ((((a ^ b) & (a ^ r)) >>> sh) & 1) f |= OF;
      f |= (a ^ b ^ r) & AF;
      break;
  }
  return f;
}

function ult64(ah: number, al: number, bh: number, bl: number): boolean {
  return u(ah) < u(bh) || (ah === bh && u(al) < u(bl));
}

function computeFlags64(s: FlagState, op: number): number {
  const rl = s.fr, rh = s.frh, al = s.fa, ah = s.fah, bl = s.fb, bh = s.fbh;
  let f = PARITY[rl & 255]!;
  if ((rl | rh) === 0) f |= ZF;
  if (rh < 0) f |= SF;
  f |= (al ^ bl ^ rl) & AF;
  switch (op) {
    case FlagOp.Add:
      if (ult64(rh, rl, ah, al)) f |= CF;
      if (((ah ^ rh) & (bh ^ rh)) < 0) f |= OF;
      break;
    case FlagOp.Adc:
      if (s.fc ? !ult64(ah, al, rh, rl) : ult64(rh, rl, ah, al)) f |= CF;
      if (((ah ^ rh) & (bh ^ rh)) < 0) f |= OF;
      break;
    case FlagOp.Sub:
      if (ult64(ah, al, bh, bl)) f |= CF;
      if (((ah ^ bh) & (ah ^ rh)) < 0) f |= OF;
      break;
    case FlagOp.Sbb:
      if (s.fc ? !ult64(bh, bl, ah, al) : ult64(ah, al, bh, bl)) f |= CF;
      if (((ah ^ bh) & (ah ^ rh)) < 0) f |= OF;
      break;
    case FlagOp.Logic:
      f &= ~AF;
      break;
    case FlagOp.Inc:
      if (s.fc) f |= CF;
      if (((ah ^ rh) & (bh ^ rh)) < 0) f |= OF;
      break;
    case FlagOp.Dec:
      if (s.fc) f |= CF;
      if (((ah ^ bh) & (ah ^ rh)) < 0) f |= OF;
      break;
  }
  return f;
}

/** Evaluates condition code `cc` (the low nibble of Jcc/SETcc/CMOVcc, SDM Vol. 1 Table B-1). */
export function evalCond(f: number, cc: number): boolean {
  let r: boolean;
  switch (cc >> 1) {
    case 0: r = (f & OF) !== 0; break;
    case 1: r = (f & CF) !== 0; break;
    case 2: r = (f & ZF) !== 0; break;
    case 3: r = (f & (CF | ZF)) !== 0; break;
    case 4: r = (f & SF) !== 0; break;
    case 5: r = (f & PF) !== 0; break;
    case 6: r = ((f & SF) !== 0) !== ((f & OF) !== 0); break;
    default: r = (f & ZF) !== 0 || ((f & SF) !== 0) !== ((f & OF) !== 0); break;
  }
  return (cc & 1) ? !r : r;
}
