/**
 * The system instructions a kernel touches beyond the core ones in system.ts:
 * descriptor tables (lldt/sldt/ltr/str/lar/lsl/verr/verw, checked in desc-tables.ts), cache
 * control (clflush/clflushopt/clwb: page-access checked as a read, SDM Vol. 2A CLFLUSH), invlpg
 * (a non-canonical address is a no-op, SDM Vol. 2A INVLPG), into, rdpid.
 */
import { Opd, eaExpr, rd, wr } from "../operands";
import type { Ctx, Family } from "./form";

const CANON = 2 ** 47;

/** JS for one of these instructions, or undefined when `mn` is not one of them. */
function emitDescriptor(x: Ctx, mn: string, pre: string, o0: Opd, o1: Opd): string | undefined {
  const done = () => { x.end = true; return `c.rip=${x.next};return ${x.i + 1};`; };
  /** Stores a 16-bit selector: m16, or a register zero-extended to its size (SDM SLDT/STR). */
  const storeSel = (v: string) => {
    if (o0.k === "m") { x.writes = true; return `${pre}c.w16(ea,${v});`; }
    return `aL=${v};aH=0;` + wr(o0, o0.k === "r" ? o0.s : 2, "a");
  };
  switch (mn) {
    case "Lldt": return pre + rd(o0, 2, "a") + "c.lldt(aL);";
    case "Ltr": return pre + rd(o0, 2, "a") + "c.ltr(aL);" + done();
    // Not privileged (no CR4.UMIP here); the real-mode #UD is not modelled for the stores.
    case "Sldt": return storeSel("c.ldtr");
    case "Str": return storeSel("c.trSelector");
    case "Lar": case "Lsl": case "Verr": case "Verw": {
      const op = mn.toLowerCase();
      const src = mn === "Lar" || mn === "Lsl" ? o1 : o0;
      const code = pre + rd(src, 2, "b") + `t=c.segCheck(${JSON.stringify(op)},bL);`;
      if (mn === "Verr" || mn === "Verw") return code;
      // ZF=0 leaves the destination unchanged; a 32-bit destination is zero-extended.
      const s = o0.k === "r" ? o0.s : 4;
      return code + `if(t>=0){aL=t|0;aH=0;${wr(o0, s, "a")}}`;
    }
    case "Clflush": case "Clflushopt": case "Clwb":
      // No caches are modelled; the access checks (and #PF) are those of a byte read.
      return pre + "c.r8(ea);";
    case "Invlpg": {
      const { code } = eaExpr(x.ins, x.m64, true);
      return `c.priv();ea=${code};if(ea>=${-CANON}&&ea<${CANON})c.invlpg(ea);` + done();
    }
    case "Into":
      x.end = true;
      return `if(c.getFlags()&2048){c.softInt(4,${x.next});return ${x.i + 1};}c.rip=${x.next};return ${x.i + 1};`;
    case "Rdpid":
      return o0.k === "r" ? `R[${o0.r}]=c.tscAux;H[${o0.r}]=0;` : undefined;
  }
  return undefined;
}

export const descriptor: Family = {
  name: "descriptor",
  mnemonics: ["Lldt", "Ltr", "Sldt", "Str", "Lar", "Lsl", "Verr", "Verw", "Clflush", "Clflushopt", "Clwb", "Invlpg", "Into", "Rdpid"],
  emit: (x, f) => emitDescriptor(x, f.mn, f.pre, f.o0, f.o1),
};
