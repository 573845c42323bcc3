/**
 * SSE/SSE2 floating-point instructions (semantics in vec-float.ts and softfloat.ts): arithmetic,
 * min/max, sqrt, compares (cmpps.., comis/ucomis), conversions. Scalar forms take m32/m64
 * unaligned; packed forms take an aligned m128 (#GP(0) otherwise), except the conversions that
 * read only 64 bits (cvtdq2pd, cvtps2pd).
 */
import * as iced from "iced-x86";
import { VEC_SRC } from "../cpu-state";
import { REGS, rd } from "../operands";
import { Family } from "./form";
import { SSE_CHECK, xmmOf } from "./sse";

const { OpKind } = iced;

const ARITH: Record<string, string> = { Add: "add", Sub: "sub", Mul: "mul", Div: "div", Min: "min", Max: "max", Sqrt: "sqrt" };
const SUFFIX: Record<string, [boolean, number]> = { ss: [false, 1], sd: [true, 1], ps: [false, 4], pd: [true, 2] };
const CVT: Record<string, [string, number]> = {
  Cvtss2sd: ["ss2sd", 4], Cvtsd2ss: ["sd2ss", 8], Cvtdq2ps: ["dq2ps", 16], Cvtps2dq: ["ps2dq", 16], Cvttps2dq: ["tps2dq", 16],
  Cvtdq2pd: ["dq2pd", 8], Cvtpd2dq: ["pd2dq", 16], Cvttpd2dq: ["tpd2dq", 16], Cvtps2pd: ["ps2pd", 8], Cvtpd2ps: ["pd2ps", 16],
};
const names: string[] = [];
for (const op of Object.keys(ARITH)) for (const s of Object.keys(SUFFIX)) names.push(op + s);
for (const s of Object.keys(SUFFIX)) names.push("Cmp" + s);

export const sseFp: Family = {
  name: "sse-fp",
  mnemonics: [...names, "Comiss", "Comisd", "Ucomiss", "Ucomisd", "Cvtsi2ss", "Cvtsi2sd", "Cvtss2si", "Cvtsd2si", "Cvttss2si", "Cvttsd2si", ...Object.keys(CVT)],
  emit(_x, f) {
    const { ins, mn, pre } = f;
    const d = xmmOf(ins, 0), s = xmmOf(ins, 1);
    const mem = ins.opCount > 1 && ins.opKind(1) === OpKind.Memory;
    /** Operand 1 as a slot (the register, or `bytes` of memory loaded into the source slot). */
    const src = (bytes: number): [string, number] =>
      s >= 0 ? ["", s] : mem ? [`${pre}V.ld(c,ea,${bytes},${bytes === 16});`, VEC_SRC] : ["", -1];
    const sfx = mn.slice(-2);
    const kind = SUFFIX[sfx];
    const base = mn.slice(0, -2);
    if (kind !== undefined && (ARITH[base] !== undefined || base === "Cmp")) {
      const [dbl, lanes] = kind;
      if (d < 0) return undefined;
      const [ld, sl] = src(lanes === 1 ? (dbl ? 8 : 4) : 16);
      if (sl < 0) return undefined;
      if (base === "Cmp") return SSE_CHECK + ld + `V.cmp(c,${dbl},${d},${sl},${lanes},${Number(ins.immediate(2)) & 7});`;
      return SSE_CHECK + ld + `V.fp(c,"${ARITH[base]}",${dbl},${d},${sl},${lanes});`;
    }
    switch (mn) {
      case "Comiss": case "Comisd": case "Ucomiss": case "Ucomisd": {
        const dbl = mn.endsWith("sd");
        const [ld, sl] = src(dbl ? 8 : 4);
        if (d < 0 || sl < 0) return undefined;
        return SSE_CHECK + ld + `V.comi(c,${dbl},${d},${sl},${mn.startsWith("Comi")});`;
      }
      case "Cvtsi2ss": case "Cvtsi2sd": {
        if (d < 0) return undefined;
        const is64 = f.o1.k === "r" || f.o1.k === "m" ? f.o1.s === 8 : false;
        return SSE_CHECK + pre + rd(f.o1, is64 ? 8 : 4, "a") + `V.cvtsi2f(c,${mn === "Cvtsi2sd"},${d},aL,${is64 ? "aH" : 0},${is64});`;
      }
      case "Cvtss2si": case "Cvtsd2si": case "Cvttss2si": case "Cvttsd2si": {
        const dbl = mn.endsWith("sd2si");
        const g = ins.opKind(0) === OpKind.Register ? REGS.get(ins.opRegister(0)) : undefined;
        const [ld, sl] = src(dbl ? 8 : 4);
        if (g === undefined || sl < 0) return undefined;
        const is64 = g.s === 8;
        return SSE_CHECK + ld + `R[${g.r}]=V.cvtf2si(c,${dbl},${sl},${is64},${mn.startsWith("Cvtt")});H[${g.r}]=c.tH;`;
      }
    }
    const cv = CVT[mn];
    if (cv !== undefined) {
      if (d < 0) return undefined;
      const [ld, sl] = src(cv[1]);
      if (sl < 0) return undefined;
      return SSE_CHECK + ld + `V.cvt(c,"${cv[0]}",${d},${sl});`;
    }
    return undefined;
  },
};
