/** Data movement: mov (and to/from control, debug and segment registers), movzx/movsx, lea, xchg, bswap, movbe, setcc, cmovcc, xlat. */
import * as iced from "iced-x86";
import { OpKind } from "iced-x86";
import { CR_REGS, DR_REGS, Opd, SEG_REGS, ccOf, leaCode, rd, wr } from "../operands";
import { condExpr } from "../flag-analysis";
import { Family, Ctx } from "./form";

const TWO32 = 4294967296;

/** mov to/from control, debug and segment registers. */
export function movSpecial(x: Ctx, pre: string, o0: Opd, o1: Opd): string | undefined {
  const ins = x.ins;
  const r0 = ins.op0Kind === OpKind.Register ? ins.op0Register : -1;
  const r1 = nopsAtLeast(ins, 2) && ins.op1Kind === OpKind.Register ? ins.op1Register : -1;
  if (CR_REGS.has(r0) && o1.k === "r") {
    x.end = true;
    return `c.writeCr(${CR_REGS.get(r0)},R[${o1.r}],${x.m64 ? `H[${o1.r}]` : "0"});c.rip=${x.next};return ${x.i + 1};`;
  }
  if (CR_REGS.has(r1) && o0.k === "r") {
    return `t=c.readCr(${CR_REGS.get(r1)});R[${o0.r}]=t|0;H[${o0.r}]=${x.m64 ? `Math.floor(t/${TWO32})|0` : "0"};`;
  }
  if (DR_REGS.has(r0) && o1.k === "r") return `c.priv();c.dr[${DR_REGS.get(r0)}]=R[${o1.r}]>>>0;`;
  if (DR_REGS.has(r1) && o0.k === "r") return `c.priv();R[${o0.r}]=c.dr[${DR_REGS.get(r1)}]|0;H[${o0.r}]=0;`;
  if (SEG_REGS.has(r0)) {
    const seg = SEG_REGS.get(r0)!;
    if (seg === "cs") return undefined; // mov cs is #UD
    x.end = true;
    return pre + rd(o1, 2, "a") + `c.loadSeg(${JSON.stringify(seg)},aL);c.rip=${x.next};return ${x.i + 1};`;
  }
  if (SEG_REGS.has(r1)) {
    const seg = SEG_REGS.get(r1)!;
    const v = seg === "cs" ? "c.cs.selector" : `c.${seg}`;
    if (o0.k === "m") { x.writes = true; return pre + `c.w16(ea,${v});`; }
    if (o0.k === "r") return `aL=${v};aH=0;` + wr(o0, o0.s === 8 ? 8 : o0.s, "a");
  }
  return undefined;
}

export function nopsAtLeast(ins: iced.Instruction, n: number): boolean {
  return ins.opCount >= n;
}

export const move: Family = {
  name: "move",
  mnemonics: ["Mov", "Movzx", "Movsx", "Movsxd", "Lea", "Xchg", "Bswap", "Setb", "Setae", "Sete", "Setne", "Setbe", "Seta", "Sets", "Setns", "Setp", "Setnp", "Setl", "Setge", "Setle", "Setg", "Seto", "Setno", "Cmovb", "Cmovae", "Cmove", "Cmovne", "Cmovbe", "Cmova", "Cmovs", "Cmovns", "Cmovp", "Cmovnp", "Cmovl", "Cmovge", "Cmovle", "Cmovg", "Cmovo", "Cmovno", "Movbe", "Xlatb"],
  emit(x, f) {
    const { ins, o0, o1, pre, sizeOf, s0 } = f;
    switch (f.mn) {
      case "Mov": {
        if (o0.k === "x" || o1.k === "x") return movSpecial(x, pre, o0, o1);
        return pre + rd(o1, s0, "a") + wr(o0, s0, "a");
      }
      case "Movzx":
        return pre + rd(o1, sizeOf(o1), "a") + (s0 === 8 ? "aH=0;" : "") + wr(o0, s0, "a");
      case "Movsx": case "Movsxd": {
        const ss = sizeOf(o1);
        let code = pre + rd(o1, ss, "a");
        if (ss === 1) code += "aL=(aL<<24)>>24;";
        else if (ss === 2) code += "aL=(aL<<16)>>16;";
        if (s0 === 8) code += "aH=aL>>31;";
        return code + wr(o0, s0, "a");
      }
      case "Lea":
        return leaCode(ins, x.m64) + wr(o0, s0, "a");
      case "Xchg": {
        if (o0.k === "r" && o1.k === "r" && o0.r === o1.r && s0 !== 4 && o0.h === o1.h) return "";
        x.writes = o0.k === "m" || o1.k === "m";
        return pre + rd(o0, s0, "a") + rd(o1, s0, "b") + wr(o1, s0, "a") + wr(o0, s0, "b");
      }
      case "Bswap": {
        if (o0.k !== "r") return undefined;
        const sw = (v: string) => `(((${v}&255)<<24)|(((${v}>>>8)&255)<<16)|(((${v}>>>16)&255)<<8)|((${v}>>>24)&255))`;
        if (s0 === 8) return `aL=R[${o0.r}];aH=H[${o0.r}];R[${o0.r}]=${sw("aH")};H[${o0.r}]=${sw("aL")};`;
        if (s0 === 4) return `aL=R[${o0.r}];R[${o0.r}]=${sw("aL")};H[${o0.r}]=0;`;
        return `R[${o0.r}]=R[${o0.r}]&-65536;`; // bswap r16: undefined; real CPUs give 0 in the low word
      }
      case "Setb": case "Setae": case "Sete": case "Setne": case "Setbe": case "Seta": case "Sets": case "Setns":
      case "Setp": case "Setnp": case "Setl": case "Setge": case "Setle": case "Setg": case "Seto": case "Setno":
        return pre + `aL=(${condExpr(ccOf(ins), x.fop)})?1:0;` + wr(o0, 1, "a");
      case "Cmovb": case "Cmovae": case "Cmove": case "Cmovne": case "Cmovbe": case "Cmova": case "Cmovs": case "Cmovns":
      case "Cmovp": case "Cmovnp": case "Cmovl": case "Cmovge": case "Cmovle": case "Cmovg": case "Cmovo": case "Cmovno":
        return pre + rd(o1, s0, "a") + `if(${condExpr(ccOf(ins), x.fop)}){${wr(o0, s0, "a")}}` + (s0 === 4 && o0.k === "r" ? `else H[${o0.r}]=0;` : "");
      case "Movbe": {
        const sw = (v: string) => `(((${v}&255)<<24)|(((${v}>>>8)&255)<<16)|(((${v}>>>16)&255)<<8)|((${v}>>>24)&255))`;
        const size = o0.k === "r" ? o0.s : sizeOf(o1);
        let code = pre + rd(o1, size, "a");
        if (size === 8) code += `t=aL;aL=${sw("aH")};aH=${sw("t")};`;
        else if (size === 4) code += `aL=${sw("aL")};`;
        else code += "aL=((aL&255)<<8)|((aL>>>8)&255);";
        return code + wr(o0, size, "a");
      }
      case "Xlatb": return `ea=${x.m64 ? `c.cn(H[3]*${TWO32}+(R[3]>>>0)+(R[0]&255))` : "((R[3]+(R[0]&255))>>>0)"};R[0]=(R[0]&-256)|c.r8(ea);`;
    }
    return undefined;
  },
};
