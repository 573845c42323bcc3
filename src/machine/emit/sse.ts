/**
 * SSE/SSE2 data movement and integer instructions on XMM registers (SDM Vol. 2; semantics in
 * vec-int.ts, memory operands in vec-mem.ts). Every form first checks that SSE is usable:
 * CR0.EM set or CR4.OSFXSR clear is #UD, CR0.TS set is #NM (SDM Vol. 3A §2.5, §13.1.3; lazy FPU
 * switching relies on that #NM). 128-bit memory operands of the aligned forms must be 16-byte
 * aligned (#GP(0)); movdqu/movups/movupd/lddqu and the 32/64-bit forms are not checked.
 * The MMX forms of the same mnemonics (MM registers) are emit/mmx.ts's.
 */
import * as iced from "iced-x86";
import { CR0_EM, CR0_TS, CR4_OSFXSR } from "../registers";
import { REGS, rd, wr } from "../operands";
import { VEC_SRC } from "../cpu-state";
import { Family } from "./form";

const { OpKind, Register } = iced;

/** The SSE availability check (one branch on the fast path). */
export const SSE_CHECK =
  `if((c.cr0&${CR0_EM | CR0_TS})!==0||(c.cr4&${CR4_OSFXSR})===0)` +
  `c.fault((c.cr0&${CR0_EM})!==0||(c.cr4&${CR4_OSFXSR})===0?6:7,undefined,"SSE instruction with CR0.EM/TS set or CR4.OSFXSR clear");`;

/**
 * The address maskmovq/maskmovdqu store to: DS:rDI, or another segment with an override (iced's
 * operand 0: RDI, EDI or DI by the address size). In 64-bit mode only FS and GS have a base.
 */
export function rdiTarget(ins: iced.Instruction, m64: boolean): string {
  const seg = ins.memorySegment;
  const segAdd = seg === Register.FS ? "+c.fsBase" : seg === Register.GS ? "+c.gsBase"
    : m64 ? "" : seg === Register.ES ? "+c.esBase" : seg === Register.CS ? "+c.csBase" : seg === Register.SS ? "+c.ssBase" : "+c.dsBase";
  const k = ins.opKind(0);
  if (k === OpKind.MemorySegRDI) return `c.cn(H[7]*4294967296+(R[7]>>>0)${segAdd})`;
  return `(((R[7]${k === OpKind.MemorySegDI ? "&65535" : ">>>0"})${segAdd})>>>0)`;
}

/** XMM register number of operand n, or -1. */
export function xmmOf(ins: iced.Instruction, n: number): number {
  if (n >= ins.opCount || ins.opKind(n) !== OpKind.Register) return -1;
  const r = ins.opRegister(n);
  return r >= Register.XMM0 && r <= Register.XMM15 ? r - Register.XMM0 : -1;
}

function isMem(ins: iced.Instruction, n: number): boolean {
  return n < ins.opCount && ins.opKind(n) === OpKind.Memory;
}

/** Element-wise and permuting `op xmm, xmm/m128` forms → vec-int.ts function. */
const BINARY: Record<string, string> = {
  Pand: "pand", Andps: "pand", Andpd: "pand", Pandn: "pandn", Andnps: "pandn", Andnpd: "pandn",
  Por: "por", Orps: "por", Orpd: "por", Pxor: "pxor", Xorps: "pxor", Xorpd: "pxor",
  Paddb: "paddb", Paddw: "paddw", Paddd: "paddd", Paddq: "paddq", Psubb: "psubb", Psubw: "psubw", Psubd: "psubd", Psubq: "psubq",
  Paddsb: "paddsb", Paddsw: "paddsw", Paddusb: "paddusb", Paddusw: "paddusw",
  Psubsb: "psubsb", Psubsw: "psubsw", Psubusb: "psubusb", Psubusw: "psubusw",
  Pmullw: "pmullw", Pmulhw: "pmulhw", Pmulhuw: "pmulhuw", Pmuludq: "pmuludq", Pmaddwd: "pmaddwd",
  Pavgb: "pavgb", Pavgw: "pavgw", Psadbw: "psadbw",
  Pminub: "pminub", Pmaxub: "pmaxub", Pminsw: "pminsw", Pmaxsw: "pmaxsw",
  Pcmpeqb: "pcmpeqb", Pcmpeqw: "pcmpeqw", Pcmpeqd: "pcmpeqd", Pcmpgtb: "pcmpgtb", Pcmpgtw: "pcmpgtw", Pcmpgtd: "pcmpgtd",
  Packsswb: "packsswb", Packuswb: "packuswb", Packssdw: "packssdw",
};
/** Unpacks: function and whether it takes the high halves. */
const UNPACK: Record<string, [string, boolean]> = {
  Punpcklbw: ["punpckb", false], Punpckhbw: ["punpckb", true], Punpcklwd: ["punpckw", false], Punpckhwd: ["punpckw", true],
  Punpckldq: ["punpckd", false], Punpckhdq: ["punpckd", true], Punpcklqdq: ["punpckq", false], Punpckhqdq: ["punpckq", true],
  Unpcklps: ["punpckd", false], Unpckhps: ["punpckd", true], Unpcklpd: ["punpckq", false], Unpckhpd: ["punpckq", true],
};
const SHIFT: Record<string, string> = {
  Psllw: "psllw", Pslld: "pslld", Psllq: "psllq", Psrlw: "psrlw", Psrld: "psrld", Psrlq: "psrlq", Psraw: "psraw", Psrad: "psrad",
  Pslldq: "pslldq", Psrldq: "psrldq",
};
/** Full 128-bit moves; the value says whether a memory operand must be 16-byte aligned. */
const MOVE128: Record<string, boolean> = {
  Movdqa: true, Movaps: true, Movapd: true, Movntdq: true, Movntps: true, Movntpd: true, Movntdqa: true,
  Movdqu: false, Movups: false, Movupd: false, Lddqu: false,
};
const OTHER = [
  "Movd", "Movq", "Movss", "Movsd", "Movhps", "Movlps", "Movhpd", "Movlpd", "Movhlps", "Movlhps", "Movnti",
  "Pshufd", "Pshuflw", "Pshufhw", "Shufps", "Shufpd", "Pmovmskb", "Movmskps", "Movmskpd", "Pextrw", "Pinsrw", "Maskmovdqu",
];

