/**
 * The x87 FPU's behaviour (SDM Vol. 1 ch. 8): the register stack over CpuState's physical
 * registers (fpr, FXSAVE's 10-byte format), the tag word, the status word's condition codes,
 * exception flags and summary, #NM (CR0.EM/TS) and #MF (CR0.NE) delivery, and the control,
 * load/store, arithmetic and compare instructions. Values are software float80 (float80.ts).
 *
 * Generated block code calls these methods as `c.fpu.<op>(...)` (emit/x87.ts); the state stays
 * CpuState's (fcw/fsw/ftw/fpr/fip/fdp/fop87...) so FXSAVE/XSAVE (another family) reads it as is.
 *
 * The tag word is kept complete (2 bits per physical register) and recomputed from the register
 * contents whenever a register is written; loading a tag word (fldenv/frstor) keeps only
 * empty/non-empty and recomputes the rest, as P6 and later processors do (the host CPU agrees:
 * tests/machine/x87-differential.test.ts).
 */
import type { CpuState } from "./cpu-state";
import { FCW_RESET } from "./cpu-state";
import { GuestFault, Vector } from "./exits";
import * as F from "./float80";
import { CR0_EM, CR0_MP, CR0_NE, CR0_TS } from "./registers";

type F80 = F.F80;

/** What the FPU needs from the vCPU besides its state: memory and the arithmetic flags. */
export interface X87Host extends CpuState {
  tH: number;
  r8(ea: number): number; r16(ea: number): number; r32(ea: number): number; r64(ea: number): number;
  w8(ea: number, v: number): void; w16(ea: number, v: number): void; w32(ea: number, v: number): void; w64(ea: number, lo: number, hi: number): void;
  xlate(va: number, acc: 0 | 1 | 2): number;
  cond(cc: number): boolean;
  mergeArith(mask: number, bits: number): void;
}

/** FSW bits (SDM Vol. 1 Figure 8-4). */
export const FSW_ES = 0x80, FSW_C0 = 0x100, FSW_C1 = 0x200, FSW_C2 = 0x400, FSW_C3 = 0x4000, FSW_B = 0x8000;
const FSW_CC = FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3;
/** Tag values (SDM Vol. 1 Figure 8-7). */
const TAG_VALID = 0, TAG_ZERO = 1, TAG_SPECIAL = 2, TAG_EMPTY = 3;

/** Source operand kinds of loads and arithmetic (what the emitter passes). */
export const enum Src { St = 0, M32 = 1, M64 = 2, M80 = 3, I16 = 4, I32 = 5, I64 = 6, Bcd = 7 }
/** Arithmetic operations: dst = dst op src, or src op dst for the reversed ones. */
export const enum Op { Add = 0, Mul = 1, Sub = 4, Subr = 5, Div = 6, Divr = 7 }

/** The constants of fld1/fldl2t/fldl2e/fldpi/fldlg2/fldln2/fldz as 96-bit significands (value = sig·2^exp). */
const CONSTANTS: Record<string, [bigint, number]> = {
  one: [1n, 0],
  zero: [0n, 0],
  // log2(10), log2(e), pi, log10(2), ln(2): enough bits that rounding them under any RC is exact.
  l2t: [0xd49a784bcd1b8afe492bf6ffn, 2 - 96],
  l2e: [0xb8aa3b295c17f0bbbe87fed0n, 1 - 96],
  pi: [0xc90fdaa22168c234c4c6628bn, 2 - 96],
  lg2: [0x9a209a84fbcff7988f8959acn, -1 - 96],
  ln2: [0xb17217f7d1cf79abc9e3b398n, 0 - 96],
};

export class X87 {
  constructor(private readonly c: X87Host) {}

  // ---- stack and tags ----------------------------------------------------------------------

