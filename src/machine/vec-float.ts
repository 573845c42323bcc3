/**
 * SSE/SSE2 floating point on XMM slots (SDM Vol. 1 §11.5): each lane through softfloat.ts, then
 * MXCSR's exception handling. A masked exception only sets its flag; an unmasked one raises #XM
 * (#UD if CR4.OSXMMEXCPT is clear) with the destination unchanged: when any lane has an
 * unmasked pre-computation exception (IE, DE, ZE) only the pre-computation flags of all lanes are
 * set; otherwise the flags of every lane are (SDM Vol. 1 §11.5.2.1).
 */
import { VEC_RES } from "./cpu-state";
import { GuestFault, Vector } from "./exits";
import { CR4_OSXMMEXCPT } from "./registers";
import * as S from "./softfloat";
import type { Vcpu } from "./vcpu";

const PRE = S.IE | S.DE | S.ZE;

function lane(c: Vcpu, slot: number, i: number, dbl: boolean): bigint {
  const x = c.vd;
  if (!dbl) return BigInt(x[slot * 4 + i]! >>> 0);
  return (BigInt(x[slot * 4 + 2 * i + 1]! >>> 0) << 32n) | BigInt(x[slot * 4 + 2 * i]! >>> 0);
}
function setLane(c: Vcpu, slot: number, i: number, dbl: boolean, v: bigint): void {
  const x = c.vd;
  if (!dbl) { x[slot * 4 + i] = Number(v & 0xffffffffn) | 0; return; }
  x[slot * 4 + 2 * i] = Number(v & 0xffffffffn) | 0;
  x[slot * 4 + 2 * i + 1] = Number((v >> 32n) & 0xffffffffn) | 0;
}

/** Applies the exception flags of one instruction; throws #XM for an unmasked one. */
export function signal(c: Vcpu, flags: number): void {
  const masks = (c.mxcsr >> 7) & 63;
  const pre = flags & PRE;
  if ((pre & ~masks) !== 0) { c.mxcsr |= pre; xm(c, pre & ~masks); }
  if ((flags & ~masks) !== 0) { c.mxcsr |= flags; xm(c, flags & ~masks); }
  c.mxcsr |= flags;
}
function xm(c: Vcpu, which: number): never {
  const v = (c.cr4 & CR4_OSXMMEXCPT) !== 0 ? Vector.XM : Vector.UD;
  throw new GuestFault(v, undefined, `unmasked SIMD floating-point exception (MXCSR flags 0x${which.toString(16)})`);
}

const fmt = (dbl: boolean) => (dbl ? S.F64 : S.F32);

/** Copies `lanes` result lanes (of the lane width) from the result slot into slot d. */
function commit(c: Vcpu, d: number, lanes: number, dbl: boolean): void {
  const n = dbl ? lanes * 2 : lanes;
  for (let i = 0; i < n; i++) c.vd[d * 4 + i] = c.vd[VEC_RES * 4 + i]!;
}

export type FpOp = S.BinOp | "min" | "max" | "sqrt";

const MIN_NORMAL64 = 2 ** -1022, MIN_NORMAL32 = 2 ** -126;
const fastScratch = new Float64Array(4);

/**
 * The common case without softfloat: round to nearest, MXCSR.PE already set and masked (so
 * whether this result is inexact changes nothing), normal or zero operands and a normal result
 * (or an exact zero of add/sub). Then the JS double operation is the IEEE result; for single
 * precision Math.fround(double result) is too, since double rounding is innocuous for +, -, ×,
 * ÷ and √ when 53 ≥ 2·24 + 2 (Figueroa, "When is double rounding innocuous?", 1995). Returns
 * false (nothing written) when any lane needs the exact path.
 */
function fast(c: Vcpu, op: FpOp, dbl: boolean, d: number, s: number, lanes: number): boolean {
  if ((c.mxcsr & 0x7020) !== 0x1020) return false; // RC = nearest, PM masked, PE set
  const view = dbl ? c.vq : c.vf, per = dbl ? 2 : 4, min = dbl ? MIN_NORMAL64 : MIN_NORMAL32;
  for (let i = 0; i < lanes; i++) {
    const b = view[s * per + i]!, a = view[d * per + i]!;
    const ab = Math.abs(b), aa = Math.abs(a);
    if (!(ab >= min && ab < Infinity) && b !== 0) return false;
    let r: number;
    if (op === "sqrt") { if (b < 0) return false; r = Math.sqrt(b); }
    else {
      if (!(aa >= min && aa < Infinity) && a !== 0) return false;
      r = op === "add" ? a + b : op === "sub" ? a - b : op === "mul" ? a * b : op === "div" ? a / b : NaN;
      if (!dbl) r = Math.fround(r);
      const ar = Math.abs(r);
      if (!(ar >= min && ar < Infinity) && !(r === 0 && (op === "add" || op === "sub" || a === 0 || (op === "mul" && b === 0)))) return false;
    }
    fastScratch[i] = r;
  }
  for (let i = 0; i < lanes; i++) view[d * per + i] = fastScratch[i]!;
  return true;
}

