/**
 * IEEE 754 binary32/binary64 arithmetic as SSE performs it (SDM Vol. 1 §4.8, §11.5; Table 4-7
 * for NaNs), exact: operands are decoded to integer significand × 2^exponent (BigInt), the exact
 * result is formed and rounded once under MXCSR.RC. Tininess is detected after rounding (as
 * x86 SSE does); DAZ turns denormal operands into signed zeros before anything else, FTZ flushes
 * tiny results to zero when underflow is masked. Each operation returns the result's bits and
 * the MXCSR exception flags it raises (pre-computation IE/DE/ZE, post-computation OE/UE/PE).
 * Within one element a higher-priority pre-computation exception hides the lower ones: invalid
 * before divide-by-zero before denormal (SDM Vol. 1 §4.9.2; the host CPU agrees).
 */

export const IE = 1, DE = 2, ZE = 4, OE = 8, UE = 16, PE = 32;

export interface Fmt {
  /** Significand bits including the implicit one. */
  p: number;
  emin: number;
  emax: number;
  bias: number;
  /** Total width in bits. */
  w: number;
}
export const F32: Fmt = { p: 24, emin: -126, emax: 127, bias: 127, w: 32 };
export const F64: Fmt = { p: 53, emin: -1022, emax: 1023, bias: 1023, w: 64 };

/** Rounding and exception control taken from MXCSR. */
export interface Mode {
  rc: number; // 0 nearest, 1 down, 2 up, 3 toward zero
  daz: boolean;
  ftz: boolean;
  /** MXCSR.UM / MXCSR.OM: underflow / overflow masked. */
  um: boolean;
  om: boolean;
}
export function modeOf(mxcsr: number): Mode {
  return { rc: (mxcsr >> 13) & 3, daz: (mxcsr & 0x40) !== 0, ftz: (mxcsr & 0x8000) !== 0, um: (mxcsr & 0x800) !== 0, om: (mxcsr & 0x400) !== 0 };
}

export const enum Cls { Zero, Denormal, Normal, Inf, QNaN, SNaN }

export interface Num {
  cls: Cls;
  neg: boolean;
  /** value = sig × 2^exp (finite classes). */
  sig: bigint;
  exp: number;
  bits: bigint;
}

const mantMask = (f: Fmt) => (1n << BigInt(f.p - 1)) - 1n;
const expAll = (f: Fmt) => (1 << (f.w - f.p)) - 1;

export function decode(bits: bigint, f: Fmt, daz: boolean): Num {
  const neg = (bits >> BigInt(f.w - 1)) & 1n ? true : false;
  const e = Number((bits >> BigInt(f.p - 1)) & BigInt(expAll(f)));
  const m = bits & mantMask(f);
  if (e === expAll(f)) {
    if (m === 0n) return { cls: Cls.Inf, neg, sig: 0n, exp: 0, bits };
    return { cls: m >> BigInt(f.p - 2) ? Cls.QNaN : Cls.SNaN, neg, sig: 0n, exp: 0, bits };
  }
  if (e === 0) {
    if (m === 0n) return { cls: Cls.Zero, neg, sig: 0n, exp: 0, bits };
    if (daz) return { cls: Cls.Zero, neg, sig: 0n, exp: 0, bits: neg ? 1n << BigInt(f.w - 1) : 0n };
    return { cls: Cls.Denormal, neg, sig: m, exp: f.emin - (f.p - 1), bits };
  }
  return { cls: Cls.Normal, neg, sig: m | (1n << BigInt(f.p - 1)), exp: e - f.bias - (f.p - 1), bits };
}

export const isNaN_ = (n: Num) => n.cls === Cls.QNaN || n.cls === Cls.SNaN;
const signBit = (f: Fmt) => 1n << BigInt(f.w - 1);
export const quiet = (n: Num, f: Fmt) => n.bits | (1n << BigInt(f.p - 2));
/** The QNaN floating-point indefinite (SDM Vol. 1 Table 4-3): sign 1, quiet bit only. */
export const indefinite = (f: Fmt) => signBit(f) | (BigInt(expAll(f)) << BigInt(f.p - 1)) | (1n << BigInt(f.p - 2));
export const zeroOf = (neg: boolean, f: Fmt) => (neg ? signBit(f) : 0n);
export const infOf = (neg: boolean, f: Fmt) => (neg ? signBit(f) : 0n) | (BigInt(expAll(f)) << BigInt(f.p - 1));
const maxOf = (neg: boolean, f: Fmt) => (neg ? signBit(f) : 0n) | (BigInt(expAll(f) - 1) << BigInt(f.p - 1)) | mantMask(f);

