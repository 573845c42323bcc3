/**
 * State instructions of the x87/SSE units: FXSAVE/FXRSTOR(64), XSAVE/XSAVEOPT/XSAVEC/XRSTOR(64),
 * XGETBV/XSETBV, LDMXCSR/STMXCSR (semantics in xsave.ts). Availability as each instruction's
 * "Protected Mode Exceptions" in SDM Vol. 2: FXSAVE/FXRSTOR #NM when CR0.TS or CR0.EM is set;
 * the XSAVE family #UD unless CR4.OSXSAVE, then #NM when CR0.TS; LDMXCSR/STMXCSR as any SSE
 * instruction.
 */
import { CR0_EM, CR0_TS, CR4_OSXSAVE } from "../registers";
import { Family } from "./form";
import { SSE_CHECK } from "./sse";

const FX_CHECK = `if((c.cr0&${CR0_EM | CR0_TS})!==0)c.fault(7,undefined,"FXSAVE/FXRSTOR with CR0.EM or CR0.TS set");`;
const OSXSAVE_CHECK = `if((c.cr4&${CR4_OSXSAVE})===0)c.fault(6,undefined,"XSAVE-family instruction with CR4.OSXSAVE clear");`;
const XS_CHECK = OSXSAVE_CHECK + `if((c.cr0&${CR0_TS})!==0)c.fault(7,undefined,"XSAVE-family instruction with CR0.TS set");`;

export const sseState: Family = {
  name: "sse-state",
  mnemonics: ["Fxsave", "Fxsave64", "Fxrstor", "Fxrstor64", "Xsave", "Xsave64", "Xsaveopt", "Xsaveopt64", "Xsavec", "Xsavec64", "Xrstor", "Xrstor64", "Xgetbv", "Xsetbv", "Ldmxcsr", "Stmxcsr"],
  emit(x, f) {
    const { mn, pre } = f;
    const rexW = mn.endsWith("64");
    const base = rexW ? mn.slice(0, -2) : mn;
    switch (base) {
      case "Fxsave": x.writes = true; return FX_CHECK + pre + `V.fxsave(c,ea,${rexW});`;
      case "Fxrstor": return FX_CHECK + pre + `V.fxrstor(c,ea,${rexW});`;
      case "Xsave": case "Xsaveopt": case "Xsavec":
        x.writes = true;
        return XS_CHECK + pre + `V.xsave(c,ea,${rexW},"${base.toLowerCase()}");`;
      case "Xrstor": return XS_CHECK + pre + `V.xrstor(c,ea,${rexW});`;
      case "Xgetbv": return OSXSAVE_CHECK + "V.xgetbv(c);";
      case "Xsetbv": return OSXSAVE_CHECK + "V.xsetbv(c);";
      case "Ldmxcsr": return SSE_CHECK + pre + "V.ldmxcsr(c,c.r32(ea));";
      case "Stmxcsr": x.writes = true; return SSE_CHECK + pre + "c.w32(ea,c.mxcsr);";
    }
    return undefined;
  },
};