  get top(): number {
    return (this.c.fsw >> 11) & 7;
  }
  private setTop(t: number): void {
    this.c.fsw = (this.c.fsw & ~0x3800) | ((t & 7) << 11);
  }
  /** Physical register number of ST(i). */
  phys(i: number): number {
    return (this.top + i) & 7;
  }
  private tag(p: number): number {
    return (this.c.ftw >> (2 * p)) & 3;
  }
  private setTag(p: number, t: number): void {
    this.c.ftw = (this.c.ftw & ~(3 << (2 * p))) | (t << (2 * p));
  }
  isEmpty(i: number): boolean {
    return this.tag(this.phys(i)) === TAG_EMPTY;
  }
  /** ST(i) as a value (whatever the register holds, empty or not). */
  st(i: number): F80 {
    return F.fromWords(this.c.fpr, 5 * this.phys(i));
  }
  private writePhys(p: number, v: F80): void {
    const w = F.words(v);
    this.c.fpr.set(w, 5 * p);
    this.setTag(p, tagOf(v));
  }
  setSt(i: number, v: F80): void {
    this.writePhys(this.phys(i), v);
  }
  /** Pops ST(0): marks it empty and increments TOP. */
  pop(): void {
    this.setTag(this.phys(0), TAG_EMPTY);
    this.setTop(this.top + 1);
  }
  /** Pushes a value: TOP-1, then ST(0) = v (the caller has checked for overflow). */
  private push(v: F80): void {
    this.setTop(this.top - 1);
    this.setSt(0, v);
  }

  // ---- status word -------------------------------------------------------------------------

  private setC1(on: boolean): void {
    this.c.fsw = on ? this.c.fsw | FSW_C1 : this.c.fsw & ~FSW_C1;
  }
  /** Sets exception flags; the summary (ES, and B which mirrors it) when any set flag is unmasked. */
  private raise(flags: number): void {
    if (flags === 0) return;
    this.c.fsw |= flags & 0x7f;
    if (this.c.fsw & ~this.c.fcw & 0x3f) this.c.fsw |= FSW_ES | FSW_B;
  }
  private env(): F.Env {
    return F.envOf(this.c.fcw);
  }
  private get imask(): boolean {
    return (this.c.fcw & F.IE) !== 0;
  }
  /** Stack underflow (an empty source): #IS with C1=0. True if masked (continue with the indefinite). */
  private underflow(): boolean {
    this.setC1(false);
    this.raise(F.IE | F.SF);
    return this.imask;
  }
  /** Stack overflow (push onto a non-empty register): #IS with C1=1; masked, the indefinite is pushed. */
  private overflowed(): boolean {
    if (this.tag(this.phys(-1)) === TAG_EMPTY) return false;
    this.raise(F.IE | F.SF);
    this.setC1(true);
    if (this.imask) this.push(F.INDEFINITE);
    return true;
  }

  // ---- instruction prologues ---------------------------------------------------------------

  /** #NM when CR0.EM or CR0.TS is set (SDM Vol. 3A §2.5, Table 2-2): every x87 instruction. */
  nm(): void {
    if (this.c.cr0 & (CR0_EM | CR0_TS)) throw new GuestFault(Vector.NM, undefined, "x87 instruction with CR0.EM or CR0.TS set");
  }

  /**
   * A pending unmasked exception (FSW.ES) is reported before the next waiting instruction runs:
   * #MF when CR0.NE=1. With NE=0 the PC-style FERR#/IGNNE# path is not modelled and the
   * instruction proceeds, as with IGNNE# asserted (SDM Vol. 1 §8.7).
   */
  private pending(): void {
    if ((this.c.fsw & FSW_ES) && (this.c.cr0 & CR0_NE)) throw new GuestFault(Vector.MF, undefined, "pending unmasked x87 exception");
  }

  /**
   * Prologue of a non-control ("waiting") instruction: #NM, pending #MF, then the last
   * instruction/data pointers and opcode (SDM Vol. 1 §8.1.8-8.1.9) for an exception handler.
   */
  begin(rip: number, ea: number, fop: number): void {
    this.nm();
    this.pending();
    this.c.fip = rip; this.c.fcs = this.c.cs.selector;
    this.c.fop87 = fop;
    if (ea === ea) { this.c.fdp = ea; this.c.fds = this.c.ds; }
  }

  /** Prologue of a control instruction that still checks for pending exceptions (fldcw, fldenv, frstor...). */
  beginControl(): void {
    this.nm();
    this.pending();
  }

  /** wait/fwait: #NM only if CR0.MP and CR0.TS (SDM Vol. 3A Table 2-2); then pending #MF. */
  fwait(): void {
    if ((this.c.cr0 & (CR0_MP | CR0_TS)) === (CR0_MP | CR0_TS)) throw new GuestFault(Vector.NM, undefined, "wait with CR0.MP and CR0.TS set");
    this.pending();
  }

  // ---- control instructions ----------------------------------------------------------------