function bitLen(x: bigint): number {
  return x.toString(2).length;
}

/** sig >> sh rounded under rc (sh > 0): [quotient, inexact]. */
function shiftRound(sig: bigint, sh: number, neg: boolean, rc: number): [bigint, boolean] {
  if (sh <= 0) return [sig << BigInt(-sh), false];
  const b = BigInt(sh);
  let q = sig >> b;
  const rem = sig & ((1n << b) - 1n);
  if (rem === 0n) return [q, false];
  const half = 1n << (b - 1n);
  let up = false;
  if (rc === 0) up = rem > half || (rem === half && (q & 1n) === 1n);
  else if (rc === 1) up = neg;
  else if (rc === 2) up = !neg;
  if (up) q += 1n;
  return [q, true];
}

/**
 * Rounds the exact value ±sig × 2^exp (sig > 0; `sticky`: nonzero bits below sig's last) to the
 * format. Returns [bits, post-computation flags].
 */
export function round(neg: boolean, sig: bigint, exp: number, f: Fmt, m: Mode, sticky = false): [bigint, number] {
  if (sticky) { sig = (sig << 1n) | 1n; exp -= 1; }
  const E = exp + bitLen(sig) - 1;
  // Tininess after rounding: rounded to p bits with an unbounded exponent, still below 2^emin?
  let tiny = false;
  if (E < f.emin) {
    tiny = true;
    if (E === f.emin - 1) {
      const [q] = shiftRound(sig, E - (f.p - 1) - exp, neg, m.rc);
      if (bitLen(q) > f.p) tiny = false; // rounded up to 2^emin
    }
  }
  let ulp = Math.max(E - (f.p - 1), f.emin - (f.p - 1));
  let [q, inexact] = shiftRound(sig, ulp - exp, neg, m.rc);
  if (bitLen(q) > f.p) { q >>= 1n; ulp += 1; }
  let flags = 0;
  // An unmasked underflow or overflow delivers no result; inexact is then judged on the result
  // rounded to full precision with an unbounded exponent (the host CPU agrees).
  const unboundedInexact = () => shiftRound(sig, E - (f.p - 1) - exp, neg, m.rc)[1] ? PE : 0;
  if (tiny) {
    if (!m.um) return [0n, UE | unboundedInexact()];
    if (m.ftz) return [zeroOf(neg, f), UE | PE];
    if (inexact) flags |= UE | PE;
  }
  if (q !== 0n && ulp + bitLen(q) - 1 > f.emax) {
    if (!m.om) return [0n, OE | unboundedInexact()];
    const toInf = m.rc === 0 || (m.rc === 1 && neg) || (m.rc === 2 && !neg);
    return [toInf ? infOf(neg, f) : maxOf(neg, f), OE | PE];
  }
  if (inexact) flags |= PE;
  const sb = neg ? signBit(f) : 0n;
  if (q < 1n << BigInt(f.p - 1)) return [sb | q, flags]; // subnormal (or zero)
  const be = BigInt(ulp + (f.p - 1) + f.bias);
  return [sb | (be << BigInt(f.p - 1)) | (q & mantMask(f)), flags];
}

// ---- arithmetic ----

/** NaN operand handling of binary operations: the first operand's NaN wins, quieted (Table 4-7). */
function nanResult(a: Num, b: Num, f: Fmt): [bigint, number] {
  const flags = a.cls === Cls.SNaN || b.cls === Cls.SNaN ? IE : 0;
  return [isNaN_(a) ? quiet(a, f) : quiet(b, f), flags];
}
const den = (a: Num, b?: Num) => (a.cls === Cls.Denormal || b?.cls === Cls.Denormal ? DE : 0);

export type BinOp = "add" | "sub" | "mul" | "div";

