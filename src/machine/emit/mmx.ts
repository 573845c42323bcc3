/**
 * MMX forms on MM0..MM7 (semantics and the x87 aliasing in vec-mmx.ts): the MMX integer set,
 * movd/movq, the SSE integer additions on MM registers (pshufw, pavg, pmin/pmax, pmovmskb,
 * pextrw/pinsrw, psadbw, pmulhuw, movntq, maskmovq), the SSE2 ones (paddq, psubq, pmuludq,
 * movq2dq, movdq2q) and SSSE3's MM forms, and emms. Memory operands are 64 bits (32 for the low
 * unpacks) and never alignment-checked. The same mnemonics on XMM registers are emit/sse.ts's
 * and emit/sse4.ts's: this family claims only forms with an MM operand.
 */
import * as iced from "iced-x86";
import { VEC_MM_D, VEC_MM_S, VEC_SRC } from "../cpu-state";
import { REGS, rd, wr } from "../operands";
import { Family } from "./form";
import { rdiTarget, xmmOf } from "./sse";

const { OpKind, Register } = iced;
const D = VEC_MM_D, S = VEC_MM_S;
const CHECK = "V.mmxCheck(c);";

/** MM register number of operand n, or -1. */
export function mmOf(ins: iced.Instruction, n: number): number {
  if (n >= ins.opCount || ins.opKind(n) !== OpKind.Register) return -1;
  const r = ins.opRegister(n);
  return r >= Register.MM0 && r <= Register.MM7 ? r - Register.MM0 : -1;
}
function isMem(ins: iced.Instruction, n: number): boolean {
  return n < ins.opCount && ins.opKind(n) === OpKind.Memory;
}
function gpr(ins: iced.Instruction, n: number): number | undefined {
  if (n >= ins.opCount || ins.opKind(n) !== OpKind.Register) return undefined;
  return REGS.get(ins.opRegister(n))?.r;
}

/** Lane-wise `op mm, mm/m64` → the 128-bit helper run on the widened copy. */
const LANEWISE: Record<string, string> = {
  Pand: "pand", Pandn: "pandn", Por: "por", Pxor: "pxor",
  Paddb: "paddb", Paddw: "paddw", Paddd: "paddd", Paddq: "paddq", Psubb: "psubb", Psubw: "psubw", Psubd: "psubd", Psubq: "psubq",
  Paddsb: "paddsb", Paddsw: "paddsw", Paddusb: "paddusb", Paddusw: "paddusw", Psubsb: "psubsb", Psubsw: "psubsw", Psubusb: "psubusb", Psubusw: "psubusw",
  Pmullw: "pmullw", Pmulhw: "pmulhw", Pmulhuw: "pmulhuw", Pmuludq: "pmuludq", Pmaddwd: "pmaddwd",
  Pavgb: "pavgb", Pavgw: "pavgw", Psadbw: "psadbw", Pminub: "pminub", Pmaxub: "pmaxub", Pminsw: "pminsw", Pmaxsw: "pmaxsw",
  Pcmpeqb: "pcmpeqb", Pcmpeqw: "pcmpeqw", Pcmpeqd: "pcmpeqd", Pcmpgtb: "pcmpgtb", Pcmpgtw: "pcmpgtw", Pcmpgtd: "pcmpgtd",
  Pabsb: "pabsb", Pabsw: "pabsw", Pabsd: "pabsd", Psignb: "psignb", Psignw: "psignw", Psignd: "psignd",
  Pmaddubsw: "pmaddubsw", Pmulhrsw: "pmulhrsw",
};
/** The operations with their own 64-bit forms: helper call with (c, d, s) and extra arguments. */
const CROSSING: Record<string, string> = {
  Packsswb: "pack64(c,D,S,true,-128,127)", Packuswb: "pack64(c,D,S,true,0,255)", Packssdw: "pack64(c,D,S,false,-32768,32767)",
  Punpcklbw: "unpack64(c,D,S,1,false)", Punpcklwd: "unpack64(c,D,S,2,false)", Punpckldq: "unpack64(c,D,S,4,false)",
  Punpckhbw: "unpack64(c,D,S,1,true)", Punpckhwd: "unpack64(c,D,S,2,true)", Punpckhdq: "unpack64(c,D,S,4,true)",
  Pshufb: "pshufb64(c,D,S)", Phaddw: "phw64(c,D,S,false,false)", Phsubw: "phw64(c,D,S,true,false)", Phaddsw: "phw64(c,D,S,false,true)",
  Phsubsw: "phw64(c,D,S,true,true)", Phaddd: "phd64(c,D,S,false)", Phsubd: "phd64(c,D,S,true)",
  Palignr: "palignr64(c,D,S,IMM)", Pshufw: "pshufw64(c,D,S,IMM)",
};
const SHIFT = ["Psllw", "Pslld", "Psllq", "Psrlw", "Psrld", "Psrlq", "Psraw", "Psrad"];
const OTHER = ["Movd", "Movq", "Movq2dq", "Movdq2q", "Movntq", "Maskmovq", "Emms", "Pextrw", "Pinsrw", "Pmovmskb"];