  fninit(): void {
    const c = this.c;
    c.fcw = FCW_RESET; c.fsw = 0; c.ftw = 0xffff;
    c.fip = 0; c.fcs = 0; c.fdp = 0; c.fds = 0; c.fop87 = 0;
  }
  fnclex(): void {
    this.c.fsw &= ~(0xff | FSW_B);
  }
  fldcw(v: number): void {
    this.c.fcw = fcwOf(v);
    this.resummarise();
  }
  /** ES/B follow the flags against the current masks (after fldcw, fldenv, frstor). */
  private resummarise(): void {
    if (this.c.fsw & ~this.c.fcw & 0x3f) this.c.fsw |= FSW_ES | FSW_B;
    else this.c.fsw &= ~(FSW_ES | FSW_B);
  }
  fincstp(): void { this.setTop(this.top + 1); this.setC1(false); }
  fdecstp(): void { this.setTop(this.top - 1); this.setC1(false); }
  ffree(i: number, pop: boolean): void {
    this.setC1(false);
    this.setTag(this.phys(i), TAG_EMPTY);
    if (pop) this.setTop(this.top + 1);
  }

  /** The tag word as stored by fnstenv/fnsave: recomputed from the contents of non-empty registers. */
  fullTag(): number {
    let t = 0;
    for (let p = 0; p < 8; p++) t |= (this.tag(p) === TAG_EMPTY ? TAG_EMPTY : tagOf(F.fromWords(this.c.fpr, 5 * p))) << (2 * p);
    return t;
  }

  /**
   * fnstenv/fnsave's environment (SDM Vol. 1 Figures 8-9/8-10, protected mode): 28 bytes with a
   * 32-bit operand size, 14 with 16. The host CPU writes FFFFh into the reserved upper halves.
   */
  storeEnv(ea: number, o16: boolean): number {
    const c = this.c;
    this.probeWrite(ea, o16 ? 14 : 28);
    const tw = this.fullTag();
    if (o16) {
      c.w16(ea, c.fcw); c.w16(ea + 2, c.fsw); c.w16(ea + 4, tw);
      c.w16(ea + 6, c.fip & 0xffff); c.w16(ea + 8, c.fcs);
      c.w16(ea + 10, c.fdp & 0xffff); c.w16(ea + 12, c.fds);
      return 14;
    }
    c.w32(ea, c.fcw | 0xffff0000); c.w32(ea + 4, c.fsw | 0xffff0000); c.w32(ea + 8, tw | 0xffff0000);
    c.w32(ea + 12, c.fip % 4294967296 | 0); c.w32(ea + 16, (c.fcs & 0xffff) | ((c.fop87 & 0x7ff) << 16));
    c.w32(ea + 20, c.fdp % 4294967296 | 0); c.w32(ea + 24, (c.fds & 0xffff) | 0xffff0000);
    return 28;
  }
  fnstenv(ea: number, o16: boolean): void {
    this.storeEnv(ea, o16);
    // fnstenv masks every exception after storing (SDM Vol. 2A FSTENV).
    this.c.fcw |= 0x3f;
  }
  loadEnv(ea: number, o16: boolean): number {
    const c = this.c;
    let fcw: number, fsw: number, ftw: number;
    if (o16) {
      fcw = c.r16(ea); fsw = c.r16(ea + 2); ftw = c.r16(ea + 4);
      c.fip = c.r16(ea + 6); c.fcs = c.r16(ea + 8); c.fdp = c.r16(ea + 10); c.fds = c.r16(ea + 12);
    } else {
      fcw = c.r16(ea); fsw = c.r16(ea + 4); ftw = c.r16(ea + 8);
      c.fip = c.r32(ea + 12) >>> 0; const w = c.r32(ea + 16); c.fcs = w & 0xffff; c.fop87 = (w >>> 16) & 0x7ff;
      c.fdp = c.r32(ea + 20) >>> 0; c.fds = c.r16(ea + 24);
    }
    c.fcw = fcwOf(fcw);
    c.fsw = fsw;
    let t = 0;
    for (let p = 0; p < 8; p++) if (((ftw >> (2 * p)) & 3) === TAG_EMPTY) t |= TAG_EMPTY << (2 * p);
    c.ftw = t;
    for (let p = 0; p < 8; p++) if (this.tag(p) !== TAG_EMPTY) this.setTag(p, tagOf(F.fromWords(c.fpr, 5 * p)));
    this.resummarise();
    return o16 ? 14 : 28;
  }
  fldenv(ea: number, o16: boolean): void {
    this.loadEnv(ea, o16);
  }
  fnsave(ea: number, o16: boolean): void {
    this.probeWrite(ea, o16 ? 94 : 108);
    let a = ea + this.storeEnv(ea, o16);
    for (let i = 0; i < 8; i++, a += 10) this.write80(a, this.st(i));
    this.fninit();
  }
  frstor(ea: number, o16: boolean): void {
    const c = this.c;
    const n = o16 ? 14 : 28;
    // Registers first: loadEnv recomputes the tags from the new contents.
    const fsw = o16 ? c.r16(ea + 2) : c.r16(ea + 4);
    const top = (fsw >> 11) & 7;
    for (let i = 0; i < 8; i++) this.writeRaw((top + i) & 7, this.read80(ea + n + 10 * i));
    this.loadEnv(ea, o16);
  }
  fnstsw(): number {
    return this.c.fsw;
  }

