/**
 * SSE3, SSSE3, SSE4.1 and SSE4.2 on XMM registers (semantics in vec-ssse3.ts and vec-float.ts):
 * SSE3 moves and horizontal/alternating arithmetic, SSSE3 (pshufb, palignr, phadd/phsub,
 * pabs/psign, pmaddubsw, pmulhrsw), SSE4.1 (min/max, pmulld/pmuldq, pcmpeqq, packusdw, blends,
 * pmovsx/zx, ptest, pextr/pinsr, insertps/extractps, round*, phminposuw, mpsadbw), SSE4.2 pcmpgtq and
 * crc32, PCLMULQDQ (vec-clmul.ts) and AES-NI (vec-aes.ts). The MMX forms of the SSSE3 instructions are emit/mmx.ts's. 128-bit memory operands must be
 * 16-byte aligned, the narrower ones need not be.
 */
import * as iced from "iced-x86";
import { VEC_SRC } from "../cpu-state";
import { REGS, rd, wr } from "../operands";
import { Family } from "./form";
import { SSE_CHECK, xmmOf } from "./sse";

const { OpKind } = iced;

/** `op xmm, xmm/m128` → vec-ssse3.ts function (d, s). */
const BINARY: Record<string, string> = {
  Pshufb: "pshufb", Pabsb: "pabsb", Pabsw: "pabsw", Pabsd: "pabsd", Psignb: "psignb", Psignw: "psignw", Psignd: "psignd",
  Pmaddubsw: "pmaddubsw", Pmulhrsw: "pmulhrsw",
  Pminsb: "pminsb", Pmaxsb: "pmaxsb", Pminuw: "pminuw", Pmaxuw: "pmaxuw", Pminsd: "pminsd", Pmaxsd: "pmaxsd", Pminud: "pminud", Pmaxud: "pmaxud",
  Pmulld: "pmulld", Pmuldq: "pmuldq", Pcmpeqq: "pcmpeqq", Pcmpgtq: "pcmpgtq", Packusdw: "packusdw",
  Movshdup: "movshdup", Movsldup: "movsldup", Phminposuw: "phminposuw",
  Pblendvb: "pblendvb", Blendvps: "blendvps", Blendvpd: "blendvpd",
};
/** AES-NI (vec-aes.ts): `op xmm, xmm/m128` → the call. */
const AES: Record<string, string> = {
  Aesenc: "aesRound(c,D,S,false,false)", Aesenclast: "aesRound(c,D,S,false,true)", Aesdec: "aesRound(c,D,S,true,false)",
  Aesdeclast: "aesRound(c,D,S,true,true)", Aesimc: "aesimc(c,D,S)", Aeskeygenassist: "aeskeygenassist(c,D,S,IMM)",
};
const IMM: Record<string, string> = { Palignr: "palignr", Pblendw: "pblendw", Blendps: "blendps", Blendpd: "blendpd", Pclmulqdq: "pclmulqdq", Mpsadbw: "mpsadbw" };
const HORIZONTAL: Record<string, [string, string]> = {
  Phaddw: ["phw", "false,false"], Phsubw: ["phw", "true,false"], Phaddsw: ["phw", "false,true"], Phsubsw: ["phw", "true,true"],
  Phaddd: ["phd", "false"], Phsubd: ["phd", "true"],
};
const FP_H: Record<string, [string, boolean]> = {
  Addsubps: ["addsub", false], Addsubpd: ["addsub", true], Haddps: ["hadd", false], Haddpd: ["hadd", true], Hsubps: ["hsub", false], Hsubpd: ["hsub", true],
};
/** pmovsx/pmovzx: source element bytes, destination element bytes. */
const PMOV: Record<string, [number, number]> = { bw: [1, 2], bd: [1, 4], bq: [1, 8], wd: [2, 4], wq: [2, 8], dq: [4, 8] };
const pmovNames = Object.keys(PMOV).flatMap((k) => [`Pmovsx${k}`, `Pmovzx${k}`]);
const ROUND: Record<string, [boolean, number]> = { Roundss: [false, 1], Roundsd: [true, 1], Roundps: [false, 4], Roundpd: [true, 2] };

