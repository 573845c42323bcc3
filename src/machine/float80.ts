/**
 * A software float80: the x87 double-extended format (SDM Vol. 1 §4.2.2, §8.2) and its exact
 * arithmetic, with IEEE 754 rounding under the x87 control word's rounding control (RC) and
 * precision control (PC), the exception flags and the masked responses of SDM Vol. 1 §4.9 / §8.5.
 *
 * Values are kept as sign, 15-bit biased exponent and the 64-bit significand with its explicit
 * integer bit (J), exactly as FXSAVE stores them. Arithmetic is done on exact BigInt significands
 * and rounded once, so every result is the correctly rounded one (the x87 is IEEE-exact for
 * add/sub/mul/div/sqrt and the conversions). BigInt is fine here: x87 code is rare in the
 * workloads that matter for speed (gcc uses SSE for double), and exactness comes first.
 *
 * Encodings (SDM Vol. 1 Table 8-3): E=0,J=0 zero or denormal; E=0,J=1 pseudo-denormal (read as a
 * denormal with exponent 1, raising #D); E=7FFFh,J=1 infinity or NaN; E=7FFFh,J=0 (pseudo-NaN,
 * pseudo-infinity) and 0<E<7FFFh,J=0 (unnormal) are unsupported: an operand of that kind is #IA.
 */

/** FSW exception flags (SDM Vol. 1 §8.1.3.1), also the FCW mask bits. */
export const IE = 0x01, DE = 0x02, ZE = 0x04, OE = 0x08, UE = 0x10, PE = 0x20;
/** Stack fault (set with IE for stack over/underflow). */
export const SF = 0x40;

export interface F80 {
  /** 0 or 1. */
  s: number;
  /** Biased exponent 0..0x7fff. */
  e: number;
  /** 64-bit significand including the explicit integer bit (bit 63). */
  m: bigint;
}

export const enum Kind { Zero, Denormal, Normal, Inf, QNaN, SNaN, Unsupported }

const BIAS = 16383;
const EMAX = 0x7fff;
const J = 1n << 63n;
const M64 = (1n << 64n) - 1n;
const QUIET = 1n << 62n;

/** The real indefinite: the QNaN a masked invalid operation returns (SDM Vol. 1 §4.8.3.7). */
export const INDEFINITE: F80 = { s: 1, e: EMAX, m: 0xc000000000000000n };
export const ZERO: F80 = { s: 0, e: 0, m: 0n };

export function kind(a: F80): Kind {
  if (a.e === 0) return a.m === 0n ? Kind.Zero : Kind.Denormal;
  if ((a.m & J) === 0n) return Kind.Unsupported;
  if (a.e === EMAX) {
    if ((a.m & ~J) === 0n) return Kind.Inf;
    return (a.m & QUIET) !== 0n ? Kind.QNaN : Kind.SNaN;
  }
  return Kind.Normal;
}

export const isNaN80 = (k: Kind) => k === Kind.QNaN || k === Kind.SNaN;

/** Exact value of a finite operand as sig·2^exp (sig ≥ 0). A pseudo-denormal reads as exponent 1. */
export function unpack(a: F80): { sig: bigint; exp: number } {
  return { sig: a.m, exp: (a.e === 0 ? 1 : a.e) - BIAS - 63 };
}

// ---- rounding ---------------------------------------------------------------------------------

/** RC field of the FCW (SDM Vol. 1 Table 4-8). */
export const RC_NEAREST = 0, RC_DOWN = 1, RC_UP = 2, RC_ZERO = 3;

/** Precision in bits selected by the FCW's PC field (SDM Vol. 1 Table 8-2; 01b reserved, acts as 64). */
export function pcBits(fcw: number): number {
  const pc = (fcw >> 8) & 3;
  return pc === 0 ? 24 : pc === 2 ? 53 : 64;
}

export function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

/** A destination format: significand bits p (incl. the integer bit) and the leading-bit exponent range. */
export interface Format { p: number; emin: number; emax: number }
export const EXT: Format = { p: 64, emin: 1 - BIAS, emax: EMAX - 1 - BIAS };
export const DBL: Format = { p: 53, emin: -1022, emax: 1023 };
export const SGL: Format = { p: 24, emin: -126, emax: 127 };

