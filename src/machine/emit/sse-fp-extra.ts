/**
 * The SSE floating-point forms outside sse-fp.ts's regular table: SSE4.1 dpps/dppd (vec-dp.ts),
 * the approximations rcpps/rcpss/rsqrtps/rsqrtss (vec-approx.ts) and the MMX<->SSE conversions
 * cvtpi2ps/cvtpi2pd/cvt(t)ps2pi/cvt(t)pd2pi (vec-cvtmmx.ts). Packed 128-bit memory operands must
 * be 16-byte aligned (dpps, dppd, rcpps, rsqrtps, cvt(t)pd2pi); m32 and m64 ones need not be. A
 * form with an MM operand also takes the MMX checks (a pending x87 exception is #MF first).
 */
import * as iced from "iced-x86";
import { VEC_SRC } from "../cpu-state";
import { Family } from "./form";
import { mmOf } from "./mmx";
import { SSE_CHECK, xmmOf } from "./sse";

const { OpKind } = iced;
const MMX_CHECK = "V.mmxCheck(c);";

/** rcp/rsqrt: [square root, lanes]. */
const APPROX: Record<string, [boolean, number]> = { Rcpps: [false, 4], Rcpss: [false, 1], Rsqrtps: [true, 4], Rsqrtss: [true, 1] };
/** float → MM: [double, truncate, memory bytes]. */
const TO_PI: Record<string, [boolean, boolean, number]> = {
  Cvtps2pi: [false, false, 8], Cvttps2pi: [false, true, 8], Cvtpd2pi: [true, false, 16], Cvttpd2pi: [true, true, 16],
};

export const sseFpExtra: Family = {
  name: "sse-fp-extra",
  mnemonics: ["Dpps", "Dppd", ...Object.keys(APPROX), ...Object.keys(TO_PI), "Cvtpi2ps", "Cvtpi2pd"],
  emit(_x, f) {
    const { ins, mn, pre } = f;
    const mem1 = ins.opCount > 1 && ins.opKind(1) === OpKind.Memory;
    const xs = xmmOf(ins, 1);
    /** Operand 1 as an XMM slot: the register, or `bytes` of memory in the source slot. */
    const src = (bytes: number): [string, number] =>
      xs >= 0 ? ["", xs] : mem1 ? [`${pre}V.ld(c,ea,${bytes},${bytes === 16});`, VEC_SRC] : ["", -1];
    const d = xmmOf(ins, 0);
    if (mn === "Dpps" || mn === "Dppd") {
      const [ld, sl] = src(16);
      if (d < 0 || sl < 0) return undefined;
      return SSE_CHECK + ld + `V.dp(c,${mn === "Dppd"},${d},${sl},${Number(ins.immediate(2)) & 255});`;
    }
    const ap = APPROX[mn];
    if (ap !== undefined) {
      const [ld, sl] = src(ap[1] === 4 ? 16 : 4);
      if (d < 0 || sl < 0) return undefined;
      return SSE_CHECK + ld + `V.approx(c,${ap[0]},${d},${sl},${ap[1]});`;
    }
    const tp = TO_PI[mn];
    if (tp !== undefined) {
      const mm = mmOf(ins, 0);
      const [ld, sl] = src(tp[2]);
      if (mm < 0 || sl < 0) return undefined;
      return SSE_CHECK + MMX_CHECK + ld + `V.cvtf2pi(c,${tp[0]},${mm},${sl},${tp[1]});`;
    }
    if (mn === "Cvtpi2ps" || mn === "Cvtpi2pd") {
      if (d < 0) return undefined;
      const dbl = mn === "Cvtpi2pd", ms = mmOf(ins, 1);
      if (ms >= 0) return SSE_CHECK + MMX_CHECK + `V.cvtpi2f(c,${dbl},${d},V.mmDword(c,${ms},0),V.mmDword(c,${ms},1),true);`;
      if (!mem1) return undefined;
      return SSE_CHECK + pre + `V.ld(c,ea,8,false);V.cvtpi2f(c,${dbl},${d},c.vd[${VEC_SRC * 4}],c.vd[${VEC_SRC * 4 + 1}],false);`;
    }
    return undefined;
  },
};
