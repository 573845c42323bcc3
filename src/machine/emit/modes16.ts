/**
 * The forms real-mode and 16-bit code use that the 32/64-bit families do not: 16-bit near and
 * far jumps, calls and returns, loop/jcxz on CX, 16-bit leave, pusha/popa, push of a segment
 * register, les/lds/lss/lfs/lgs, lgdt/lidt with a 16-bit operand (24-bit base) and xlat with
 * segment bases. Listed first in FAMILIES: a form not handled here falls through (undefined) to
 * the family that handles its 32/64-bit forms.
 */
import { Register } from "iced-x86";
import { SEG_REGS, branchTarget, rd, wr } from "../operands";
import { Family } from "./form";

const SEG_BASE: Record<number, string> = {
  [Register.ES]: "c.esBase", [Register.CS]: "c.csBase", [Register.SS]: "c.ssBase",
  [Register.DS]: "c.dsBase", [Register.FS]: "c.fsBase", [Register.GS]: "c.gsBase",
};

export const modes16: Family = {
  name: "modes16",
  mnemonics: ["Jmp", "Call", "Ret", "Retf", "Iret", "Loop", "Loope", "Loopne", "Jcxz", "Leave", "Pusha", "Popa", "Pushad", "Popad", "Push", "Les", "Lds", "Lss", "Lfs", "Lgs", "Lgdt", "Lidt", "Xlatb"],
  emit(x, f) {
    const { ins, mn, codeName, nops, o0, o1, pre, next, jump, done } = f;
    const ret16 = next & 0xffff;
    switch (mn) {
      case "Jmp":
        if (codeName === "Jmp_rm16") return pre + rd(o0, 2, "a") + jump("aL");
        if (codeName === "Jmp_ptr1616") { x.end = true; return `c.loadCs(${ins.farBranchSelector});c.rip=${ins.farBranch16};return ${x.i + 1};`; }
        if (codeName === "Jmp_m1616") { x.end = true; return pre + `aL=c.r16(ea);bL=c.r16(ea+2);c.loadCs(bL);c.rip=aL;return ${x.i + 1};`; }
        return undefined;
      case "Call":
        if (codeName === "Call_rel16") { x.writes = true; return `c.push16(${ret16});` + jump(`${branchTarget(ins)}`); }
        if (codeName === "Call_rm16") { x.writes = true; return pre + rd(o0, 2, "a") + `c.push16(${ret16});` + jump("aL"); }
        if (codeName === "Call_ptr1616" || codeName === "Call_ptr1632") {
          x.end = true;
          const size = codeName === "Call_ptr1616" ? 2 : 4;
          const off = size === 2 ? ins.farBranch16 : ins.farBranch32;
          return `c.farCall(${ins.farBranchSelector},${off},${size},${size === 2 ? ret16 : next});return ${x.i + 1};`;
        }
        if (codeName === "Call_m1664") {
          x.end = true;
          return pre + `aL=c.r64(ea);aH=c.tH;bL=c.r16(ea+8);c.farCall(bL,aH*4294967296+(aL>>>0),8,${next});return ${x.i + 1};`;
        }
        if (codeName === "Call_m1616" || codeName === "Call_m1632") {
          x.end = true;
          const size = codeName === "Call_m1616" ? 2 : 4;
          return pre + (size === 2 ? "aL=c.r16(ea);bL=c.r16(ea+2);" : "aL=c.r32(ea);bL=c.r16(ea+4);") + `c.farCall(bL,aL,${size},${size === 2 ? ret16 : next});return ${x.i + 1};`;
        }
        return undefined;
      case "Ret": {
        if (!codeName.startsWith("Retnw")) return undefined;
        const imm = nops === 1 && o0.k === "i" ? o0.lo & 0xffff : 0;
        return "t=c.pop16();" + (imm ? `c.setSp(c.sp()+${imm});` : "") + jump("t");
      }
      case "Retf": {
        if (codeName.startsWith("Retfq")) return undefined;
        const imm = nops === 1 && o0.k === "i" ? o0.lo & 0xffff : 0;
        x.end = true;
        return `c.farRet(${codeName.startsWith("Retfw") ? 2 : 4},${imm});return ${x.i + 1};`;
      }
      case "Iret": x.end = true; return `c.iret(2);return ${x.i + 1};`;
      case "Loop": case "Loope": case "Loopne": case "Jcxz": {
        // CX is the counter when the address size is 16 (iced names these forms ..._CX).
        if (!(codeName.endsWith("_CX") || codeName.startsWith("Jcxz"))) return undefined;
        x.end = true;
        let code = mn === "Jcxz" ? "t=(R[1]&65535)===0;" : "R[1]=(R[1]&-65536)|((R[1]-1)&65535);t=(R[1]&65535)!==0;";
        if (mn === "Loope") code += "t=t&&c.cond(4);";
        if (mn === "Loopne") code += "t=t&&c.cond(5);";
        return code + `if(t){c.rip=${branchTarget(ins)};return ${x.i + 1};}c.rip=${next};return ${x.i + 1};`;
      }
      case "Leave":
        if (x.m64) return undefined;
        // (E)SP ← (E)BP at the stack's width (SS.B), then (E)BP ← pop at the operand size.
        return codeName === "Leavew" ? "c.setSp(R[5]>>>0);R[5]=(R[5]&-65536)|c.pop16();" : "c.setSp(R[5]>>>0);R[5]=c.pop32();";
      case "Pusha": case "Pushad": {
        if (x.m64) return undefined;
        x.writes = true;
        const p = mn === "Pusha" ? "c.push16" : "c.push32";
        return `t=R[4];${[0, 1, 2, 3].map((r) => `${p}(R[${r}]);`).join("")}${p}(t);${[5, 6, 7].map((r) => `${p}(R[${r}]);`).join("")}`;
      }
      case "Popa": case "Popad": {
        if (x.m64) return undefined;
        const w = mn === "Popa";
        const pop = (r: number) => (w ? `R[${r}]=(R[${r}]&-65536)|c.pop16();` : `R[${r}]=c.pop32();H[${r}]=0;`);
        return pop(7) + pop(6) + pop(5) + `c.setSp(c.sp()+${w ? 2 : 4});` + pop(3) + pop(2) + pop(1) + pop(0);
      }
      case "Push": {
        if (o0.k !== "x") return undefined;
        const seg = SEG_REGS.get(ins.op0Register);
        if (!seg) return undefined;
        x.writes = true;
        const v = seg === "cs" ? "c.cs.selector" : `c.${seg}`;
        return codeName.startsWith("Pushw") ? `c.push16(${v});` : x.m64 ? `c.push64(${v},0);` : `c.push32(${v});`;
      }
      case "Les": case "Lds": case "Lss": case "Lfs": case "Lgs": {
        if (o0.k !== "r" || o0.s === 8) return undefined;
        const seg = mn.slice(1, 3).toLowerCase();
        const rdOff = o0.s === 2 ? "aL=c.r16(ea);bL=c.r16(ea+2);" : "aL=c.r32(ea);bL=c.r16(ea+4);";
        return pre + rdOff + `c.loadSeg(${JSON.stringify(seg)},bL);` + wr(o0, o0.s, "a") + done();
      }
      case "Lgdt": case "Lidt": {
        // A 16-bit operand loads a 24-bit base; the high byte reads as 0 (SDM Vol. 2A LGDT/LIDT).
        if (!codeName.endsWith("_16")) return undefined;
        const idt = mn === "Lidt";
        const b = idt ? "c.idtrBase" : "c.gdtrBase";
        return pre + `c.lgdt(ea,${idt});${b}=${b}&16777215;` + done();
      }
      case "Xlatb": {
        if (x.m64) return undefined;
        const base = SEG_BASE[ins.memorySegment] ?? "c.dsBase";
        const off = ins.memoryBase === Register.BX ? "((R[3]+(R[0]&255))&65535)" : "((R[3]+(R[0]&255))>>>0)";
        return `ea=(${off}+${base})>>>0;R[0]=(R[0]&-256)|c.r8(ea);`;
      }
    }
    void o1;
    return undefined;
  },
};