/** addps/addss/.../sqrtpd: `lanes` lanes (1 = the scalar form: the rest of d is kept). */
export function fp(c: Vcpu, op: FpOp, dbl: boolean, d: number, s: number, lanes: number): void {
  if (op !== "min" && op !== "max" && fast(c, op, dbl, d, s, lanes)) return;
  const f = fmt(dbl), m = S.modeOf(c.mxcsr);
  let flags = 0;
  for (let i = 0; i < lanes; i++) {
    const b = S.decode(lane(c, s, i, dbl), f, m.daz);
    let r: [bigint, number];
    if (op === "sqrt") r = S.sqrt(b, f, m);
    else {
      const a = S.decode(lane(c, d, i, dbl), f, m.daz);
      r = op === "min" || op === "max" ? S.minMax(op === "max", a, b) : S.arith(op, a, b, f, m);
    }
    setLane(c, VEC_RES, i, dbl, r[0]);
    flags |= r[1];
  }
  signal(c, flags);
  commit(c, d, lanes, dbl);
}

/** cmpps/cmpss/cmppd/cmpsd with predicate imm & 7: all-ones or zero per lane. */
export function cmp(c: Vcpu, dbl: boolean, d: number, s: number, lanes: number, pred: number): void {
  const f = fmt(dbl), m = S.modeOf(c.mxcsr);
  let flags = 0;
  for (let i = 0; i < lanes; i++) {
    const [t, fl] = S.cmpPredicate(pred & 7, S.decode(lane(c, d, i, dbl), f, m.daz), S.decode(lane(c, s, i, dbl), f, m.daz));
    setLane(c, VEC_RES, i, dbl, t ? (dbl ? 0xffffffffffffffffn : 0xffffffffn) : 0n);
    flags |= fl;
  }
  signal(c, flags);
  commit(c, d, lanes, dbl);
}

/** comiss/ucomiss/comisd/ucomisd: ZF PF CF = 111 unordered, 000 greater, 001 less, 100 equal; OF SF AF cleared. */
export function comi(c: Vcpu, dbl: boolean, d: number, s: number, signalling: boolean): void {
  // Without NaNs or denormals no flag can be raised: compare the JS numbers (the common case).
  const view = dbl ? c.vq : c.vf, per = dbl ? 2 : 4, min = dbl ? MIN_NORMAL64 : MIN_NORMAL32;
  const x = view[d * per]!, y = view[s * per]!;
  const ax = Math.abs(x), ay = Math.abs(y);
  if ((ax >= min || x === 0) && (ay >= min || y === 0)) { c.setArith(x === y ? 0x40 : x < y ? 0x01 : 0); return; }
  const f = fmt(dbl), m = S.modeOf(c.mxcsr);
  const a = S.decode(lane(c, d, 0, dbl), f, m.daz), b = S.decode(lane(c, s, 0, dbl), f, m.daz);
  const unord = S.isNaN_(a) || S.isNaN_(b);
  const snan = a.cls === S.Cls.SNaN || b.cls === S.Cls.SNaN;
  const flags = snan || (unord && signalling) ? S.IE : unord ? 0 : (a.cls === S.Cls.Denormal || b.cls === S.Cls.Denormal ? S.DE : 0);
  signal(c, flags);
  const k = unord ? 0x45 : ((x) => (x === 0 ? 0x40 : x < 0 ? 0x01 : 0))(S.compare(a, b));
  c.setArith(k);
}

/** cvtsi2ss/cvtsi2sd: the signed integer lo (and hi for a 64-bit source) into lane 0 of d. */
export function cvtsi2f(c: Vcpu, dbl: boolean, d: number, lo: number, hi: number, is64: boolean): void {
  const v = is64 ? (BigInt(hi) << 32n) | BigInt(lo >>> 0) : BigInt(lo | 0);
  const [r, flags] = S.fromInt(v, fmt(dbl), S.modeOf(c.mxcsr));
  signal(c, flags);
  setLane(c, d, 0, dbl, r);
}

/** cvt(t)ss2si/cvt(t)sd2si: lane 0 of s to a 32/64-bit integer; returns the low half, high in c.tH. */
export function cvtf2si(c: Vcpu, dbl: boolean, s: number, is64: boolean, truncate: boolean): number {
  const m = S.modeOf(c.mxcsr);
  const [v, flags] = S.toInt(S.decode(lane(c, s, 0, dbl), fmt(dbl), m.daz), is64 ? 64 : 32, truncate, m);
  signal(c, flags);
  const u = BigInt.asUintN(64, v);
  c.tH = is64 ? Number(u >> 32n) | 0 : 0;
  return Number(u & 0xffffffffn) | 0;
}

