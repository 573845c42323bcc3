/**
 * x87 FPU instructions (SDM Vol. 1 ch. 8, Vol. 2 "F..." pages): each compiles to a call into the
 * FPU unit (x87.ts, `c.fpu`) with its operands decoded at compile time. Non-control instructions
 * start with `begin` (#NM, pending #MF, last instruction/data pointers and opcode); the control
 * instructions fnstcw/fnstsw/fnclex/fninit/fnstenv/fnsave only check #NM (they are the "no-wait"
 * forms; their waiting forms are `wait` + the no-wait one, as iced-x86 decodes them).
 */
import * as iced from "iced-x86";

import { Op, Src } from "../x87";
import { Family } from "./form";

const { Register, MemorySize, Encoder } = iced;

const ARITH: Record<string, [Op, boolean]> = {
  Fadd: [Op.Add, false], Faddp: [Op.Add, true], Fiadd: [Op.Add, false],
  Fmul: [Op.Mul, false], Fmulp: [Op.Mul, true], Fimul: [Op.Mul, false],
  Fsub: [Op.Sub, false], Fsubp: [Op.Sub, true], Fisub: [Op.Sub, false],
  Fsubr: [Op.Subr, false], Fsubrp: [Op.Subr, true], Fisubr: [Op.Subr, false],
  Fdiv: [Op.Div, false], Fdivp: [Op.Div, true], Fidiv: [Op.Div, false],
  Fdivr: [Op.Divr, false], Fdivrp: [Op.Divr, true], Fidivr: [Op.Divr, false],
};
/** fcmovcc → the jcc condition number it tests (SDM Vol. 2A FCMOVcc). */
const FCMOV: Record<string, number> = { Fcmovb: 2, Fcmovnb: 3, Fcmove: 4, Fcmovne: 5, Fcmovbe: 6, Fcmovnbe: 7, Fcmovu: 10, Fcmovnu: 11 };
const CONST: Record<string, string> = { Fld1: "one", Fldz: "zero", Fldpi: "pi", Fldl2e: "l2e", Fldl2t: "l2t", Fldlg2: "lg2", Fldln2: "ln2" };
/** [source kind, pops, unordered, into EFLAGS] */
const COMPARE: Record<string, [number, boolean, boolean]> = {
  Fcom: [0, false, false], Fcomp: [1, false, false], Fcompp: [2, false, false],
  Fucom: [0, true, false], Fucomp: [1, true, false], Fucompp: [2, true, false],
  Ficom: [0, false, false], Ficomp: [1, false, false],
  Fcomi: [0, false, true], Fcomip: [1, false, true], Fucomi: [0, true, true], Fucomip: [1, true, true],
};

function memKind(ins: iced.Instruction): Src {
  switch (ins.memorySize) {
    case MemorySize.Float32: return Src.M32;
    case MemorySize.Float64: return Src.M64;
    case MemorySize.Float80: return Src.M80;
    case MemorySize.Int16: return Src.I16;
    case MemorySize.Int32: return Src.I32;
    case MemorySize.Int64: return Src.I64;
    case MemorySize.Bcd: return Src.Bcd;
  }
  return -1 as Src;
}

/** ST(i) named by operand n, or -1. */
function stOf(ins: iced.Instruction, n: number): number {
  if (n >= ins.opCount || ins.opKind(n) !== iced.OpKind.Register) return -1;
  const r = ins.opRegister(n) - Register.ST0;
  return r >= 0 && r < 8 ? r : -1;
}

/** The 11-bit x87 opcode (SDM Vol. 1 §8.1.10): low 3 bits of the first opcode byte, then ModR/M. */
function fopOf(ins: iced.Instruction, rip: number, m64: boolean): number {
  const enc = new Encoder(m64 ? 64 : 32);
  try {
    enc.encode(ins, BigInt.asUintN(64, BigInt(rip)));
    const b = enc.takeBuffer();
    for (let k = 0; k + 1 < b.length; k++) if (b[k]! >= 0xd8 && b[k]! <= 0xdf) return ((b[k]! & 7) << 8) | b[k + 1]!;
    return 0;
  } finally {
    enc.free();
  }
}