/** A rounded finite result: value sig·2^exp (sig = 0 for zero) or infinity, with what happened. */
export interface Rounded {
  s: number;
  inf: boolean;
  sig: bigint;
  exp: number;
  flags: number;
  /** The magnitude was rounded up (the x87's C1 after an inexact result). */
  up: boolean;
  /** Unmasked overflow/underflow on a register destination: the result with the exponent wrapped by ∓24576 (SDM Vol. 1 §8.5.4/§8.5.5). */
  wrapped: boolean;
}

function roundAt(s: number, sig: bigint, exp: number, q: number, rc: number): { sig: bigint; inexact: boolean; up: boolean } {
  if (exp >= q) return { sig: sig << BigInt(exp - q), inexact: false, up: false };
  const sh = BigInt(q - exp);
  const keep = sig >> sh;
  const rem = sig & ((1n << sh) - 1n);
  if (rem === 0n) return { sig: keep, inexact: false, up: false };
  const half = 1n << (sh - 1n);
  let inc: boolean;
  switch (rc) {
    case RC_NEAREST: inc = rem > half || (rem === half && (keep & 1n) === 1n); break;
    case RC_DOWN: inc = s === 1; break;
    case RC_UP: inc = s === 0; break;
    default: inc = false;
  }
  return { sig: inc ? keep + 1n : keep, inexact: true, up: inc };
}

/**
 * Rounds the exact value (-1)^s·sig·2^exp to `p` significand bits in format `fmt` under RC `rc`.
 * `masks` is the FCW's exception-mask bits; `register` says whether the destination is an x87
 * register (unmasked #O/#U then deliver the wrapped result; for memory nothing is stored).
 */
export function round(s: number, sig: bigint, exp: number, fmt: Format, p: number, rc: number, masks: number, register: boolean): Rounded {
  if (sig === 0n) return { s, inf: false, sig: 0n, exp: 0, flags: 0, up: false, wrapped: false };
  const lead = exp + bitLength(sig) - 1;
  // Round with an unbounded exponent first: tininess is detected after rounding (SDM Vol. 1 §4.9.1.5).
  const q = lead - (p - 1);
  const r1 = roundAt(s, sig, exp, q, rc);
  const lead1 = q + bitLength(r1.sig) - 1;
  // An unmasked #O/#U whose wrapped exponent is still out of range (fscale by a huge power):
  // the host CPU delivers a signed zero (#U) or infinity (#O), with #P, whatever RC says.
  if (register && lead1 > fmt.emax + 24576 && (masks & OE) === 0) return { s, inf: true, sig: 0n, exp: 0, flags: OE | PE, up: true, wrapped: false };
  if (register && lead1 < fmt.emin - 24576 && (masks & UE) === 0) return { s, inf: false, sig: 0n, exp: 0, flags: UE | PE, up: false, wrapped: false };
  if (lead1 > fmt.emax) {
    if ((masks & OE) === 0) {
      // A memory destination is left alone and only #O is reported (the host sets no #P then).
      if (!register) return { s, inf: false, sig: r1.sig, exp: q, flags: OE, up: false, wrapped: false };
      return { s, inf: false, sig: r1.sig, exp: q - 24576, flags: OE | (r1.inexact ? PE : 0), up: r1.up, wrapped: true };
    }
    // Masked overflow (SDM Vol. 1 Table 4-10): infinity, or the largest finite value when rounding toward zero/away from the sign.
    const toInf = rc === RC_NEAREST || (rc === RC_UP && s === 0) || (rc === RC_DOWN && s === 1);
    if (toInf) return { s, inf: true, sig: 0n, exp: 0, flags: OE | PE, up: true, wrapped: false };
    return { s, inf: false, sig: (1n << BigInt(p)) - 1n, exp: fmt.emax - (p - 1), flags: OE | PE, up: false, wrapped: false };
  }
  const tiny = lead1 < fmt.emin;
  if (tiny && (masks & UE) === 0) {
    // Unmasked underflow: a register gets the unbounded result with the exponent wrapped.
    const flags = UE | (r1.inexact ? PE : 0);
    if (!register) return { s, inf: false, sig: r1.sig, exp: q, flags: UE, up: false, wrapped: false };
    return { s, inf: false, sig: r1.sig, exp: q + 24576, flags, up: r1.up, wrapped: true };
  }
  if (lead >= fmt.emin) return { s, inf: false, sig: r1.sig, exp: q, flags: r1.inexact ? PE : 0, up: r1.up, wrapped: false };
  // Denormal result: rounded at the smallest quantum of the precision in force (under PC, as if the
  // format had p bits and the extended exponent range; the host CPU agrees).
  const qd = Math.max(q, fmt.emin - (p - 1));
  const r2 = roundAt(s, sig, exp, qd, rc);
  const flags = r2.inexact ? (tiny ? UE | PE : PE) : 0;
  return { s, inf: false, sig: r2.sig, exp: qd, flags, up: r2.up, wrapped: false };
}