  // ---- loads -------------------------------------------------------------------------------

  /** Reads a source operand as float80 (with the conversion's exception flags). */
  private source(kind: Src, ea: number, i: number): { v: F80; flags: number } | undefined {
    const c = this.c;
    switch (kind) {
      case Src.St:
        if (this.isEmpty(i)) return undefined;
        return { v: this.st(i), flags: 0 };
      case Src.M32: return F.fromIeee(BigInt(c.r32(ea) >>> 0), F.SGL);
      case Src.M64: { const lo = c.r64(ea); return F.fromIeee((BigInt(c.tH >>> 0) << 32n) | BigInt(lo >>> 0), F.DBL); }
      case Src.M80: return { v: this.read80(ea), flags: 0 };
      case Src.I16: return { v: F.fromInt(BigInt((c.r16(ea) << 16) >> 16)), flags: 0 };
      case Src.I32: return { v: F.fromInt(BigInt(c.r32(ea))), flags: 0 };
      case Src.I64: { const lo = c.r64(ea); return { v: F.fromInt((BigInt(c.tH) << 32n) | BigInt(lo >>> 0)), flags: 0 }; }
      case Src.Bcd: return { v: this.readBcd(ea), flags: 0 };
    }
  }

  /** fld/fild/fbld: push a converted operand (SDM Vol. 2A FLD: #IA for an SNaN m32/m64, #D for a denormal). */
  fld(kind: Src, ea: number, i: number): void {
    const src = this.source(kind, ea, i);
    if (this.overflowed()) {
      // An empty source as well: the host reports the underflow's C1=0.
      if (src === undefined) this.setC1(false);
      return;
    }
    this.setC1(false);
    if (src === undefined) {
      if (this.underflow()) this.push(F.INDEFINITE);
      return;
    }
    this.raise(src.flags);
    // An unmasked #IA (SNaN) loads nothing; an unmasked #D still loads the (exact) value, as the host does.
    if (src.flags & F.IE & ~this.c.fcw) return;
    this.push(src.flags & F.IE ? F.quiet(src.v) : src.v);
  }

  fldConst(name: string): void {
    if (this.overflowed()) return;
    this.setC1(false);
    const [sig, exp] = CONSTANTS[name]!;
    // The constants are rounded under RC (not PC) and raise no exception (SDM Vol. 2A FLD1/FLDPI...).
    const r = F.round(0, sig, exp, F.EXT, 64, (this.c.fcw >> 10) & 3, 0x3f, true);
    this.push(F.pack80(r));
  }

  // ---- stores ------------------------------------------------------------------------------

  /** fst/fstp to an x87 register (no conversion, no exception but an empty source). */
  fstReg(i: number, pop: boolean): void {
    this.setC1(false);
    if (this.isEmpty(0)) {
      if (!this.underflow()) return;
      this.setSt(i, F.INDEFINITE);
    } else this.setSt(i, this.st(0));
    if (pop) this.pop();
  }

