/**
 * SSE4.2 string and text instructions PCMPESTRI/PCMPESTRM/PCMPISTRI/PCMPISTRM (semantics in
 * vec-pcmpstr.ts). The m128 operand is not alignment-checked (SDM Vol. 2B PCMPISTRI: these
 * instructions "do not require alignment"). The explicit forms read EAX/EDX, or RAX/RDX with
 * REX.W; the index forms write ECX (zero-extending into RCX), the mask forms XMM0.
 */
import * as iced from "iced-x86";
import { VEC_SRC } from "../cpu-state";
import { Family } from "./form";
import { SSE_CHECK, xmmOf } from "./sse";

const { OpKind } = iced;

export const sse42String: Family = {
  name: "sse42-string",
  mnemonics: ["Pcmpestri", "Pcmpestri64", "Pcmpestrm", "Pcmpestrm64", "Pcmpistri", "Pcmpistrm"],
  emit(_x, f) {
    const { ins, mn, pre } = f;
    const a = xmmOf(ins, 0);
    let b = xmmOf(ins, 1), ld = "";
    if (a < 0 || ins.opCount < 3 || ins.opKind(2) !== OpKind.Immediate8) return undefined;
    if (b < 0) {
      if (ins.opKind(1) !== OpKind.Memory) return undefined;
      ld = `${pre}V.ld(c,ea,16,false);`;
      b = VEC_SRC;
    }
    const imm = Number(ins.immediate(2)) & 0x7f;
    const ub = imm & 1 ? 8 : 16;
    const explicit = mn.startsWith("Pcmpe");
    const wide = mn.endsWith("64");
    const la = explicit ? `V.explicitLength(R[0],${wide ? "H[0]" : "undefined"},${ub})` : `V.implicitLength(c,${a},${imm},${ub})`;
    const lb = explicit ? `V.explicitLength(R[2],${wide ? "H[2]" : "undefined"},${ub})` : `V.implicitLength(c,${b},${imm},${ub})`;
    const cmp = `t=V.pcmpstr(c,${a},${la},${b},${lb},${imm});c.setArith(t>>>16);`;
    const out = mn.includes("strm") ? `V.strMask(c,t,${imm});` : `R[1]=V.strIndex(t,${imm});H[1]=0;`;
    return SSE_CHECK + ld + cmp + out;
  },
};