export const sse: Family = {
  name: "sse",
  mnemonics: [...Object.keys(BINARY), ...Object.keys(UNPACK), ...Object.keys(SHIFT), ...Object.keys(MOVE128), ...OTHER],
  emit(x, f) {
    const { ins, mn, pre } = f;
    const d = xmmOf(ins, 0), s = xmmOf(ins, 1);
    /** Source operand 1 as a slot: the register, or the memory operand loaded into the source slot. */
    const src = (bytes: number, aligned: boolean): [string, number] =>
      s >= 0 ? ["", s] : isMem(ins, 1) ? [`${pre}V.ld(c,ea,${bytes},${aligned});`, VEC_SRC] : ["", -1];
    if (mn === "Movnti") {
      if (f.o0.k !== "m" || f.o1.k !== "r") return undefined;
      return pre + rd(f.o1, f.o1.s, "a") + wr(f.o0, f.o1.s, "a");
    }
    const bin = BINARY[mn];
    if (bin !== undefined) {
      if (d < 0) return undefined;
      const [ld, sl] = src(16, true);
      if (sl < 0) return undefined;
      return SSE_CHECK + ld + `V.${bin}(c,${d},${sl});`;
    }
    const un = UNPACK[mn];
    if (un !== undefined) {
      if (d < 0) return undefined;
      const [ld, sl] = src(16, true);
      if (sl < 0) return undefined;
      return SSE_CHECK + ld + `V.${un[0]}(c,${d},${sl},${un[1]});`;
    }
    const sh = SHIFT[mn];
    if (sh !== undefined) {
      if (d < 0) return undefined;
      if (ins.opCount === 2 && ins.opKind(1) === OpKind.Immediate8) return SSE_CHECK + `V.${sh}(c,${d},${Number(ins.immediate(1)) & 255});`;
      if (mn === "Pslldq" || mn === "Psrldq") return undefined;
      const [ld, sl] = src(16, true);
      if (sl < 0) return undefined;
      return SSE_CHECK + ld + `V.${sh}(c,${d},V.countOf(c,${sl}));`;
    }
    const aligned = MOVE128[mn];
    if (aligned !== undefined) {
      if (d >= 0 && s >= 0) return SSE_CHECK + `V.mov(c,${d},${s});`;
      if (d >= 0 && isMem(ins, 1)) return SSE_CHECK + pre + `V.ld(c,ea,16,${aligned});V.mov(c,${d},${VEC_SRC});`;
      if (isMem(ins, 0) && s >= 0) { x.writes = true; return SSE_CHECK + pre + `V.st(c,ea,${s},0,4,${aligned});`; }
      return undefined;
    }
    const imm = ins.opCount >= 3 && ins.opKind(2) === OpKind.Immediate8 ? Number(ins.immediate(2)) & 255 : 0;
    switch (mn) {
      case "Movd": case "Movq": {
        const size = mn === "Movd" ? 4 : 8;
        if (d >= 0 && s >= 0) return SSE_CHECK + `V.movLanes(c,${d},${s},0,2);V.zeroLanes(c,${d},2);`; // movq xmm, xmm
        if (d >= 0) {
          if (isMem(ins, 1)) return SSE_CHECK + pre + `V.ld(c,ea,${size},false);V.movLanes(c,${d},${VEC_SRC},0,${size / 4});V.zeroLanes(c,${d},${size / 4});`;
          const g = gpr(ins, 1);
          if (g === undefined) return undefined;
          return SSE_CHECK + `c.vd[${d * 4}]=R[${g}];c.vd[${d * 4 + 1}]=${size === 8 ? `H[${g}]` : "0"};V.zeroLanes(c,${d},2);`;
        }
        if (s >= 0) {
          if (isMem(ins, 0)) { x.writes = true; return SSE_CHECK + pre + `V.st(c,ea,${s},0,${size / 4},false);`; }
          const g = gpr(ins, 0);
          if (g === undefined) return undefined;
          return SSE_CHECK + `R[${g}]=c.vd[${s * 4}];H[${g}]=${size === 8 ? `c.vd[${s * 4 + 1}]` : "0"};`;
        }
        return undefined;
      }
      case "Movss": case "Movsd": {
        const lanes = mn === "Movss" ? 1 : 2;
        if (d >= 0 && s >= 0) return SSE_CHECK + `V.movLanes(c,${d},${s},0,${lanes});`;
        if (d >= 0 && isMem(ins, 1)) return SSE_CHECK + pre + `V.ld(c,ea,${lanes * 4},false);V.movLanes(c,${d},${VEC_SRC},0,${lanes});V.zeroLanes(c,${d},${lanes});`;
        if (isMem(ins, 0) && s >= 0) { x.writes = true; return SSE_CHECK + pre + `V.st(c,ea,${s},0,${lanes},false);`; }
        return undefined;
      }
      case "Movhps": case "Movhpd": case "Movlps": case "Movlpd": {
        const lane = mn === "Movhps" || mn === "Movhpd" ? 2 : 0;
        if (d >= 0 && isMem(ins, 1)) return SSE_CHECK + pre + `V.ld(c,ea,8,false);V.movLanesAt(c,${d},${lane},${VEC_SRC},0,2);`;
        if (isMem(ins, 0) && s >= 0) { x.writes = true; return SSE_CHECK + pre + `V.st(c,ea,${s},${lane},2,false);`; }
        return undefined; // movhlps/movlhps have their own mnemonics
      }
      case "Movhlps": if (d < 0 || s < 0) return undefined; return SSE_CHECK + `V.movLanesAt(c,${d},0,${s},2,2);`;
      case "Movlhps": if (d < 0 || s < 0) return undefined; return SSE_CHECK + `V.movLanesAt(c,${d},2,${s},0,2);`;
      case "Pshufd": case "Shufps": case "Shufpd": {
        if (d < 0) return undefined;
        const [ld, sl] = src(16, true);
        if (sl < 0) return undefined;
        return SSE_CHECK + ld + `V.${mn.toLowerCase()}(c,${d},${sl},${imm});`;
      }
      case "Pshuflw": case "Pshufhw": {
        if (d < 0) return undefined;
        const [ld, sl] = src(16, true);
        if (sl < 0) return undefined;
        return SSE_CHECK + ld + `V.pshufw(c,${d},${sl},${imm},${mn === "Pshufhw"});`;
      }
      case "Pmovmskb": case "Movmskps": case "Movmskpd": {
        const g = gpr(ins, 0);
        if (g === undefined || s < 0) return undefined;
        return SSE_CHECK + `R[${g}]=V.${mn.toLowerCase()}(c,${s});H[${g}]=0;`;
      }
      case "Pextrw": {
        // pextrw r32, xmm, imm (66 0F C5); the SSE4.1 memory form (66 0F 3A 15) stores the word.
        if (s < 0) return undefined;
        const w = `c.vw[${s * 8 + (imm & 7)}]`;
        if (isMem(ins, 0)) { x.writes = true; return SSE_CHECK + pre + `c.w16(ea,${w});`; }
        const g = gpr(ins, 0);
        if (g === undefined) return undefined;
        return SSE_CHECK + `R[${g}]=${w};H[${g}]=0;`;
      }
      case "Maskmovdqu": {
        const a = xmmOf(ins, 1), b = xmmOf(ins, 2);
        if (a < 0 || b < 0) return undefined;
        x.writes = true;
        return SSE_CHECK + `V.maskmovdqu(c,${rdiTarget(ins, x.m64)},${a},${b});`;
      }
      case "Pinsrw": {
        if (d < 0) return undefined;
        const w = `c.vw[${d * 8 + (imm & 7)}]`;
        if (isMem(ins, 1)) return SSE_CHECK + pre + `${w}=c.r16(ea);`;
        const g = gpr(ins, 1);
        if (g === undefined) return undefined;
        return SSE_CHECK + `${w}=R[${g}];`;
      }
    }
    return undefined;
  },
};

/** General-purpose register number of operand n, or undefined. */
function gpr(ins: iced.Instruction, n: number): number | undefined {
  if (n >= ins.opCount || ins.opKind(n) !== OpKind.Register) return undefined;
  return REGS.get(ins.opRegister(n))?.r;
}