  /** fst/fstp m32/m64/m80, fist/fistp/fisttp m16/m32/m64, fbstp m80bcd. */
  fst(kind: Src, ea: number, pop: boolean, truncate = false): void {
    const c = this.c;
    this.setC1(false);
    let v: F80;
    if (this.isEmpty(0)) {
      if (!this.underflow()) return;
      v = F.INDEFINITE;
    } else v = this.st(0);
    const env = this.env();
    switch (kind) {
      case Src.M80: this.write80(ea, v); break;
      case Src.M32: case Src.M64: {
        const fmt = kind === Src.M32 ? F.SGL : F.DBL;
        const r = F.toIeee(env, v, fmt);
        if (r.store) {
          if (kind === Src.M32) c.w32(ea, Number(r.bits) | 0);
          else c.w64(ea, Number(r.bits & 0xffffffffn) | 0, Number(r.bits >> 32n) | 0);
        }
        this.raise(r.flags);
        this.setC1(r.up && (r.flags & F.PE) !== 0);
        if (!r.store) return;
        break;
      }
      case Src.I16: case Src.I32: case Src.I64: {
        const bits = kind === Src.I16 ? 16 : kind === Src.I32 ? 32 : 64;
        const r = F.toInt(v, bits, truncate ? F.RC_ZERO : env.rc);
        if (r.invalid && !this.imask) { this.raise(r.flags); return; }
        if ((r.flags & F.DE) && !(c.fcw & F.DE)) { this.raise(r.flags); return; }
        this.writeInt(ea, bits, r.v);
        this.raise(r.flags);
        this.setC1(r.up && (r.flags & F.PE) !== 0);
        break;
      }
      case Src.Bcd: {
        const r = F.toInt(v, 64, env.rc);
        const big = r.invalid || r.v >= 10n ** 18n || r.v <= -(10n ** 18n);
        if (big) {
          this.raise(F.IE);
          if (!this.imask) return;
          this.writeBcdIndefinite(ea);
        } else {
          this.writeBcd(ea, r.v);
          this.raise(r.flags);
          this.setC1(r.up && (r.flags & F.PE) !== 0);
        }
        break;
      }
      default: return;
    }
    if (pop) this.pop();
  }

  // ---- arithmetic --------------------------------------------------------------------------

  /**
   * fadd/fsub/fsubr/fmul/fdiv/fdivr and their p/i forms: ST(dst) = ST(dst) op source, the source
   * being ST(src) or a memory operand of `kind`; `pop` for the p forms.
   */
  arith(op: Op, dst: number, kind: Src, src: number, ea: number, pop: boolean): void {
    this.setC1(false);
    const s = this.source(kind, ea, src);
    let res: F.Result;
    if (s === undefined || this.isEmpty(dst)) {
      if (!this.underflow()) return;
      res = { v: F.INDEFINITE, flags: 0, up: false, store: true };
    } else {
      // A denormal m32/m64 is normal in float80: its #D comes from the conversion.
      res = this.compute(op, this.st(dst), s.v, s.flags & F.DE);
    }
    this.raise(res.flags);
    if (!res.store) return;
    this.setSt(dst, res.v);
    this.setC1(res.up && (res.flags & F.PE) !== 0);
    if (pop) this.pop();
  }

  private compute(op: Op, a: F80, b: F80, den: number): F.Result {
    const env = this.env();
    switch (op) {
      case Op.Add: return F.add(env, a, b, false, den);
      case Op.Sub: return F.add(env, a, b, true, den);
      case Op.Subr: return F.add(env, b, a, true, den);
      case Op.Mul: return F.mul(env, a, b, den);
      case Op.Div: return F.div(env, a, b, den);
      case Op.Divr: return F.div(env, b, a, den);
    }
  }

  /** Unary operations on ST(0): fchs, fabs, fsqrt, frndint. */
  unary(which: "chs" | "abs" | "sqrt" | "rndint"): void {
    this.setC1(false);
    if (this.isEmpty(0)) {
      if (this.underflow()) this.setSt(0, F.INDEFINITE);
      return;
    }
    const a = this.st(0);
    if (which === "chs") { this.setSt(0, { s: a.s ^ 1, e: a.e, m: a.m }); return; }
    if (which === "abs") { this.setSt(0, { s: 0, e: a.e, m: a.m }); return; }
    const r = which === "sqrt" ? F.sqrt(this.env(), a) : F.roundInt(this.env(), a);
    this.raise(r.flags);
    if (!r.store) return;
    this.setSt(0, r.v);
    this.setC1(r.up && (r.flags & F.PE) !== 0);
  }

  /** fprem/fprem1: ST(0) = remainder of ST(0)/ST(1); C2 = incomplete, C0/C3/C1 = quotient bits 2/1/0. */
  fprem(ieee: boolean): void {
    this.setC1(false);
    if (this.isEmpty(0) || this.isEmpty(1)) {
      this.c.fsw &= ~FSW_C2;
      if (this.underflow()) this.setSt(0, F.INDEFINITE);
      return;
    }
    const { r, q, partial, special } = F.prem(this.env(), this.st(0), this.st(1), ieee);
    this.raise(r.flags);
    if (special) this.c.fsw &= ~FSW_C2;
    if (!r.store) return;
    this.setSt(0, r.v);
    if (special) return;
    let cc = this.c.fsw & ~FSW_CC;
    if (partial) cc |= FSW_C2;
    else cc |= (q & 4 ? FSW_C0 : 0) | (q & 2 ? FSW_C3 : 0) | (q & 1 ? FSW_C1 : 0);
    this.c.fsw = cc;
  }