export const x87: Family = {
  name: "x87",
  mnemonics: [
    "Fninit", "Fnclex", "Fldcw", "Fnstcw", "Fnstsw", "Wait", "Fnstenv", "Fldenv", "Fnsave", "Frstor",
    "Ffree", "Ffreep", "Fincstp", "Fdecstp", "Fnop",
    "Fld", "Fild", "Fbld", "Fld1", "Fldz", "Fldpi", "Fldl2e", "Fldl2t", "Fldlg2", "Fldln2",
    "Fst", "Fstp", "Fist", "Fistp", "Fisttp", "Fbstp", "Fxch",
    "Fcmovb", "Fcmovnb", "Fcmove", "Fcmovne", "Fcmovbe", "Fcmovnbe", "Fcmovu", "Fcmovnu",
    ...Object.keys(ARITH), "Fsqrt", "Fabs", "Fchs", "Frndint", "Fprem", "Fprem1", "Fscale", "Fxtract",
    ...Object.keys(COMPARE), "Ftst", "Fxam",
  ],
  emit(x, f) {
    const { ins, mn, o0, pre } = f;
    const ix = `c.ix=${x.i};`;
    const mem = o0.k === "m" || f.o1.k === "m";
    const ea = mem ? "ea" : "NaN";
    const begin = () => `${pre}${ix}c.fpu.begin(${x.rip},${ea},${fopOf(ins, x.rip, x.m64)});`;
    const nm = `${pre}${ix}c.fpu.nm();`;
    const ctl = `${pre}${ix}c.fpu.beginControl();`;
    const o16 = ins.memorySize === MemorySize.FpuEnv14 || ins.memorySize === MemorySize.FpuState94;
    switch (mn) {
      case "Fninit": return nm + "c.fpu.fninit();";
      case "Fnclex": return nm + "c.fpu.fnclex();";
      case "Fnstcw": return nm + "c.w16(ea,c.fcw);";
      case "Fnstsw": return nm + (o0.k === "m" ? "c.w16(ea,c.fsw);" : "R[0]=(R[0]&-65536)|c.fsw;");
      case "Fnstenv": return nm + `c.fpu.fnstenv(ea,${o16});`;
      case "Fnsave": return nm + `c.fpu.fnsave(ea,${o16});`;
      case "Wait": return `${ix}c.fpu.fwait();`;
      case "Fldcw": return ctl + "c.fpu.fldcw(c.r16(ea));";
      case "Fldenv": return ctl + `c.fpu.fldenv(ea,${o16});`;
      case "Frstor": return ctl + `c.fpu.frstor(ea,${o16});`;
      case "Ffree": case "Ffreep": return ctl + `c.fpu.ffree(${stOf(ins, 0)},${mn === "Ffreep"});`;
      case "Fincstp": return ctl + "c.fpu.fincstp();";
      case "Fdecstp": return ctl + "c.fpu.fdecstp();";
      case "Fnop": return ctl;
      case "Fld": case "Fild": case "Fbld":
        return begin() + (mem ? `c.fpu.fld(${memKind(ins)},ea,0);` : `c.fpu.fld(${Src.St},0,${stOf(ins, 0)});`);
      case "Fst": case "Fstp": {
        const pop = mn === "Fstp";
        return begin() + (mem ? `c.fpu.fst(${memKind(ins)},ea,${pop});` : `c.fpu.fstReg(${stOf(ins, 0)},${pop});`);
      }
      case "Fist": case "Fistp": case "Fisttp":
        return begin() + `c.fpu.fst(${memKind(ins)},ea,${mn !== "Fist"},${mn === "Fisttp"});`;
      case "Fbstp": return begin() + `c.fpu.fst(${Src.Bcd},ea,true);`;
      case "Fxch": return begin() + `c.fpu.fxch(${Math.max(stOf(ins, 0), stOf(ins, 1))});`;
      case "Fsqrt": return begin() + `c.fpu.unary("sqrt");`;
      case "Fabs": return begin() + `c.fpu.unary("abs");`;
      case "Fchs": return begin() + `c.fpu.unary("chs");`;
      case "Frndint": return begin() + `c.fpu.unary("rndint");`;
      case "Fprem": return begin() + "c.fpu.fprem(false);";
      case "Fprem1": return begin() + "c.fpu.fprem(true);";
      case "Fscale": return begin() + "c.fpu.fscale();";
      case "Fxtract": return begin() + "c.fpu.fxtract();";
      case "Ftst": return begin() + "c.fpu.compare(-1,0,0,0,false,false);";
      case "Fxam": return begin() + "c.fpu.fxam();";
    }
    const k = CONST[mn];
    if (k !== undefined) return begin() + `c.fpu.fldConst("${k}");`;
    const cc = FCMOV[mn];
    if (cc !== undefined) return begin() + `c.fpu.fcmov(${cc},${stOf(ins, 1)});`;
    const ar = ARITH[mn];
    if (ar !== undefined) {
      const [op, pop] = ar;
      if (mem) return begin() + `c.fpu.arith(${op},0,${memKind(ins)},0,ea,false);`;
      const d = stOf(ins, 0), s = stOf(ins, 1);
      if (d < 0 || s < 0) return undefined;
      return begin() + `c.fpu.arith(${op},${d},${Src.St},${s},0,${pop});`;
    }
    const cmp = COMPARE[mn];
    if (cmp !== undefined) {
      const [pops, unordered, eflags] = cmp;
      if (mem) return begin() + `c.fpu.compare(${memKind(ins)},0,ea,${pops},${unordered},${eflags});`;
      const s = ins.opCount === 2 ? stOf(ins, 1) : ins.opCount === 1 ? stOf(ins, 0) : 1;
      return begin() + `c.fpu.compare(${Src.St},${s},0,${pops},${unordered},${eflags});`;
    }
    return undefined;
  },
};