/** Packs a rounded value into float80 (normal or denormal). */
export function pack80(r: Rounded): F80 {
  if (r.inf) return { s: r.s, e: EMAX, m: J };
  if (r.sig === 0n) return { s: r.s, e: 0, m: 0n };
  const L = bitLength(r.sig);
  const lead = r.exp + L - 1;
  if (lead >= EXT.emin || r.wrapped) return { s: r.s, e: (lead + BIAS) & 0x7fff, m: (r.sig << BigInt(64 - L)) & M64 };
  return { s: r.s, e: 0, m: r.sig << BigInt(r.exp - (EXT.emin - 63)) };
}

/** Packs a rounded value into an IEEE binary32/binary64 bit pattern (as a bigint). */
export function packIeee(r: Rounded, fmt: Format): bigint {
  const fb = BigInt(fmt.p - 1);
  const ebits = fmt === SGL ? 8n : 11n;
  const emaxBiased = (1n << ebits) - 1n;
  const bias = fmt.emax;
  const sign = BigInt(r.s) << (fb + ebits);
  if (r.inf) return sign | (emaxBiased << fb);
  if (r.sig === 0n) return sign;
  const L = bitLength(r.sig);
  const lead = r.exp + L - 1;
  if (lead >= fmt.emin) {
    const frac = (r.sig << BigInt(fmt.p - L)) & ((1n << fb) - 1n);
    return sign | (BigInt(lead + bias) << fb) | frac;
  }
  return sign | (r.sig << BigInt(r.exp - (fmt.emin - (fmt.p - 1))));
}

// ---- conversions from memory formats ----------------------------------------------------------

/** binary32/binary64 → float80 (exact). Reports #IA for an SNaN (quieted) and #D for a denormal. */
export function fromIeee(bits: bigint, fmt: Format): { v: F80; flags: number } {
  const fb = BigInt(fmt.p - 1);
  const ebits = fmt === SGL ? 8n : 11n;
  const s = Number(bits >> (fb + ebits)) & 1;
  const e = Number((bits >> fb) & ((1n << ebits) - 1n));
  const frac = bits & ((1n << fb) - 1n);
  const emaxBiased = Number((1n << ebits) - 1n);
  const up = BigInt(63 - (fmt.p - 1));
  if (e === emaxBiased) {
    if (frac === 0n) return { v: { s, e: EMAX, m: J }, flags: 0 };
    // An SNaN stays signalling here (an arithmetic operand still propagates as one); fld quiets it.
    const snan = (frac & (1n << (fb - 1n))) === 0n;
    return { v: { s, e: EMAX, m: J | (frac << up) }, flags: snan ? IE : 0 };
  }
  if (e === 0) {
    if (frac === 0n) return { v: { s, e: 0, m: 0n }, flags: 0 };
    const L = bitLength(frac);
    const lead = fmt.emin - (fmt.p - 1) + L - 1;
    return { v: { s, e: lead + BIAS, m: frac << BigInt(64 - L) }, flags: DE };
  }
  return { v: { s, e: e - fmt.emax + BIAS, m: J | (frac << up) }, flags: 0 };
}

/** A signed integer → float80 (exact for 64 bits). */
export function fromInt(v: bigint): F80 {
  if (v === 0n) return { s: 0, e: 0, m: 0n };
  const s = v < 0n ? 1 : 0;
  const a = s ? -v : v;
  const L = bitLength(a);
  return { s, e: L - 1 + BIAS, m: a << BigInt(64 - L) };
}