  /** fscale: ST(0) = ST(0)·2^trunc(ST(1)). */
  fscale(): void {
    this.setC1(false);
    if (this.isEmpty(0) || this.isEmpty(1)) {
      if (this.underflow()) this.setSt(0, F.INDEFINITE);
      return;
    }
    const r = F.scale(this.env(), this.st(0), this.st(1));
    this.raise(r.flags);
    if (!r.store) return;
    this.setSt(0, r.v);
    this.setC1(r.up && (r.flags & F.PE) !== 0);
  }

  /** fxtract: ST(0) = exponent, then push the significand. */
  fxtract(): void {
    this.setC1(false);
    if (this.isEmpty(0)) {
      if (!this.underflow()) return;
      this.setSt(0, F.INDEFINITE);
      if (!this.overflowed()) this.push(F.INDEFINITE);
      this.setC1(false); // the underflow's C1=0 stands even with an overflow too
      return;
    }
    // Stack overflow: (masked) both the exponent's and the significand's places get the indefinite.
    if (this.tag(this.phys(-1)) !== TAG_EMPTY) {
      if (this.imask) this.setSt(0, F.INDEFINITE);
      this.overflowed();
      return;
    }
    const r = F.extract(this.env(), this.st(0));
    if ("v" in r) {
      this.raise(r.flags);
      if (!r.store) return;
      this.setSt(0, r.v);
      this.push(r.v);
      return;
    }
    this.raise(r.exp.flags);
    if (!r.exp.store) return;
    this.setSt(0, r.exp.v);
    this.push(r.sig);
  }

  fxch(i: number): void {
    this.setC1(false);
    if (this.isEmpty(0) || this.isEmpty(i)) {
      if (!this.underflow()) return;
      if (this.isEmpty(0)) this.setSt(0, F.INDEFINITE);
      if (this.isEmpty(i)) this.setSt(i, F.INDEFINITE);
    }
    const a = this.st(0), b = this.st(i);
    this.setSt(0, b); this.setSt(i, a);
  }

  /** fcmovcc: ST(0) = ST(i) if the EFLAGS condition `cc` (jcc numbering) holds. */
  fcmov(cc: number, i: number): void {
    // C1 is left alone unless a register is empty; then (masked) ST(0) becomes the indefinite
    // whatever the condition, as the host CPU does.
    if (this.isEmpty(0) || this.isEmpty(i)) {
      if (this.underflow()) this.setSt(0, F.INDEFINITE);
      return;
    }
    if (this.c.cond(cc)) this.setSt(0, this.st(i));
  }

  // ---- compares ----------------------------------------------------------------------------

  /**
   * fcom, fcomp, fcompp, fucom(p)(p), ficom(p), ftst (into C3/C2/C0) and fcomi/fucomi(p) (into ZF/PF/CF).
   * `unordered` (fucom...): only SNaNs are #IA; fcom raises #IA for any NaN (SDM Vol. 2A FCOM).
   */
  compare(kind: Src | -1, src: number, ea: number, pops: number, unordered: boolean, eflags: boolean): void {
    // fcom* clear C1; fcomi* only on a stack underflow (the host CPU; the SDM says C1 := 0 always).
    if (!eflags) this.setC1(false);
    let rel: number;
    let flags: number;
    const s = kind === -1 ? { v: F.ZERO, flags: 0 } : this.source(kind, ea, src);
    if (s === undefined || this.isEmpty(0)) {
      rel = 2;
      flags = F.IE | F.SF;
    } else {
      const r = F.compare(this.st(0), s.v);
      rel = r.rel;
      flags = 0;
      if (r.ka === F.Kind.Unsupported || r.kb === F.Kind.Unsupported || r.ka === F.Kind.SNaN || r.kb === F.Kind.SNaN) flags = F.IE;
      else if (rel === 2) flags = unordered ? 0 : F.IE;
      else if (r.ka === F.Kind.Denormal || r.kb === F.Kind.Denormal || (s.flags & F.DE)) flags = F.DE;
    }
    if (flags & F.SF) this.setC1(false);
    this.raise(flags);
    // The condition codes are written even when the exception is unmasked; the pops are not done.
    if (eflags) {
      // ZF PF CF: 000 greater, 001 less, 100 equal, 111 unordered; OF SF AF cleared (SDM Vol. 2A FCOMI).
      const bits = rel === 2 ? 0x45 : rel === 0 ? 0x40 : rel < 0 ? 0x01 : 0;
      this.c.mergeArith(0x8d5, bits);
    } else {
      const cc = rel === 2 ? FSW_C3 | FSW_C2 | FSW_C0 : rel === 0 ? FSW_C3 : rel < 0 ? FSW_C0 : 0;
      this.c.fsw = (this.c.fsw & ~(FSW_C3 | FSW_C2 | FSW_C0)) | cc;
    }
    if (flags & ~this.c.fcw & 0x3f) return;
    for (let k = 0; k < pops; k++) this.pop();
  }

