/**
 * Instruction semantics as JavaScript source: one emitter per instruction family, specialised
 * for the decoded operands. Unimplemented instructions return undefined (compiled to #UD).
 */
import * as iced from "iced-x86";

import {
  CR_REGS, DR_REGS, Opd, SEG_REGS, branchTarget, ccOf, eaExpr, leaCode, lgOf, lit64, maskOf, operand, rd, wr,
} from "./operands";
import { condExpr } from "./flag-analysis";
import { emitSystem } from "./emit-system";

const { Mnemonic, OpKind, Register, Code } = iced;
const TWO32 = 4294967296;

export interface Ctx {
  ins: iced.Instruction;
  i: number;
  rip: number;
  next: number;
  m64: boolean;
  /** True if the instruction ends the block (its code returns). */
  end: boolean;
  /** True if the instruction writes memory (a stop check follows). */
  writes: boolean;
  /** The lazy flag op (fop) known to be current at this point of the block, or -1. */
  fop: number;
  /** Block start: a branch back to it can loop inside the block function. */
  start: number;
  /** Set when the block loops on itself. */
  selfLoop: boolean;
  /** No instruction reads the flags this one produces (a later one in the block overwrites them all). */
  flagsDead: boolean;
}

export const ALU: Record<string, [number, string]> = {
  Add: [1, "add"], Or: [5, "or"], Adc: [3, "adc"], Sbb: [4, "sbb"], And: [5, "and"], Sub: [2, "sub"],
  Xor: [5, "xor"], Cmp: [2, "cmp"], Test: [5, "test"],
};

export function aluCode(name: string, d: Opd, src: Opd, s: number, flagsDead = false): string {
  const [fop, op] = ALU[name]!;
  let code = rd(d, s, "a") + rd(src, s, "b");
  const cy = op === "adc" || op === "sbb";
  if (cy) code += "cy=c.cf();";
  if (s < 8) {
    const m = maskOf(s);
    switch (op) {
      case "add": code += `rL=(aL+bL)${m};`; break;
      case "adc": code += `rL=(aL+bL+cy)${m};`; break;
      case "sub": case "cmp": code += `rL=(aL-bL)${m};`; break;
      case "sbb": code += `rL=(aL-bL-cy)${m};`; break;
      case "and": case "test": code += "rL=aL&bL;"; break;
      case "or": code += "rL=aL|bL;"; break;
      case "xor": code += "rL=aL^bL;"; break;
    }
  } else {
    switch (op) {
      case "add": code += "rL=(aL+bL)|0;rH=(aH+bH+((rL>>>0)<(aL>>>0)?1:0))|0;"; break;
      case "adc": code += "rL=(aL+bL+cy)|0;rH=(aH+bH+(cy?((rL>>>0)<=(aL>>>0)?1:0):((rL>>>0)<(aL>>>0)?1:0)))|0;"; break;
      case "sub": case "cmp": code += "rL=(aL-bL)|0;rH=(aH-bH-((aL>>>0)<(bL>>>0)?1:0))|0;"; break;
      case "sbb": code += "rL=(aL-bL-cy)|0;rH=(aH-bH-(cy?((aL>>>0)<=(bL>>>0)?1:0):((aL>>>0)<(bL>>>0)?1:0)))|0;"; break;
      case "and": case "test": code += "rL=aL&bL;rH=aH&bH;"; break;
      case "or": code += "rL=aL|bL;rH=aH|bH;"; break;
      case "xor": code += "rL=aL^bL;rH=aH^bH;"; break;
    }
  }
  if (op !== "cmp" && op !== "test") code += wr(d, s, "r");
  if (flagsDead) return code; // a later instruction of this block overwrites every flag
  code += `c.fop=${(fop << 2) | lgOf(s)};c.fr=rL;`;
  if (fop !== 5) code += "c.fa=aL;c.fb=bL;";
  if (s === 8) code += fop !== 5 ? "c.frh=rH;c.fah=aH;c.fbh=bH;" : "c.frh=rH;";
  if (cy) code += "c.fc=cy;";
  return code;
}