export function arith(op: BinOp, a: Num, b: Num, f: Fmt, m: Mode): [bigint, number] {
  if (isNaN_(a) || isNaN_(b)) return nanResult(a, b, f);
  const d = den(a, b);
  const bneg = op === "sub" ? !b.neg : b.neg;
  if (op === "add" || op === "sub") {
    if (a.cls === Cls.Inf || b.cls === Cls.Inf) {
      if (a.cls === Cls.Inf && b.cls === Cls.Inf && a.neg !== bneg) return [indefinite(f), IE];
      return [infOf(a.cls === Cls.Inf ? a.neg : bneg, f), d];
    }
    if (a.cls === Cls.Zero && b.cls === Cls.Zero) return [zeroOf(a.neg === bneg ? a.neg : m.rc === 1, f), d];
    if (b.cls === Cls.Zero) return withFlags(round(a.neg, a.sig, a.exp, f, m), d);
    if (a.cls === Cls.Zero) return withFlags(round(bneg, b.sig, b.exp, f, m), d);
    const e = Math.min(a.exp, b.exp);
    const sa = (a.neg ? -a.sig : a.sig) << BigInt(a.exp - e);
    const sb = (bneg ? -b.sig : b.sig) << BigInt(b.exp - e);
    const s = sa + sb;
    if (s === 0n) return [zeroOf(m.rc === 1, f), d];
    return withFlags(round(s < 0n, s < 0n ? -s : s, e, f, m), d);
  }
  const neg = a.neg !== b.neg;
  if (op === "mul") {
    if ((a.cls === Cls.Inf && b.cls === Cls.Zero) || (a.cls === Cls.Zero && b.cls === Cls.Inf)) return [indefinite(f), IE];
    if (a.cls === Cls.Inf || b.cls === Cls.Inf) return [infOf(neg, f), d];
    if (a.cls === Cls.Zero || b.cls === Cls.Zero) return [zeroOf(neg, f), d];
    return withFlags(round(neg, a.sig * b.sig, a.exp + b.exp, f, m), d);
  }
  // div
  if ((a.cls === Cls.Inf && b.cls === Cls.Inf) || (a.cls === Cls.Zero && b.cls === Cls.Zero)) return [indefinite(f), IE];
  if (a.cls === Cls.Inf) return [infOf(neg, f), d];
  if (b.cls === Cls.Inf) return [zeroOf(neg, f), d];
  if (b.cls === Cls.Zero) return [infOf(neg, f), ZE];
  if (a.cls === Cls.Zero) return [zeroOf(neg, f), d];
  const k = f.p + 3 + bitLen(b.sig) - bitLen(a.sig) + 1;
  const num = k > 0 ? a.sig << BigInt(k) : a.sig;
  const q = num / b.sig, r = num % b.sig;
  return withFlags(round(neg, q, a.exp - b.exp - (k > 0 ? k : 0), f, m, r !== 0n), d);
}

function withFlags(r: [bigint, number], pre: number): [bigint, number] {
  return [r[0], r[1] | pre];
}

function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = 1n << BigInt(Math.ceil(bitLen(n) / 2));
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

export function sqrt(a: Num, f: Fmt, m: Mode): [bigint, number] {
  if (isNaN_(a)) return [quiet(a, f), a.cls === Cls.SNaN ? IE : 0];
  const d = den(a);
  if (a.cls === Cls.Zero) return [a.bits, 0];
  if (a.neg) return [indefinite(f), IE];
  if (a.cls === Cls.Inf) return [a.bits, 0];
  // radicand sig × 2^exp with an even exponent and ≥ 2p+4 bits so the root has p+2.
  let sig = a.sig, exp = a.exp;
  let k = 2 * f.p + 6 - bitLen(sig);
  if (k < 0) k = 0;
  if ((exp - k) % 2 !== 0) k += 1;
  sig <<= BigInt(k); exp -= k;
  const r = isqrt(sig);
  return withFlags(round(false, r, exp / 2, f, m, r * r !== sig), d);
}

/** minss/maxss...: a NaN or two zeros return the second operand unchanged (SDM MINPS/MAXPS). */
export function minMax(max: boolean, a: Num, b: Num): [bigint, number] {
  if (isNaN_(a) || isNaN_(b)) return [b.bits, IE];
  const d = den(a, b);
  const lt = compare(a, b) < 0, gt = compare(a, b) > 0;
  return [(max ? gt : lt) ? a.bits : b.bits, d];
}