  /** fxam: classify ST(0) into C3/C2/C0, its sign into C1 (SDM Vol. 2A FXAM, Table 3-?). */
  fxam(): void {
    const a = this.st(0);
    let cc: number;
    if (this.isEmpty(0)) cc = FSW_C3 | FSW_C0;
    else {
      switch (F.kind(a)) {
        case F.Kind.Unsupported: cc = 0; break;
        case F.Kind.QNaN: case F.Kind.SNaN: cc = FSW_C0; break;
        case F.Kind.Normal: cc = FSW_C2; break;
        case F.Kind.Inf: cc = FSW_C2 | FSW_C0; break;
        case F.Kind.Zero: cc = FSW_C3; break;
        default: cc = FSW_C3 | FSW_C2;
      }
    }
    this.c.fsw = (this.c.fsw & ~FSW_CC) | cc | (a.s ? FSW_C1 : 0);
  }

  // ---- view ----------------------------------------------------------------------------------

  /**
   * The FPU for the registers view: control/status words decoded, then ST(0)..ST(7) that are not
   * empty (physical register, 80-bit pattern, value, tag). Nothing while the FPU is in its
   * FNINIT state with an empty stack (most guests never touch it).
   */
  lines(): string[] {
    const c = this.c;
    if (c.ftw === 0xffff && c.fsw === 0 && c.fcw === FCW_RESET) return [];
    const rc = ["nearest", "down", "up", "zero"][(c.fcw >> 10) & 3];
    const pc = ["24", "64?", "53", "64"][(c.fcw >> 8) & 3];
    const names = ["I", "D", "Z", "O", "U", "P"];
    const bits = (v: number) => names.filter((_, i) => (v >> i) & 1).join("") || "-";
    const cc = [[FSW_C3, "C3"], [FSW_C2, "C2"], [FSW_C1, "C1"], [FSW_C0, "C0"]].filter(([b]) => c.fsw & (b as number)).map(([, n]) => n).join(" ") || "-";
    const out = [
      `x87 fcw ${hex4(c.fcw)} [RC ${rc} PC ${pc} masked ${bits(c.fcw)}]  fsw ${hex4(c.fsw)} [TOP ${this.top} ${cc} flags ${bits(c.fsw)}${c.fsw & F.SF ? " SF" : ""}${c.fsw & FSW_ES ? " ES" : ""}]  ftw ${hex4(this.fullTag())}`,
    ];
    const tagNames = ["valid", "zero", "special", "empty"];
    for (let i = 0; i < 8; i++) {
      if (this.isEmpty(i)) continue;
      const v = this.st(i);
      const w = F.words(v);
      const hexv = [w[4], w[3], w[2], w[1], w[0]].map((x) => hex4(x!)).join("");
      out.push(`st${i} R${this.phys(i)} ${hexv} ${describe(v).padEnd(24)} ${tagNames[tagOf(v)]}`);
    }
    return out;
  }

  // ---- memory formats ----------------------------------------------------------------------