// ---- NaN handling -----------------------------------------------------------------------------

export const quiet = (a: F80): F80 => ({ s: a.s, e: a.e, m: a.m | QUIET });

/** Which NaN an operation with NaN operands returns (SDM Vol. 1 Table 4-7, x87 column). */
export function propagate(a: F80, ka: Kind, b: F80, kb: Kind): F80 {
  const an = isNaN80(ka), bn = isNaN80(kb);
  if (an && !bn) return quiet(a);
  if (bn && !an) return quiet(b);
  if (ka === Kind.SNaN && kb === Kind.QNaN) return b;
  if (kb === Kind.SNaN && ka === Kind.QNaN) return a;
  // Both SNaN or both QNaN: the larger significand; equal significands: the positive one.
  const ma = a.m | QUIET, mb = b.m | QUIET;
  if (ma > mb) return quiet(a);
  if (mb > ma) return quiet(b);
  return a.s <= b.s ? quiet(a) : quiet(b);
}

// ---- arithmetic -------------------------------------------------------------------------------

/** The outcome of an arithmetic operation: a value to store (unless an unmasked exception forbids it). */
export interface Result { v: F80; flags: number; up: boolean; store: boolean }

export interface Env { rc: number; p: number; masks: number }

export function envOf(fcw: number): Env {
  return { rc: (fcw >> 10) & 3, p: pcBits(fcw), masks: fcw & 0x3f };
}

function invalid(env: Env, flags = 0): Result {
  return { v: INDEFINITE, flags: flags | IE, up: false, store: (env.masks & IE) !== 0 };
}

/**
 * Operand checks, in the order the host CPU applies them: unsupported encodings and NaNs first
 * (SNaN: #IA; NaNs propagate), then the operation's own invalid/zero-divide cases, and only
 * then #D for a denormal operand (an x/0 or sqrt(-denormal) reports no #D). An unmasked #D stops
 * the operation (SDM Vol. 1 §8.5.2). `den` carries a #D from converting an m32/m64 operand.
 */
function nanCheck(env: Env, a: F80, ka: Kind, b: F80 | undefined, kb: Kind | undefined): Result | undefined {
  if (ka === Kind.Unsupported || kb === Kind.Unsupported) return invalid(env);
  if (isNaN80(ka) || (kb !== undefined && isNaN80(kb))) {
    const flags = ka === Kind.SNaN || kb === Kind.SNaN ? IE : 0;
    const v = b === undefined || kb === undefined ? quiet(a) : propagate(a, ka, b, kb);
    return { v, flags, up: false, store: !(flags & IE) || (env.masks & IE) !== 0 };
  }
  return undefined;
}

function denCheck(env: Env, a: F80, ka: Kind, kb: Kind | undefined, den: number): Result | number {
  const d = ka === Kind.Denormal || kb === Kind.Denormal ? DE : den & DE;
  if (d && (env.masks & DE) === 0) return { v: a, flags: DE, up: false, store: false };
  return d;
}

function finish(env: Env, s: number, sig: bigint, exp: number, flags: number): Result {
  const r = round(s, sig, exp, EXT, env.p, env.rc, env.masks, true);
  const all = flags | r.flags;
  return { v: pack80(r), flags: all, up: r.up, store: true };
}

const infOf = (s: number): F80 => ({ s, e: EMAX, m: J });
const zeroOf = (s: number): F80 => ({ s, e: 0, m: 0n });