export type CvtKind = "ss2sd" | "sd2ss" | "dq2ps" | "ps2dq" | "tps2dq" | "dq2pd" | "pd2dq" | "tpd2dq" | "ps2pd" | "pd2ps";

/** The lane-converting forms. Scalar ones keep the rest of d; pd2dq/tpd2dq/pd2ps zero its upper half. */
export function cvt(c: Vcpu, kind: CvtKind, d: number, s: number): void {
  const m = S.modeOf(c.mxcsr);
  let flags = 0;
  const x = c.vd, R = VEC_RES * 4;
  const put = (r: [bigint, number], i: number, dbl: boolean) => { setLane(c, VEC_RES, i, dbl, r[0]); flags |= r[1]; };
  const f32 = (i: number) => S.decode(lane(c, s, i, false), S.F32, m.daz);
  const f64 = (i: number) => S.decode(lane(c, s, i, true), S.F64, m.daz);
  const int32 = (r: [bigint, number], i: number) => { x[R + i] = Number(BigInt.asUintN(32, r[0])) | 0; flags |= r[1]; };
  switch (kind) {
    case "ss2sd": put(S.convert(f32(0), S.F32, S.F64, m), 0, true); signal(c, flags); commit(c, d, 1, true); return;
    case "sd2ss": put(S.convert(f64(0), S.F64, S.F32, m), 0, false); signal(c, flags); commit(c, d, 1, false); return;
    case "dq2ps": for (let i = 0; i < 4; i++) put(S.fromInt(BigInt(x[s * 4 + i]!), S.F32, m), i, false); break;
    case "ps2dq": case "tps2dq": for (let i = 0; i < 4; i++) int32(S.toInt(f32(i), 32, kind === "tps2dq", m), i); break;
    case "dq2pd": { const a = x[s * 4]!, b = x[s * 4 + 1]!; put(S.fromInt(BigInt(a), S.F64, m), 0, true); put(S.fromInt(BigInt(b), S.F64, m), 1, true); break; }
    case "pd2dq": case "tpd2dq": for (let i = 0; i < 2; i++) int32(S.toInt(f64(i), 32, kind === "tpd2dq", m), i); x[R + 2] = 0; x[R + 3] = 0; break;
    case "ps2pd": { const a = f32(0), b = f32(1); put(S.convert(a, S.F32, S.F64, m), 0, true); put(S.convert(b, S.F32, S.F64, m), 1, true); break; }
    case "pd2ps": for (let i = 0; i < 2; i++) put(S.convert(f64(i), S.F64, S.F32, m), i, false); x[R + 2] = 0; x[R + 3] = 0; break;
  }
  signal(c, flags);
  commit(c, d, 4, false);
}

/** SSE3 addsubps/pd (even lanes subtract, odd add), haddps/pd and hsubps/pd (pairs of d, then of s). */
export function fpHorizontal(c: Vcpu, kind: "addsub" | "hadd" | "hsub", dbl: boolean, d: number, s: number): void {
  const f = fmt(dbl), m = S.modeOf(c.mxcsr), n = dbl ? 2 : 4;
  const get = (slot: number, i: number) => S.decode(lane(c, slot, i, dbl), f, m.daz);
  let flags = 0;
  for (let i = 0; i < n; i++) {
    let r: [bigint, number];
    if (kind === "addsub") r = S.arith(i % 2 === 0 ? "sub" : "add", get(d, i), get(s, i), f, m);
    else {
      const src = i < n / 2 ? d : s, k = (i % (n / 2)) * 2;
      r = S.arith(kind === "hadd" ? "add" : "sub", get(src, k), get(src, k + 1), f, m);
    }
    setLane(c, VEC_RES, i, dbl, r[0]);
    flags |= r[1];
  }
  signal(c, flags);
  commit(c, d, n, dbl);
}

/** roundss/sd/ps/pd: imm bit 2 selects MXCSR.RC, else imm 1:0; imm bit 3 suppresses precision. */
export function fpRound(c: Vcpu, dbl: boolean, d: number, s: number, lanes: number, imm: number): void {
  const f = fmt(dbl), m = S.modeOf(c.mxcsr);
  const rc = imm & 4 ? m.rc : imm & 3;
  let flags = 0;
  for (let i = 0; i < lanes; i++) {
    const r = S.roundInt(S.decode(lane(c, s, i, dbl), f, m.daz), f, rc, (imm & 8) !== 0);
    setLane(c, VEC_RES, i, dbl, r[0]);
    flags |= r[1];
  }
  signal(c, flags);
  commit(c, d, lanes, dbl);
}