  private read80(ea: number): F80 {
    const lo = this.c.r64(ea), hi = this.c.tH;
    const se = this.c.r16(ea + 8);
    return { s: se >> 15, e: se & 0x7fff, m: (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0) };
  }
  private write80(ea: number, v: F80): void {
    this.probeWrite(ea, 10);
    this.c.w64(ea, Number(v.m & 0xffffffffn) | 0, Number(v.m >> 32n) | 0);
    this.c.w16(ea + 8, (v.s << 15) | v.e);
  }
  /** A raw register write (frstor: any bit pattern, tags fixed up afterwards). */
  private writeRaw(p: number, v: F80): void {
    this.c.fpr.set(F.words(v), 5 * p);
  }
  private writeInt(ea: number, bits: number, v: bigint): void {
    const u = BigInt.asUintN(64, v);
    if (bits === 16) this.c.w16(ea, Number(u & 0xffffn));
    else if (bits === 32) this.c.w32(ea, Number(u & 0xffffffffn) | 0);
    else this.c.w64(ea, Number(u & 0xffffffffn) | 0, Number(u >> 32n) | 0);
  }
  /** Packed BCD (SDM Vol. 1 §4.7): 18 digits in bytes 0..8 (two per byte), sign in bit 7 of byte 9. */
  private readBcd(ea: number): F80 {
    let v = 0n;
    for (let k = 8; k >= 0; k--) {
      const b = this.c.r8(ea + k);
      v = v * 100n + BigInt((b >> 4) * 10 + (b & 15));
    }
    const neg = (this.c.r8(ea + 9) & 0x80) !== 0;
    const f = F.fromInt(v);
    return neg ? { s: 1, e: f.e, m: f.m } : f;
  }
  private writeBcd(ea: number, v: bigint): void {
    this.probeWrite(ea, 10);
    const neg = v < 0n || (v === 0n && this.st(0).s === 1);
    let a = v < 0n ? -v : v;
    for (let k = 0; k < 9; k++) {
      const d = Number(a % 100n);
      a /= 100n;
      this.c.w8(ea + k, ((Math.floor(d / 10)) << 4) | (d % 10));
    }
    this.c.w8(ea + 9, neg ? 0x80 : 0);
  }
  /** The packed BCD indefinite: FFFFh C000 0000 0000 0000h (SDM Vol. 1 Table 4-4... §4.8.3.8). */
  private writeBcdIndefinite(ea: number): void {
    this.probeWrite(ea, 10);
    this.c.w64(ea, 0, 0xc0000000 | 0);
    this.c.w16(ea + 8, 0xffff);
  }
  /** Faults before a multi-part store writes anything (a store crossing into an unmapped page). */
  private probeWrite(ea: number, n: number): void {
    this.c.xlate(ea, 1);
    if (((ea + n - 1) & ~4095) !== (ea & ~4095)) this.c.xlate(ea + n - 1, 1);
  }
}

const hex4 = (v: number) => v.toString(16).padStart(4, "0");

/** A value as text: ±0, ±inf, NaNs and unsupported encodings by name, finite values to 17 digits. */
function describe(v: F80): string {
  const sign = v.s ? "-" : "+";
  switch (F.kind(v)) {
    case F.Kind.Zero: return `${sign}0`;
    case F.Kind.Inf: return `${sign}inf`;
    case F.Kind.QNaN: return v.s && v.m === F.INDEFINITE.m ? "indefinite" : `${sign}qnan`;
    case F.Kind.SNaN: return `${sign}snan`;
    case F.Kind.Unsupported: return "unsupported";
    default: {
      const { sig, exp } = F.unpack(v);
      // sig·2^exp as a double via the top 53 bits (exact to the digits shown; out of range → e-notation by log10).
      const L = F.bitLength(sig);
      const top = Number(sig >> BigInt(Math.max(0, L - 53)));
      const e2 = exp + Math.max(0, L - 53);
      const d = top * 2 ** e2;
      if (d !== 0 && Number.isFinite(d)) return `${v.s ? "-" : ""}${d.toPrecision(17)}`;
      const lg = Math.log10(top) + e2 * Math.log10(2);
      const ex = Math.floor(lg);
      return `${v.s ? "-" : ""}${(10 ** (lg - ex)).toFixed(15)}e${ex}`;
    }
  }
}

/** A loaded control word: bits 15:13 and 7 read as 0, bit 6 as 1 (as the host CPU stores them). */
function fcwOf(v: number): number {
  return (v & 0x1f3f) | 0x40;
}

/** The tag a value gets when written (SDM Vol. 1 §8.1.7). */
function tagOf(v: F80): number {
  if (v.e === 0) return v.m === 0n ? TAG_ZERO : TAG_SPECIAL;
  if (v.e === 0x7fff || (v.m >> 63n) === 0n) return TAG_SPECIAL;
  return TAG_VALID;
}