export const mmx: Family = {
  name: "mmx",
  mnemonics: [...Object.keys(LANEWISE), ...Object.keys(CROSSING), ...SHIFT, ...OTHER],
  emit(x, f) {
    const { ins, mn, pre } = f;
    const d = mmOf(ins, 0), s = mmOf(ins, 1);
    const imm = ins.opCount >= 3 && ins.opKind(2) === OpKind.Immediate8 ? Number(ins.immediate(2)) & 255 : 0;
    /** Source operand 1 widened into a slot: an MM register into S, memory into the source slot. */
    const src = (bytes: number): [string, number] =>
      s >= 0 ? [`V.mmGet(c,${S},${s});`, S] : isMem(ins, 1) ? [`${pre}V.ld(c,ea,${bytes},false);V.zeroLanes(c,${VEC_SRC},${bytes / 4});`, VEC_SRC] : ["", -1];
    const op = (bytes: number, call: (sl: number) => string): string | undefined => {
      if (d < 0) return undefined;
      const [ld, sl] = src(bytes);
      if (sl < 0) return undefined;
      return CHECK + ld + `V.mmGet(c,${D},${d});` + call(sl) + `V.mmPut(c,${d},${D});`;
    };
    const lw = LANEWISE[mn];
    if (lw !== undefined) return op(8, (sl) => `V.${lw}(c,${D},${sl});`);
    const cr = CROSSING[mn];
    if (cr !== undefined) {
      const bytes = mn.startsWith("Punpckl") ? 4 : 8;
      return op(bytes, (sl) => "V." + cr.replace(/\bD\b/, String(D)).replace(/\bS\b/, String(sl)).replace("IMM", String(imm)) + ";");
    }
    if (SHIFT.includes(mn)) {
      const fn = mn.toLowerCase();
      if (d < 0) return undefined;
      if (ins.opCount === 2 && ins.opKind(1) === OpKind.Immediate8) {
        return CHECK + `V.mmGet(c,${D},${d});V.${fn}(c,${D},${Number(ins.immediate(1)) & 255});V.mmPut(c,${d},${D});`;
      }
      return op(8, (sl) => `V.${fn}(c,${D},V.countOf(c,${sl}));`);
    }
    switch (mn) {
      case "Emms": return CHECK + "V.emms(c);";
      case "Movd": case "Movq": {
        const size = mn === "Movd" ? 4 : 8;
        if (d >= 0 && s >= 0) return CHECK + `V.mmSet(c,${d},V.mmDword(c,${s},0),V.mmDword(c,${s},1));`;
        if (d >= 0) {
          if (isMem(ins, 1) || f.o1.k === "r") return CHECK + pre + rd(f.o1, size, "a") + `V.mmSet(c,${d},aL,${size === 8 ? "aH" : "0"});`;
          return undefined;
        }
        if (s >= 0) {
          const val = `aL=V.mmDword(c,${s},0);aH=V.mmDword(c,${s},1);V.mmxEnter(c);`;
          if (isMem(ins, 0)) { x.writes = true; return CHECK + pre + val + wr(f.o0, size, "a"); }
          if (f.o0.k === "r") return CHECK + val + wr(f.o0, size === 8 ? 8 : 4, "a");
        }
        return undefined;
      }
      case "Movntq":
        if (s < 0 || !isMem(ins, 0)) return undefined;
        x.writes = true;
        return CHECK + pre + `aL=V.mmDword(c,${s},0);aH=V.mmDword(c,${s},1);V.mmxEnter(c);` + wr(f.o0, 8, "a");
      case "Movq2dq": {
        const xd = xmmOf(ins, 0);
        if (xd < 0 || s < 0) return undefined;
        return CHECK + `c.vd[${xd * 4}]=V.mmDword(c,${s},0);c.vd[${xd * 4 + 1}]=V.mmDword(c,${s},1);V.zeroLanes(c,${xd},2);V.mmxEnter(c);`;
      }
      case "Movdq2q": {
        const xs = xmmOf(ins, 1);
        if (d < 0 || xs < 0) return undefined;
        return CHECK + `V.mmSet(c,${d},c.vd[${xs * 4}],c.vd[${xs * 4 + 1}]);`;
      }
      case "Maskmovq": {
        const a = mmOf(ins, 1), b = mmOf(ins, 2);
        if (a < 0 || b < 0) return undefined;
        x.writes = true;
        return CHECK + `V.maskmovq(c,${rdiTarget(ins, x.m64)},${a},${b});`;
      }
      case "Pmovmskb": {
        const g = gpr(ins, 0);
        if (g === undefined || s < 0) return undefined;
        return CHECK + `R[${g}]=V.pmovmskb64(c,${s});H[${g}]=0;V.mmxEnter(c);`;
      }
      case "Pextrw": {
        const g = gpr(ins, 0);
        if (g === undefined || s < 0) return undefined;
        return CHECK + `R[${g}]=c.fpr[${s * 5 + (imm & 3)}];H[${g}]=0;V.mmxEnter(c);`;
      }
      case "Pinsrw": {
        if (d < 0) return undefined;
        const val = isMem(ins, 1) ? `${pre}t=c.r16(ea);` : gpr(ins, 1) !== undefined ? `t=R[${gpr(ins, 1)}]&65535;` : undefined;
        if (val === undefined) return undefined;
        return CHECK + val + `V.mmGet(c,${D},${d});c.vw[${D * 8 + (imm & 3)}]=t;V.mmPut(c,${d},${D});`;
      }
    }
    return undefined;
  },
};