export function add(env: Env, a: F80, b: F80, negB = false, den = 0): Result {
  const ka = kind(a), kb = kind(b);
  // NaNs propagate with their own sign: negate b (subtraction) only after the NaN checks.
  const nan = nanCheck(env, a, ka, b, kb);
  if (nan) return nan;
  if (negB) b = { s: b.s ^ 1, e: b.e, m: b.m };
  if (ka === Kind.Inf && kb === Kind.Inf && a.s !== b.s) return invalid(env);
  const pre = denCheck(env, a, ka, kb, den);
  if (typeof pre !== "number") return pre;
  if (ka === Kind.Inf || kb === Kind.Inf) return { v: infOf(ka === Kind.Inf ? a.s : b.s), flags: pre, up: false, store: true };
  if (ka === Kind.Zero && kb === Kind.Zero) {
    const s = a.s === b.s ? a.s : env.rc === RC_DOWN ? 1 : 0;
    return { v: zeroOf(s), flags: pre, up: false, store: true };
  }
  let { sig: sa, exp: ea } = unpack(a);
  let { sig: sb, exp: eb } = unpack(b);
  if (ka === Kind.Zero) return finish(env, b.s, sb, eb, pre);
  if (kb === Kind.Zero) return finish(env, a.s, sa, ea, pre);
  // Far apart: the smaller operand only matters as a sticky bit below the rounding position.
  const la = ea + bitLength(sa), lb = eb + bitLength(sb);
  if (la - lb > 140) { sb = 1n; eb = la - 200; } else if (lb - la > 140) { sa = 1n; ea = lb - 200; }
  const e = Math.min(ea, eb);
  const va = (a.s ? -sa : sa) << BigInt(ea - e);
  const vb = (b.s ? -sb : sb) << BigInt(eb - e);
  const sum = va + vb;
  if (sum === 0n) return { v: zeroOf(env.rc === RC_DOWN ? 1 : 0), flags: pre, up: false, store: true };
  return finish(env, sum < 0n ? 1 : 0, sum < 0n ? -sum : sum, e, pre);
}

export function mul(env: Env, a: F80, b: F80, den = 0): Result {
  const ka = kind(a), kb = kind(b);
  const nan = nanCheck(env, a, ka, b, kb);
  if (nan) return nan;
  const s = a.s ^ b.s;
  if ((ka === Kind.Inf && kb === Kind.Zero) || (kb === Kind.Inf && ka === Kind.Zero)) return invalid(env);
  const pre = denCheck(env, a, ka, kb, den);
  if (typeof pre !== "number") return pre;
  if (ka === Kind.Inf || kb === Kind.Inf) return { v: infOf(s), flags: pre, up: false, store: true };
  if (ka === Kind.Zero || kb === Kind.Zero) return { v: zeroOf(s), flags: pre, up: false, store: true };
  const ua = unpack(a), ub = unpack(b);
  return finish(env, s, ua.sig * ub.sig, ua.exp + ub.exp, pre);
}

export function div(env: Env, a: F80, b: F80, den = 0): Result {
  const ka = kind(a), kb = kind(b);
  const nan = nanCheck(env, a, ka, b, kb);
  if (nan) return nan;
  const s = a.s ^ b.s;
  if ((ka === Kind.Inf && kb === Kind.Inf) || (ka === Kind.Zero && kb === Kind.Zero)) return invalid(env);
  if (kb === Kind.Zero && ka !== Kind.Inf) return { v: infOf(s), flags: ZE, up: false, store: (env.masks & ZE) !== 0 };
  const pre = denCheck(env, a, ka, kb, den);
  if (typeof pre !== "number") return pre;
  if (ka === Kind.Inf) return { v: infOf(s), flags: pre, up: false, store: true };
  if (kb === Kind.Inf) return { v: zeroOf(s), flags: pre, up: false, store: true };
  if (kb === Kind.Zero) return { v: infOf(s), flags: pre, up: false, store: true };
  if (ka === Kind.Zero) return { v: zeroOf(s), flags: pre, up: false, store: true };
  const ua = unpack(a), ub = unpack(b);
  const k = 70 + bitLength(ub.sig) - bitLength(ua.sig);
  const num = ua.sig << BigInt(Math.max(k, 0));
  let q = num / ub.sig;
  const rem = num - q * ub.sig;
  let exp = ua.exp - Math.max(k, 0) - ub.exp;
  if (rem !== 0n) { q = (q << 1n) | 1n; exp -= 1; }
  return finish(env, s, q, exp, pre);
}

export function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = 1n << BigInt((bitLength(n) + 1) >> 1);
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