export const sse4: Family = {
  name: "sse4",
  mnemonics: [...Object.keys(BINARY), ...Object.keys(AES), ...Object.keys(IMM), ...Object.keys(HORIZONTAL), ...Object.keys(FP_H), ...pmovNames, ...Object.keys(ROUND),
    "Movddup", "Ptest", "Pextrb", "Pextrd", "Pextrq", "Extractps", "Pinsrb", "Pinsrd", "Pinsrq", "Insertps", "Crc32"],
  emit(x, f) {
    const { ins, mn, pre } = f;
    const d = xmmOf(ins, 0), s = xmmOf(ins, 1);
    const mem1 = ins.opCount > 1 && ins.opKind(1) === OpKind.Memory;
    const src = (bytes: number): [string, number] =>
      s >= 0 ? ["", s] : mem1 ? [`${pre}V.ld(c,ea,${bytes},${bytes === 16});`, VEC_SRC] : ["", -1];
    const imm = ins.opCount >= 3 && ins.opKind(2) === OpKind.Immediate8 ? Number(ins.immediate(2)) & 255 : 0;
    const two = (bytes: number, call: (sl: number) => string): string | undefined => {
      if (d < 0) return undefined;
      const [ld, sl] = src(bytes);
      return sl < 0 ? undefined : SSE_CHECK + ld + call(sl);
    };
    if (BINARY[mn] !== undefined) return two(16, (sl) => `V.${BINARY[mn]}(c,${d},${sl});`);
    const aes = AES[mn];
    if (aes !== undefined) return two(16, (sl) => `V.${aes.replace("D", String(d)).replace("S", String(sl)).replace("IMM", String(imm))};`);
    if (IMM[mn] !== undefined) return two(16, (sl) => `V.${IMM[mn]}(c,${d},${sl},${imm});`);
    const h = HORIZONTAL[mn];
    if (h !== undefined) return two(16, (sl) => `V.${h[0]}(c,${d},${sl},${h[1]});`);
    const fh = FP_H[mn];
    if (fh !== undefined) return two(16, (sl) => `V.fpHorizontal(c,"${fh[0]}",${fh[1]},${d},${sl});`);
    const rnd = ROUND[mn];
    if (rnd !== undefined) {
      const [dbl, lanes] = rnd;
      return two(lanes === 1 ? (dbl ? 8 : 4) : 16, (sl) => `V.fpRound(c,${dbl},${d},${sl},${lanes},${imm});`);
    }
    if (mn.startsWith("Pmovsx") || mn.startsWith("Pmovzx")) {
      const [from, to] = PMOV[mn.slice(6)]!;
      return two((16 / to) * from, (sl) => `V.pmovx(c,${d},${sl},${from},${to},${mn[4] === "s"});`);
    }
    switch (mn) {
      case "Movddup": return two(8, (sl) => `V.movddup(c,${d},${sl});`);
      case "Ptest": return two(16, (sl) => `c.setArith(V.ptest(c,${d},${sl}));`);
      case "Insertps": return two(4, (sl) => `V.insertps(c,${d},${sl},${imm});`);
      case "Pextrb": case "Pextrd": case "Pextrq": case "Extractps": {
        if (s < 0) return undefined;
        const size = mn === "Pextrb" ? 1 : mn === "Pextrq" ? 8 : 4;
        const lane = mn === "Pextrb" ? `aL=c.vb[${s * 16 + (imm & 15)}];` : size === 8 ? `aL=c.vd[${s * 4 + (imm & 1) * 2}];aH=c.vd[${s * 4 + (imm & 1) * 2 + 1}];` : `aL=c.vd[${s * 4 + (imm & 3)}];`;
        if (f.o0.k === "m") { x.writes = true; return SSE_CHECK + pre + lane + wr(f.o0, size, "a"); }
        if (f.o0.k !== "r") return undefined;
        // A register destination is written whole (r32: zero-extended to 64 bits).
        return SSE_CHECK + lane + wr(f.o0, size === 8 ? 8 : 4, "a");
      }
      case "Pinsrb": case "Pinsrd": case "Pinsrq": {
        if (d < 0) return undefined;
        const size = mn === "Pinsrb" ? 1 : mn === "Pinsrq" ? 8 : 4;
        let code = SSE_CHECK + pre + rd(f.o1, size, "a");
        if (size === 1) code += `c.vb[${d * 16 + (imm & 15)}]=aL;`;
        else if (size === 4) code += `c.vd[${d * 4 + (imm & 3)}]=aL;`;
        else code += `c.vd[${d * 4 + (imm & 1) * 2}]=aL;c.vd[${d * 4 + (imm & 1) * 2 + 1}]=aH;`;
        return code;
      }
      case "Crc32": {
        const g = ins.opKind(0) === OpKind.Register ? REGS.get(ins.opRegister(0)) : undefined;
        const size = f.sizeOf(f.o1);
        if (g === undefined || size === 0) return undefined;
        return pre + rd(f.o1, size, "b") + (size === 8 ? "" : "bH=0;") + `R[${g.r}]=V.crc32(R[${g.r}],bL,bH,${size});H[${g.r}]=0;`;
      }
    }
    return undefined;
  },
};