/** Emits the JS for one instruction; undefined = not implemented (compiled to #UD). */
export function emit(x: Ctx): string | undefined {
  const ins = x.ins;
  const mn = Mnemonic[ins.mnemonic]!;
  const codeName = Code[ins.code]!;
  const nops = ins.opCount;
  const o0 = nops > 0 ? operand(ins, 0) : ({ k: "x" } as Opd);
  const o1 = nops > 1 ? operand(ins, 1) : ({ k: "x" } as Opd);
  const hasMem = (nops > 0 && ins.opKind(0) === OpKind.Memory) || (nops > 1 && ins.opKind(1) === OpKind.Memory) || (nops > 2 && ins.opKind(2) === OpKind.Memory);
  let pre = "";
  if (hasMem && mn !== "Lea" && mn !== "Nop" && !mn.startsWith("Prefetch")) pre = `ea=${eaExpr(ins, x.m64).code};`;
  const memDst = o0.k === "m";
  if (memDst) x.writes = true;
  const sizeOf = (o: Opd) => (o.k === "r" || o.k === "m" || o.k === "i" ? o.s : 0);
  const s0 = sizeOf(o0);
  const next = x.next;
  const [nL, nH] = lit64(next);
  const jump = (target: string) => { x.end = true; return `c.rip=${target};return ${x.i + 1};`; };
  const done = () => { x.end = true; return `c.rip=${next};return ${x.i + 1};`; };
  const stackSize = x.m64 ? (/16|w_/.test(codeName) ? 2 : 8) : /16|w_/.test(codeName) ? 2 : 4;

  if (ALU[mn] && nops === 2 && !ins.hasRepPrefix) {
    if (mn === "Cmp" || mn === "Test") x.writes = false;
    return pre + aluCode(mn, o0, o1, s0, x.flagsDead);
  }
  switch (mn) {
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
    case "Inc": case "Dec": {
      const inc = mn === "Inc";
      if (x.flagsDead) {
        const body = s0 < 8 ? `rL=(aL${inc ? "+" : "-"}1)${maskOf(s0)};` : inc ? "rL=(aL+1)|0;rH=(aH+(rL===0?1:0))|0;" : "rL=(aL-1)|0;rH=(aH-(aL===0?1:0))|0;";
        return pre + rd(o0, s0, "a") + body + wr(o0, s0, "r");
      }
      let code = pre + "cy=c.cf();" + rd(o0, s0, "a");
      if (s0 < 8) code += `rL=(aL${inc ? "+" : "-"}1)${maskOf(s0)};`;
      else code += inc ? "rL=(aL+1)|0;rH=(aH+(rL===0?1:0))|0;" : "rL=(aL-1)|0;rH=(aH-(aL===0?1:0))|0;";
      code += wr(o0, s0, "r");
      code += `c.fop=${((inc ? 6 : 7) << 2) | lgOf(s0)};c.fr=rL;c.fa=aL;c.fb=1;c.fc=cy;`;
      if (s0 === 8) code += "c.frh=rH;c.fah=aH;c.fbh=0;";
      return code;
    }
    case "Neg": {
      let code = pre + rd(o0, s0, "b");
      if (s0 < 8) code += `rL=(0-bL)${maskOf(s0)};`;
      else code += "rL=(0-bL)|0;rH=(0-bH-(bL!==0?1:0))|0;";
      code += wr(o0, s0, "r");
      if (x.flagsDead) return code;
      code += `c.fop=${(2 << 2) | lgOf(s0)};c.fr=rL;c.fa=0;c.fb=bL;`;
      if (s0 === 8) code += "c.frh=rH;c.fah=0;c.fbh=bH;";
      return code;
    }
    case "Not":
      return pre + rd(o0, s0, "a") + (s0 < 8 ? `aL=(~aL)${maskOf(s0)};` : "aL=~aL;aH=~aH;") + wr(o0, s0, "a");
    case "Rol": case "Ror": case "Rcl": case "Rcr": case "Shl": case "Sal": case "Shr": case "Sar": {
      const op = ["Rol", "Ror", "Rcl", "Rcr", "Shl", "Shr", "Sal", "Sar"].indexOf(mn);
      if (x.flagsDead && o1.k === "i" && (s0 === 4 || s0 === 8) && mn !== "Rcl" && mn !== "Rcr") {
        const nn = o1.lo & (s0 === 8 ? 63 : 31);
        if (nn !== 0) return pre + rd(o0, s0, "a") + inlineShift(mn, nn, s0) + wr(o0, s0, "r");
      }
      const cnt = o1.k === "i" ? `${o1.lo & 255}` : "R[1]&255";
      return pre + rd(o0, s0, "a") + `rL=X.shift(c,${op},aL,aH,${cnt},${s0});rH=c.tH;` + wr(o0, s0, "r");
    }
    case "Shld": case "Shrd": {
      const o2 = operand(ins, 2);
      const cnt = o2.k === "i" ? `${o2.lo & 255}` : "R[1]&255";
      return pre + rd(o0, s0, "a") + rd(o1, s0, "b") + `rL=X.shiftDouble(c,${mn === "Shld"},aL,aH,bL,bH,${cnt},${s0});rH=c.tH;` + wr(o0, s0, "r");
    }
    case "Mul": case "Div": case "Idiv":
      return pre + rd(o0, s0, "b") + (mn === "Mul" ? `X.mul1(c,false,bL,bH,${s0});` : `X.div1(c,${mn === "Idiv"},bL,bH,${s0});`);
    case "Imul": {
      if (nops === 1) return pre + rd(o0, s0, "b") + `X.mul1(c,true,bL,bH,${s0});`;
      const src = nops === 3 ? o1 : o0;
      const mul = nops === 3 ? operand(ins, 2) : o1;
      if (x.flagsDead && s0 === 4) return pre + rd(src, s0, "a") + rd(mul, s0, "b") + "rL=Math.imul(aL,bL);" + wr(o0, s0, "r");
      if (x.flagsDead && s0 === 8) return pre + rd(src, s0, "a") + rd(mul, s0, "b") + "rL=Math.imul(aL,bL);rH=(X.umulhi(aL,bL)+Math.imul(aL,bH)+Math.imul(aH,bL))|0;" + wr(o0, s0, "r");
      return pre + rd(src, s0, "a") + rd(mul, s0, "b") + `rL=X.imul2(c,aL,aH,bL,bH,${s0});rH=c.tH;` + wr(o0, s0, "r");
    }
    case "Cbw": return "R[0]=(R[0]&-65536)|(((R[0]<<24)>>24)&65535);";
    case "Cwde": return "R[0]=(R[0]<<16)>>16;H[0]=0;";
    case "Cdqe": return "H[0]=R[0]>>31;";
    case "Cwd": return "R[2]=(R[2]&-65536)|(((R[0]<<16)>>31)&65535);";
    case "Cdq": return "R[2]=R[0]>>31;H[2]=0;";
    case "Cqo": return "R[2]=H[0]>>31;H[2]=R[2];";
    case "Bswap": {
      if (o0.k !== "r") return undefined;
      const sw = (v: string) => `(((${v}&255)<<24)|(((${v}>>>8)&255)<<16)|(((${v}>>>16)&255)<<8)|((${v}>>>24)&255))`;
      if (s0 === 8) return `aL=R[${o0.r}];aH=H[${o0.r}];R[${o0.r}]=${sw("aH")};H[${o0.r}]=${sw("aL")};`;
      if (s0 === 4) return `aL=R[${o0.r}];R[${o0.r}]=${sw("aL")};H[${o0.r}]=0;`;
      return `R[${o0.r}]=R[${o0.r}]&-65536;`; // bswap r16: undefined; real CPUs give 0 in the low word
    }
    case "Push": {
      if (o0.k === "x") return undefined;
      let code = pre + rd(o0, o0.k === "i" ? 8 : stackSize, "a");
      code += stackSize === 8 ? "c.push64(aL,aH);" : stackSize === 4 ? "c.push32(aL);" : "c.push16(aL);";
      x.writes = true;
      return code;
    }
    case "Pop": {
      let code = stackSize === 8 ? "aL=c.pop64();aH=c.tH;" : stackSize === 4 ? "aL=c.pop32();" : "aL=c.pop16();";
      if (o0.k === "x") {
        const seg = SEG_REGS.get(ins.op0Register);
        if (!seg || seg === "cs") return undefined;
        return code + `c.loadSeg(${JSON.stringify(seg)},aL&65535);`;
      }
      if (o0.k === "m") code += pre;
      return code + wr(o0, stackSize, "a");
    }
    case "Leave":
      return x.m64 ? "t=c.sp();R[4]=R[5];H[4]=H[5];aL=c.pop64();R[5]=aL;H[5]=c.tH;" : "R[4]=R[5];aL=c.pop32();R[5]=aL;";
    case "Pushfq": case "Pushfd": case "Pushf":
      x.writes = true;
      return stackSize === 8 || mn === "Pushfq" ? "c.push64(c.getFlags()&0xfcffff,0);" : mn === "Pushf" ? "c.push16(c.getFlags()&65535);" : "c.push32(c.getFlags()&0xfcffff);";
    case "Popfq": case "Popfd": case "Popf": {
      const p = mn === "Popfq" ? "c.pop64()" : mn === "Popf" ? "c.pop16()" : "c.pop32()";
      // IOPL changes only at CPL 0, IF only when CPL <= IOPL (SDM Vol. 2B POPF).
      return `aL=${p};t=c.getFlags();bL=0x244dd5|(c.cpl===0?0x3000:0)|(c.cpl<=((t>>12)&3)?0x200:0);${mn === "Popf" ? "bL&=65535;" : ""}c.setFlags((t&~bL)|(aL&bL));` + done();
    }
    case "Lahf": return "R[0]=(R[0]&-65281)|((c.getFlags()&255)<<8);";
    case "Sahf": return "c.mergeArith(0xd5,(R[0]>>>8)&0xd5);";
    case "Clc": return "c.mergeArith(1,0);";
    case "Stc": return "c.mergeArith(1,1);";
    case "Cmc": return "c.mergeArith(1,c.cf()^1);";
    case "Cld": return "c.eflagsRest&=~0x400;";
    case "Std": return "c.eflagsRest|=0x400;";
    case "Cli": return "c.cli();";
    case "Sti": return "c.sti();" + done();
    case "Nop": case "Endbr64": case "Endbr32": case "Pause": case "Lfence": case "Mfence": case "Sfence":
    case "Prefetchnta": case "Prefetcht0": case "Prefetcht1": case "Prefetcht2": case "Prefetchw":
      return "";
    case "Ud2": case "Ud0": case "Ud1":
      x.end = true;
      return `c.fault(6,undefined,"ud2");`;
    case "Setb": case "Setae": case "Sete": case "Setne": case "Setbe": case "Seta": case "Sets": case "Setns":
    case "Setp": case "Setnp": case "Setl": case "Setge": case "Setle": case "Setg": case "Seto": case "Setno":
      return pre + `aL=(${condExpr(ccOf(ins), x.fop)})?1:0;` + wr(o0, 1, "a");
    case "Cmovb": case "Cmovae": case "Cmove": case "Cmovne": case "Cmovbe": case "Cmova": case "Cmovs": case "Cmovns":
    case "Cmovp": case "Cmovnp": case "Cmovl": case "Cmovge": case "Cmovle": case "Cmovg": case "Cmovo": case "Cmovno":
      return pre + rd(o1, s0, "a") + `if(${condExpr(ccOf(ins), x.fop)}){${wr(o0, s0, "a")}}` + (s0 === 4 && o0.k === "r" ? `else H[${o0.r}]=0;` : "");
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
    case "Cmpxchg": {
      // Compare the accumulator with the destination; ZF set and destination = source if equal,
      // else accumulator = destination (SDM Vol. 2A CMPXCHG; memory is always written back).
      let code = pre + rd(o0, s0, "b") + rd({ k: "r", r: 0, s: s0, h: false }, s0, "a");
      code += s0 < 8 ? `rL=(aL-bL)${maskOf(s0)};` : "rL=(aL-bL)|0;rH=(aH-bH-((aL>>>0)<(bL>>>0)?1:0))|0;";
      const eq = s0 < 8 ? "aL===bL" : "aL===bL&&aH===bH";
      code += `if(${eq}){${rd(o1, s0, "d")}${wr(o0, s0, "d")}}else{${o0.k === "m" ? wr(o0, s0, "b") : ""}${wr({ k: "r", r: 0, s: s0, h: false }, s0, "b")}}`;
      code += `c.fop=${(2 << 2) | lgOf(s0)};c.fr=rL;c.fa=aL;c.fb=bL;`;
      if (s0 === 8) code += "c.frh=rH;c.fah=aH;c.fbh=bH;";
      return code;
    }
    case "Cmpxchg8b": case "Cmpxchg16b": {
      // Compare EDX:EAX (RDX:RAX) with m64 (m128); equal: store ECX:EBX (RCX:RBX), ZF=1; else load
      // the accumulator pair, ZF=0. Other flags unchanged (SDM Vol. 2A CMPXCHG8B/16B).
      x.writes = true;
      if (mn === "Cmpxchg16b") {
        return pre + "if((ea&15)!==0)c.fault(13,0,\"cmpxchg16b operand not 16-byte aligned\");" +
          "aL=c.r64(ea);aH=c.tH;bL=c.r64(ea+8);bH=c.tH;" +
          "if(aL===R[0]&&aH===H[0]&&bL===R[2]&&bH===H[2]){c.w64(ea,R[3],H[3]);c.w64(ea+8,R[1],H[1]);c.mergeArith(64,64);}" +
          "else{c.w64(ea,aL,aH);c.w64(ea+8,bL,bH);R[0]=aL;H[0]=aH;R[2]=bL;H[2]=bH;c.mergeArith(64,0);}";
      }
      return pre + "aL=c.r32(ea);bL=c.r32(ea+4);" +
        "if(aL===R[0]&&bL===R[2]){c.w32(ea,R[3]);c.w32(ea+4,R[1]);c.mergeArith(64,64);}" +
        "else{c.w32(ea,aL);c.w32(ea+4,bL);R[0]=aL;H[0]=0;R[2]=bL;H[2]=0;c.mergeArith(64,0);}";
    }
    case "Xadd": {
      let code = pre + rd(o0, s0, "a") + rd(o1, s0, "b");
      code += s0 < 8 ? `rL=(aL+bL)${maskOf(s0)};` : "rL=(aL+bL)|0;rH=(aH+bH+((rL>>>0)<(aL>>>0)?1:0))|0;";
      code += wr(o1, s0, "a") + wr(o0, s0, "r");
      code += `c.fop=${(1 << 2) | lgOf(s0)};c.fr=rL;c.fa=aL;c.fb=bL;`;
      if (s0 === 8) code += "c.frh=rH;c.fah=aH;c.fbh=bH;";
      return code;
    }
    case "Bt": case "Bts": case "Btr": case "Btc": {
      const bits = s0 * 8;
      let code = "";
      if (o0.k === "m" && o1.k === "r") {
        // Bit-string addressing: the register offset is signed and may reach outside the operand.
        code += rd(o1, s0, "b");
        const off = s0 === 8 ? `(bH*${TWO32}+(bL>>>0))` : s0 === 4 ? "bL" : "((bL<<16)>>16)";
        code += pre + `ea=${x.m64 ? "c.cn" : ""}(ea+Math.floor(${off}/${bits})*${s0});bL=bL&${bits - 1};`;
      } else {
        code += pre + rd(o1, o1.k === "i" ? 1 : s0, "b") + `bL=bL&${bits - 1};`;
      }
      code += rd(o0, s0, "a");
      code += s0 === 8 ? "cy=bL<32?(aL>>>bL)&1:(aH>>>(bL-32))&1;" : "cy=(aL>>>bL)&1;";
      if (mn !== "Bt") {
        const op = mn === "Bts" ? "|" : mn === "Btr" ? "&~" : "^";
        if (s0 === 8) code += `if(bL<32)aL=aL${op}(1<<bL);else aH=aH${op}(1<<(bL-32));`;
        else code += `aL=(aL${op}(1<<bL))${maskOf(s0)};`;
        code += wr(o0, s0, "a");
      } else x.writes = false;
      return code + "c.mergeArith(1,cy);";
    }
    case "Bsf": case "Bsr": case "Tzcnt": case "Lzcnt": case "Popcnt": {
      const kind = ["Bsf", "Bsr", "Tzcnt", "Lzcnt", "Popcnt"].indexOf(mn);
      return pre + rd(o1, s0, "a") + `rL=X.bitscan(c,${kind},aL,aH,${s0});if(rL>=0){rH=0;${wr(o0, s0, "r")}}`;
    }
    case "Movsb": case "Movsw": case "Movsd": case "Movsq": case "Stosb": case "Stosw": case "Stosd": case "Stosq":
    case "Lodsb": case "Lodsw": case "Lodsd": case "Lodsq": case "Cmpsb": case "Cmpsw": case "Cmpsd": case "Cmpsq":
    case "Scasb": case "Scasw": case "Scasd": case "Scasq": {
      if (mn === "Movsd" && codeName !== "Movsd_m32_m32") return undefined; // SSE movsd
      if (mn === "Cmpsd" && codeName !== "Cmpsd_m32_m32") return undefined;
      const op = ["Movs", "Stos", "Lods", "Cmps", "Scas"].indexOf(mn.slice(0, 4));
      const size = { b: 1, w: 2, d: 4, q: 8 }[mn.slice(4)]!;
      const rep = ins.hasRepePrefix ? 1 : ins.hasRepnePrefix ? (op >= 3 ? 2 : 1) : 0;
      let a32 = !x.m64;
      for (let k = 0; k < nops; k++) {
        const kk = ins.opKind(k);
        if (kk === OpKind.MemorySegESI || kk === OpKind.MemorySegEDI || kk === OpKind.MemoryESEDI) a32 = true;
      }
      const sp = ins.segmentPrefix;
      const segBase = sp === Register.FS ? "c.fsBase" : sp === Register.GS ? "c.gsBase" : "0";
      x.writes = op === 0 || op === 1;
      return `if(!X.strop(c,${op},${size},${rep},${a32},${segBase})){c.rip=${x.rip};return ${x.i};}`;
    }
    // ---- BMI1/BMI2 (gcc -march=x86-64-v3) ----
    case "Rorx": {
      const n = operand(ins, 2);
      const k = n.k === "i" ? n.lo & (s0 === 8 ? 63 : 31) : 0;
      return pre + rd(o1, s0, "a") + (k === 0 ? "rL=aL;rH=aH;" : inlineShift("Ror", k, s0)) + wr(o0, s0, "r");
    }
    case "Shlx": case "Shrx": case "Sarx": {
      const op = mn === "Shlx" ? 4 : mn === "Shrx" ? 5 : 7;
      return pre + rd(o1, s0, "a") + rd(operand(ins, 2), s0, "b") + `rL=X.shiftNoFlags(c,${op},aL,aH,bL,${s0});rH=c.tH;` + wr(o0, s0, "r");
    }
    case "Andn": case "Bzhi":
      return pre + rd(o1, s0, "a") + rd(operand(ins, 2), s0, "b") + `rL=X.bmi(c,${mn === "Andn" ? 0 : 4},aL,aH,bL,bH,${s0});rH=c.tH;` + wr(o0, s0, "r");
    case "Blsr": case "Blsi": case "Blsmsk":
      return pre + rd(o1, s0, "a") + `rL=X.bmi(c,${["Blsr", "Blsi", "Blsmsk"].indexOf(mn) + 1},aL,aH,0,0,${s0});rH=c.tH;` + wr(o0, s0, "r");
    case "Mulx": {
      // mulx hi, lo, src: RDX * src; when both destinations are the same register it gets the high half.
      const o2 = operand(ins, 2);
      return pre + rd({ k: "r", r: 2, s: s0, h: false }, s0, "a") + rd(o2, s0, "b") + `X.mulx(aL,aH,bL,bH,${s0},X.MULX_OUT);` +
        `rL=X.MULX_OUT[0];rH=X.MULX_OUT[1];` + wr(o1, s0, "r") + `rL=X.MULX_OUT[2];rH=X.MULX_OUT[3];` + wr(o0, s0, "r");
    }
    case "Movbe": {
      const sw = (v: string) => `(((${v}&255)<<24)|(((${v}>>>8)&255)<<16)|(((${v}>>>16)&255)<<8)|((${v}>>>24)&255))`;
      const size = o0.k === "r" ? o0.s : sizeOf(o1);
      let code = pre + rd(o1, size, "a");
      if (size === 8) code += `t=aL;aL=${sw("aH")};aH=${sw("t")};`;
      else if (size === 4) code += `aL=${sw("aL")};`;
      else code += "aL=((aL&255)<<8)|((aL>>>8)&255);";
      return code + wr(o0, size, "a");
    }
    // ---- system instructions: end the block ----
    case "Cpuid":
      return `c.exitAfter({kind:"cpuid",leaf:R[0]>>>0,subleaf:R[1]>>>0,rip:${x.rip},nextRip:${next}});` + done();
    case "Hlt":
      return `c.priv();c.exitAfter({kind:"hlt",rip:${x.rip},nextRip:${next}});` + done();
    case "Vmcall": case "Vmmcall":
      return `c.exitAfter({kind:"hypercall",insn:"${mn.toLowerCase()}",rip:${x.rip},nextRip:${next}});` + done();
    case "In": case "Out": {
      const isIn = mn === "In";
      const portOp = isIn ? o1 : o0;
      const dataOp = isIn ? o0 : o1;
      const size = sizeOf(dataOp);
      const port = portOp.k === "i" ? `${portOp.lo & 255}` : "R[2]&65535";
      const val = isIn ? "0" : size === 1 ? "R[0]&255" : size === 2 ? "R[0]&65535" : "R[0]>>>0";
      return `if(c.cpl>((c.eflagsRest>>12)&3))c.fault(13,0,"I/O above IOPL");c.exitAfter({kind:"io",direction:"${isIn ? "in" : "out"}",port:${port},size:${size},value:${val},rip:${x.rip},nextRip:${next}});` + done();
    }
    case "Rdmsr": return `c.rdmsr(${x.i},${x.rip},${next});` + done();
    case "Wrmsr": return `c.wrmsr(${x.rip},${next});` + done();
    case "Rdtsc": return `c.rdtsc(${x.i});`;
    case "Rdtscp": return `c.rdtsc(${x.i});R[1]=c.tscAux;H[1]=0;`;
    case "Lgdt": case "Lidt": return pre + `c.lgdt(ea,${mn === "Lidt"});` + done();
    case "Sgdt": case "Sidt": x.writes = true; return pre + `c.sgdt(ea,${mn === "Sidt"});`;
    case "Wbinvd": case "Invd": case "Clts": return "c.priv();";
    case "Int": x.end = true; return `c.softInt(${(o0.k === "i" ? o0.lo : 0) & 255},${next});return ${x.i + 1};`;
    case "Int3": x.end = true; return `c.softInt(3,${next});return ${x.i + 1};`;
    case "Int1": x.end = true; return `c.softInt(1,${next});return ${x.i + 1};`;
    case "Iretq": x.end = true; return `c.iret(8);return ${x.i + 1};`;
    case "Iretd": x.end = true; return `c.iret(4);return ${x.i + 1};`;
    case "Syscall": x.end = true; return `c.syscall(${next});return ${x.i + 1};`;
    case "Sysretq": case "Sysret": if (mn === "Sysret" && x.m64) return undefined; x.end = true; return `c.sysret();return ${x.i + 1};`;
    case "Swapgs": return "c.swapgs();";
    case "Xlatb": return `ea=${x.m64 ? `c.cn(H[3]*${TWO32}+(R[3]>>>0)+(R[0]&255))` : "((R[3]+(R[0]&255))>>>0)"};R[0]=(R[0]&-256)|c.r8(ea);`;
  }
  return emitSystem(x, mn, pre, o0, o1);
}