export function sqrt(env: Env, a: F80): Result {
  const ka = kind(a);
  const nan = nanCheck(env, a, ka, undefined, undefined);
  if (nan) return nan;
  if (a.s === 1 && ka !== Kind.Zero) return invalid(env);
  const pre = denCheck(env, a, ka, undefined, 0);
  if (typeof pre !== "number") return pre;
  if (ka === Kind.Zero || ka === Kind.Inf) return { v: a, flags: pre, up: false, store: true };
  let { sig, exp } = unpack(a);
  // Scale to at least 140 bits with an even exponent, then the integer root plus a sticky bit.
  let k = Math.max(0, 140 - bitLength(sig));
  if ((exp - k) & 1) k++;
  sig <<= BigInt(k);
  exp -= k;
  let r = isqrt(sig);
  let e = exp / 2;
  if (r * r !== sig) { r = (r << 1n) | 1n; e -= 1; }
  return finish(env, 0, r, e, pre);
}

/** Rounds to an integer value under RC (frndint; fist uses toInt). */
export function roundInt(env: Env, a: F80): Result {
  const ka = kind(a);
  const nan = nanCheck(env, a, ka, undefined, undefined);
  if (nan) return nan;
  const pre = denCheck(env, a, ka, undefined, 0);
  if (typeof pre !== "number") return pre;
  if (ka !== Kind.Normal && ka !== Kind.Denormal) return { v: a, flags: pre, up: false, store: true };
  const { sig, exp } = unpack(a);
  if (exp >= 0) return { v: a, flags: pre, up: false, store: true };
  const r = roundAt(a.s, sig, exp, 0, env.rc);
  if (r.sig === 0n) return { v: zeroOf(a.s), flags: pre | (r.inexact ? PE : 0), up: false, store: true };
  const v = pack80({ s: a.s, inf: false, sig: r.sig, exp: 0, flags: 0, up: false, wrapped: false });
  return { v, flags: pre | (r.inexact ? PE : 0), up: r.up, store: true };
}

/**
 * float80 → signed integer of `bits` bits, rounded by `rc` (fist/fistp; fisttp passes RC_ZERO).
 * Out of range, NaN, infinity or unsupported: #IA, and the integer indefinite (the most negative value).
 */
export function toInt(a: F80, bits: number, rc: number): { v: bigint; flags: number; up: boolean; invalid: boolean } {
  const ka = kind(a);
  const indefinite = { v: -(1n << BigInt(bits - 1)), flags: IE, up: false, invalid: true };
  if (ka === Kind.Zero) return { v: 0n, flags: 0, up: false, invalid: false };
  if (ka !== Kind.Normal && ka !== Kind.Denormal) return indefinite;
  // No #D here: FIST's exceptions are #IS, #IA and #P (SDM Vol. 2A FIST/FISTP).
  const { sig, exp } = unpack(a);
  const r = roundAt(a.s, sig, exp, 0, rc);
  const v = a.s ? -r.sig : r.sig;
  const lim = 1n << BigInt(bits - 1);
  if (v >= lim || v < -lim) return indefinite;
  return { v, flags: r.inexact ? PE : 0, up: r.up, invalid: false };
}

/** float80 → binary32/binary64 for fst/fstp m32/m64 (rounded by RC; PC does not apply). */
export function toIeee(env: Env, a: F80, fmt: Format): { bits: bigint; flags: number; up: boolean; store: boolean } {
  const ka = kind(a);
  const fb = BigInt(fmt.p - 1);
  const ebits = fmt === SGL ? 8n : 11n;
  const sign = BigInt(a.s) << (fb + ebits);
  const expAll = ((1n << ebits) - 1n) << fb;
  const masked = (env.masks & IE) !== 0;
  if (ka === Kind.Unsupported) return { bits: (1n << (fb + ebits)) | expAll | (1n << (fb - 1n)), flags: IE, up: false, store: masked };
  if (isNaN80(ka)) {
    const frac = ((a.m | QUIET) & ~J) >> BigInt(63 - (fmt.p - 1));
    return { bits: sign | expAll | frac, flags: ka === Kind.SNaN ? IE : 0, up: false, store: ka !== Kind.SNaN || masked };
  }
  if (ka === Kind.Inf) return { bits: sign | expAll, flags: 0, up: false, store: true };
  if (ka === Kind.Zero) return { bits: sign, flags: 0, up: false, store: true };
  // A float80 denormal source raises no #D here (the host CPU agrees): only #U/#P.
  const { sig, exp } = unpack(a);
  const r = round(a.s, sig, exp, fmt, fmt.p, env.rc, env.masks, false);
  const unmaskedOU = (r.flags & (OE | UE) & ~env.masks) !== 0;
  return { bits: packIeee(r, fmt), flags: r.flags, up: r.up, store: !unmaskedOU };
}

