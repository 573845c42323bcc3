/** Control flow: jcc, loop/jrcxz, jmp, call, ret, retf. */
import { branchTarget, ccOf, rd } from "../operands";
import { condExpr } from "../flag-analysis";
import { Family } from "./form";

const TWO32 = 4294967296;

export const branch: Family = {
  name: "branch",
  mnemonics: ["Jo", "Jno", "Jb", "Jae", "Je", "Jne", "Jbe", "Ja", "Js", "Jns", "Jp", "Jnp", "Jl", "Jge", "Jle", "Jg", "Jrcxz", "Jecxz", "Loop", "Loope", "Loopne", "Jmp", "Call", "Ret", "Retf"],
  emit(x, f) {
    const { ins, mn, codeName, nops, o0, pre, next, nL, nH, jump } = f;
    switch (mn) {
      case "Jo": case "Jno": case "Jb": case "Jae": case "Je": case "Jne": case "Jbe": case "Ja":
      case "Js": case "Jns": case "Jp": case "Jnp": case "Jl": case "Jge": case "Jle": case "Jg": {
        const t = branchTarget(ins);
        x.end = true;
        const cond = condExpr(ccOf(ins), x.fop);
        if (t === x.start) {
          // Self-loop: iterate inside the function while the budget allows.
          x.selfLoop = true;
          const n1 = x.i + 1;
          return `if(${cond}){c.lb+=${n1};if(c.lb+${n1}<=lim)continue;c.rip=${t};return c.lb;}c.rip=${next};return c.lb+${n1};`;
        }
        return `if(${cond}){c.rip=${t};return ${x.i + 1};}c.rip=${next};return ${x.i + 1};`;
      }
      case "Jrcxz": case "Jecxz": case "Loop": case "Loope": case "Loopne": {
        const t = branchTarget(ins);
        const a32 = /ECX|Jecxz/.test(codeName) || !x.m64; // counter is ECX with a 0x67 prefix or in 32-bit mode
        x.end = true;
        let code = "";
        if (mn === "Jrcxz" || mn === "Jecxz") code = mn === "Jrcxz" ? "t=(R[1]|H[1])===0;" : "t=R[1]===0;";
        else {
          code = a32 ? "R[1]=(R[1]-1)|0;H[1]=0;t=R[1]!==0;" : "R[1]=(R[1]-1)|0;if(R[1]===-1)H[1]=(H[1]-1)|0;t=(R[1]|H[1])!==0;";
          if (mn === "Loope") code += "t=t&&c.cond(4);";
          if (mn === "Loopne") code += "t=t&&c.cond(5);";
        }
        return code + `if(t){c.rip=${t};return ${x.i + 1};}c.rip=${next};return ${x.i + 1};`;
      }
      case "Jmp": {
        if (codeName.startsWith("Jmp_rel")) return jump(`${branchTarget(ins)}`);
        if (codeName === "Jmp_rm64") return pre + rd(o0, 8, "a") + jump(`c.cn(aH*${TWO32}+(aL>>>0))`);
        if (codeName === "Jmp_rm32") return pre + rd(o0, 4, "a") + jump("aL>>>0");
        if (codeName === "Jmp_ptr1632") { x.end = true; return `c.loadCs(${ins.farBranchSelector});c.rip=${ins.farBranch32};return ${x.i + 1};`; }
        if (codeName === "Jmp_m1632" || codeName === "Jmp_m1664") {
          const off = codeName === "Jmp_m1664" ? 8 : 4;
          x.end = true;
          return pre + (off === 8 ? "aL=c.r64(ea);aH=c.tH;" : "aL=c.r32(ea);aH=0;") + `bL=c.r16(ea+${off});c.loadCs(bL);c.rip=${off === 8 ? `c.cn(aH*${TWO32}+(aL>>>0))` : "aL>>>0"};return ${x.i + 1};`;
        }
        return undefined;
      }
      case "Call": {
        x.writes = true;
        const push = x.m64 ? `c.push64(${nL},${nH});` : `c.push32(${nL});`;
        if (codeName.startsWith("Call_rel")) return push + jump(`${branchTarget(ins)}`);
        if (codeName === "Call_rm64") return pre + rd(o0, 8, "a") + `t=c.cn(aH*${TWO32}+(aL>>>0));` + push + jump("t");
        if (codeName === "Call_rm32") return pre + rd(o0, 4, "a") + push + jump("aL>>>0");
        return undefined;
      }
      case "Ret": {
        const imm = nops === 1 && o0.k === "i" ? o0.lo & 0xffff : 0;
        const pop = x.m64 ? `aL=c.pop64();t=c.cn(c.tH*${TWO32}+(aL>>>0));` : "t=c.pop32()>>>0;";
        return pop + (imm ? `c.setSp(c.sp()+${imm});` : "") + jump("t");
      }
      case "Retf": {
        const q = codeName.startsWith("Retfq");
        x.end = true;
        return (q ? `aL=c.pop64();t=c.tH*${TWO32}+(aL>>>0);bL=c.pop64();` : "t=c.pop32()>>>0;bL=c.pop32();") + `c.loadCs(bL&65535);c.rip=${q ? "c.cn(t)" : "t"};return ${x.i + 1};`;
      }
    }
    return undefined;
  },
};