/** Shift/rotate by a constant 1..width-1 (or 63) without flags, on int32 halves. */
export function inlineShift(mn: string, n: number, s: number): string {
  if (s === 4) {
    switch (mn) {
      case "Shl": case "Sal": return `rL=aL<<${n};`;
      case "Shr": return `rL=aL>>>${n}|0;`;
      case "Sar": return `rL=aL>>${n};`;
      case "Rol": return `rL=(aL<<${n})|(aL>>>${32 - n});`;
      case "Ror": return `rL=(aL>>>${n})|(aL<<${32 - n});`;
    }
  }
  // 64-bit on halves
  const shl = (k: number, l: string, h: string, ol: string, oh: string) =>
    k === 0 ? `${ol}=${l};${oh}=${h};` : k < 32 ? `${oh}=(${h}<<${k})|(${l}>>>${32 - k});${ol}=${l}<<${k};` : k === 32 ? `${oh}=${l};${ol}=0;` : `${oh}=${l}<<${k - 32};${ol}=0;`;
  const shr = (k: number, l: string, h: string, ol: string, oh: string, arith: boolean) =>
    k === 0 ? `${ol}=${l};${oh}=${h};`
      : k < 32 ? `${ol}=(${l}>>>${k})|(${h}<<${32 - k});${oh}=${h}${arith ? ">>" : ">>>"}${k}${arith ? "" : "|0"};`
      : k === 32 ? `${ol}=${h};${oh}=${arith ? `${h}>>31` : "0"};`
      : `${ol}=${h}${arith ? ">>" : ">>>"}${k - 32}${arith ? "" : "|0"};${oh}=${arith ? `${h}>>31` : "0"};`;
  switch (mn) {
    case "Shl": case "Sal": return shl(n, "aL", "aH", "rL", "rH");
    case "Shr": return shr(n, "aL", "aH", "rL", "rH", false);
    case "Sar": return shr(n, "aL", "aH", "rL", "rH", true);
    case "Rol": return shl(n, "aL", "aH", "rL", "rH") + shr(64 - n, "aL", "aH", "bL", "bH", false) + "rL|=bL;rH|=bH;";
    case "Ror": return shr(n, "aL", "aH", "rL", "rH", false) + shl(64 - n, "aL", "aH", "bL", "bH") + "rL|=bL;rH|=bH;";
  }
  throw new Error(`inlineShift ${mn}`);
}

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