/** Comparison outcome: -1 less, 0 equal, 1 greater, 2 unordered. */
export function compare(a: F80, b: F80): { rel: number; ka: Kind; kb: Kind } {
  const ka = kind(a), kb = kind(b);
  if (ka === Kind.Unsupported || kb === Kind.Unsupported || isNaN80(ka) || isNaN80(kb)) return { rel: 2, ka, kb };
  const va = valueSign(a, ka), vb = valueSign(b, kb);
  return { rel: va < vb ? -1 : va > vb ? 1 : 0, ka, kb };
}

/** An orderable key: infinities as ±Infinity, finite values as exact rationals compared via BigInt. */
function valueSign(a: F80, k: Kind): number | bigint {
  if (k === Kind.Zero) return 0;
  if (k === Kind.Inf) return a.s ? -Infinity : Infinity;
  // Same scale for every finite value: sig·2^(exp - minExp) fits a BigInt of at most ~32k bits.
  const { sig, exp } = unpack(a);
  const v = sig << BigInt(exp - (EXT.emin - 63));
  return a.s ? -v : v;
}

export function words(a: F80): [number, number, number, number, number] {
  return [Number(a.m & 0xffffn), Number((a.m >> 16n) & 0xffffn), Number((a.m >> 32n) & 0xffffn), Number((a.m >> 48n) & 0xffffn), (a.s << 15) | a.e];
}

export function fromWords(w: ArrayLike<number>, o = 0): F80 {
  const m = BigInt(w[o]!) | (BigInt(w[o + 1]!) << 16n) | (BigInt(w[o + 2]!) << 32n) | (BigInt(w[o + 3]!) << 48n);
  const se = w[o + 4]!;
  return { s: se >> 15, e: se & 0x7fff, m };
}

// ---- fprem / fprem1 / fscale / fxtract -------------------------------------------------------

/** Unbiased exponent of the leading bit of a finite nonzero operand (denormals normalised). */
function leadExp(a: F80): number {
  const { sig, exp } = unpack(a);
  return exp + bitLength(sig) - 1;
}

/**
 * fprem (truncating) / fprem1 (IEEE, nearest-even) partial remainder of a by b (SDM Vol. 2A
 * FPREM): exact. With an exponent difference D ≥ 64 only a partial reduction is done (C2=1):
 * the quotient is taken to 2^(D-N) with N = 32 + D mod 32, as the host CPU does.
 * Returns the remainder and the low three quotient bits (for C0/C3/C1), or a special result.
 */