/** Ordered comparison of two non-NaN values: -1, 0, 1. */
export function compare(a: Num, b: Num): number {
  const va = value(a), vb = value(b);
  return va < vb ? -1 : va > vb ? 1 : 0;
}
/** A comparable key: ±inf as huge exponents, finite values exactly (scaled BigInt). */
function value(n: Num): bigint {
  if (n.cls === Cls.Zero) return 0n;
  if (n.cls === Cls.Inf) return n.neg ? -(1n << 4200n) : 1n << 4200n;
  const v = n.sig << BigInt(n.exp + 1200);
  return n.neg ? -v : v;
}

/**
 * cmpps/cmpss predicate 0..7 (EQ, LT, LE, UNORD, NEQ, NLT, NLE, ORD): true/false and flags.
 * LT/LE/NLT/NLE signal on any NaN; the others only on an SNaN.
 */
export function cmpPredicate(pred: number, a: Num, b: Num): [boolean, number] {
  const unord = isNaN_(a) || isNaN_(b);
  const snan = a.cls === Cls.SNaN || b.cls === Cls.SNaN;
  const signalling = pred === 1 || pred === 2 || pred === 5 || pred === 6;
  const flags = (snan || (unord && signalling) ? IE : 0) | (unord ? 0 : den(a, b));
  if (unord) return [pred === 3 || pred === 4 || pred === 5 || pred === 6, flags];
  const c = compare(a, b);
  const r = [c === 0, c < 0, c <= 0, false, c !== 0, !(c < 0), !(c <= 0), true][pred]!;
  return [r, flags];
}

// ---- conversions ----

/** Float to integer of `bits` width (32/64): rounded under rc or truncated; indefinite on NaN or overflow. */
export function toInt(a: Num, bits: number, truncate: boolean, m: Mode): [bigint, number] {
  const indef = -(1n << BigInt(bits - 1));
  if (isNaN_(a) || a.cls === Cls.Inf) return [indef, IE];
  if (a.cls === Cls.Zero) return [0n, 0];
  let q: bigint, inexact: boolean;
  if (a.exp >= 0) { q = a.sig << BigInt(a.exp); inexact = false; }
  else [q, inexact] = shiftRound(a.sig, -a.exp, a.neg, truncate ? 3 : m.rc);
  const v = a.neg ? -q : q;
  if (v < indef || v >= -indef) return [indef, IE];
  return [v, inexact ? PE : 0];
}

/** Signed integer to float. */
export function fromInt(v: bigint, f: Fmt, m: Mode): [bigint, number] {
  if (v === 0n) return [0n, 0];
  return round(v < 0n, v < 0n ? -v : v, 0, f, m);
}

/** Float to float (cvtss2sd, cvtsd2ss...): NaN payloads keep their top bits, quieted. */
export function convert(a: Num, from: Fmt, to: Fmt, m: Mode): [bigint, number] {
  if (isNaN_(a)) {
    const payload = a.bits & mantMask(from);
    const shift = (to.p - from.p);
    const pl = shift >= 0 ? payload << BigInt(shift) : payload >> BigInt(-shift);
    return [infOf(a.neg, to) | pl | (1n << BigInt(to.p - 2)), a.cls === Cls.SNaN ? IE : 0];
  }
  if (a.cls === Cls.Inf) return [infOf(a.neg, to), 0];
  if (a.cls === Cls.Zero) return [zeroOf(a.neg, to), 0];
  return withFlags(round(a.neg, a.sig, a.exp, to, m), den(a));
}

/** roundss/roundps...: to an integral value under rc; `noPrecision` (imm bit 3) suppresses PE. */
export function roundInt(a: Num, f: Fmt, rc: number, noPrecision: boolean): [bigint, number] {
  if (isNaN_(a)) return [quiet(a, f), a.cls === Cls.SNaN ? IE : 0];
  if (a.cls === Cls.Inf || a.cls === Cls.Zero || a.exp >= 0) return [a.bits, 0];
  const [q, inexact] = shiftRound(a.sig, -a.exp, a.neg, rc);
  const flags = inexact && !noPrecision ? PE : 0;
  if (q === 0n) return [zeroOf(a.neg, f), flags];
  return [round(a.neg, q, 0, f, { rc, daz: false, ftz: false, um: true, om: true })[0], flags];
}