export function prem(env: Env, a: F80, b: F80, ieee: boolean): { r: Result; q: number; partial: boolean; special?: boolean } {
  const ka = kind(a), kb = kind(b);
  // NaN and invalid results leave C0/C3 as they were (the host CPU clears only C2 and C1).
  const nan = nanCheck(env, a, ka, b, kb);
  if (nan) return { r: nan, q: 0, partial: false, special: true };
  if (ka === Kind.Inf || kb === Kind.Zero) return { r: invalid(env), q: 0, partial: false, special: true };
  const pre = denCheck(env, a, ka, kb, 0);
  if (typeof pre !== "number") return { r: pre, q: 0, partial: false, special: true };
  // An unchanged ST(0) is re-encoded: a pseudo-denormal comes back with exponent 1 (as on the host).
  // (and a denormal one, with #U unmasked, comes back normalised with the wrapped exponent).
  const ra = ka === Kind.Zero || kb === Kind.Inf ? undefined : round(a.s, unpack(a).sig, unpack(a).exp, EXT, 64, env.rc, env.masks, true);
  const same = { v: ra ? pack80(ra) : a.e === 0 && (a.m & J) !== 0n ? { s: a.s, e: 1, m: a.m } : a, flags: pre | (ra ? ra.flags & ~PE : 0), up: false, store: true };
  if (ka === Kind.Zero || kb === Kind.Inf) return { r: same, q: 0, partial: false };
  const ua = unpack(a), ub = unpack(b);
  const d = leadExp(a) - leadExp(b);
  if (d < 0 && !ieee) return { r: same, q: 0, partial: false };
  let partial = false;
  let scale = 0;
  if (d >= 64) { partial = true; scale = d - (32 + (d % 32)); }
  // a = A·2^ea, b = B·2^eb; quotient of a / (b·2^scale).
  const e = Math.min(ua.exp, ub.exp + scale);
  const A = ua.sig << BigInt(ua.exp - e);
  const B = ub.sig << BigInt(ub.exp + scale - e);
  let q = A / B;
  let rem = A - q * B;
  if (ieee && !partial) {
    const twice = rem * 2n;
    if (twice > B || (twice === B && (q & 1n) === 1n)) { q += 1n; rem -= B; }
  }
  const s = rem < 0n ? a.s ^ 1 : a.s;
  const mag = rem < 0n ? -rem : rem;
  if (mag === 0n) return { r: { v: zeroOf(a.s), flags: pre, up: false, store: true }, q: Number(q & 7n), partial };
  const r = round(s, mag, e, EXT, 64, env.rc, env.masks, true);
  return { r: { v: pack80(r), flags: pre | (r.flags & ~PE), up: false, store: true }, q: Number(q & 7n), partial };
}

/** fscale: a·2^trunc(b) (SDM Vol. 2A FSCALE, Table 3-?: the ±∞ and zero combinations). */
export function scale(env: Env, a: F80, b: F80): Result {
  const ka = kind(a), kb = kind(b);
  const nan = nanCheck(env, a, ka, b, kb);
  if (nan) return nan;
  if (kb === Kind.Inf && ((b.s === 0 && ka === Kind.Zero) || (b.s === 1 && ka === Kind.Inf))) return invalid(env);
  const pre = denCheck(env, a, ka, kb, 0);
  if (typeof pre !== "number") return pre;
  if (kb === Kind.Inf) return { v: b.s === 0 ? (ka === Kind.Zero ? a : infOf(a.s)) : ka === Kind.Zero ? a : zeroOf(a.s), flags: pre, up: false, store: true };
  if (ka === Kind.Zero || ka === Kind.Inf) return { v: a, flags: pre, up: false, store: true };
  let n = 0;
  if (kb !== Kind.Zero) {
    const ub = unpack(b);
    const t = ub.exp >= 0 ? ub.sig << BigInt(Math.min(ub.exp, 40)) : ub.sig >> BigInt(-ub.exp);
    n = Number(t > 100000n ? 100000n : t) * (b.s ? -1 : 1);
  }
  // Rounded at 64 bits whatever PC says (the host leaves a denormal ·2^0 unchanged under PC=53).
  const ua = unpack(a);
  return finish({ ...env, p: 64 }, a.s, ua.sig, ua.exp + n, pre);
}

/** fxtract: [exponent as a value, significand with exponent 0] (SDM Vol. 2A FXTRACT). */
export function extract(env: Env, a: F80): { exp: Result; sig: F80 } | Result {
  const ka = kind(a);
  const nan = nanCheck(env, a, ka, undefined, undefined);
  if (nan) return nan;
  if (ka === Kind.Zero) {
    // Zero: #Z, exponent -∞ and the zero as significand.
    return { exp: { v: infOf(1), flags: ZE, up: false, store: (env.masks & ZE) !== 0 }, sig: a };
  }
  if (ka === Kind.Inf) return { exp: { v: infOf(0), flags: 0, up: false, store: true }, sig: a };
  const pre = denCheck(env, a, ka, undefined, 0);
  if (typeof pre !== "number") return pre;
  const { sig } = unpack(a);
  const L = bitLength(sig);
  const ev = fromInt(BigInt(leadExp(a)));
  return { exp: { v: ev, flags: pre, up: false, store: true }, sig: { s: a.s, e: BIAS, m: sig << BigInt(64 - L) } };
}
