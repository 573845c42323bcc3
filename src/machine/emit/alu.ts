/** Integer arithmetic: add/sub/logic, inc/dec/neg/not, shifts and rotates, multiply and divide, sign extension, cmpxchg/xadd, BMI1/BMI2. */
import { Opd, lgOf, maskOf, operand, rd, wr } from "../operands";
import { Family } from "./form";
import { mul128, mulFlags64, mulLow64 } from "./mul64";

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

/** One-operand 64-bit mul/imul: RDX:RAX = RAX * src, inline (mul64.ts). */
function mulRdxRax(src: Opd, signed: boolean, flagsDead: boolean): string {
  return rd(src, 8, "b") + "aL=R[0];aH=H[0];" + mul128(signed, !flagsDead) +
    "R[0]=rL;H[0]=rH;R[2]=dL;H[2]=dH;" + (flagsDead ? "" : mulFlags64());
}

export const alu: Family = {
  name: "alu",
  mnemonics: ["Add", "Or", "Adc", "Sbb", "And", "Sub", "Xor", "Cmp", "Test", "Inc", "Dec", "Neg", "Not", "Rol", "Ror", "Rcl", "Rcr", "Shl", "Sal", "Shr", "Sar", "Shld", "Shrd", "Mul", "Div", "Idiv", "Imul", "Cbw", "Cwde", "Cdqe", "Cwd", "Cdq", "Cqo", "Cmpxchg", "Cmpxchg8b", "Cmpxchg16b", "Xadd", "Rorx", "Shlx", "Shrx", "Sarx", "Andn", "Bzhi", "Blsr", "Blsi", "Blsmsk", "Mulx"],
  emit(x, f) {
    const { ins, mn, nops, o0, o1, pre, s0 } = f;
    switch (mn) {
      case "Add": case "Or": case "Adc": case "Sbb": case "And": case "Sub": case "Xor": case "Cmp": case "Test":
        if (nops !== 2 || ins.hasRepPrefix) return undefined;
        if (mn === "Cmp" || mn === "Test") x.writes = false;
        return pre + aluCode(mn, o0, o1, s0, x.flagsDead);
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
        if (mn === "Mul" && s0 === 8) return pre + mulRdxRax(o0, false, x.flagsDead);
        return pre + rd(o0, s0, "b") + (mn === "Mul" ? `X.mul1(c,false,bL,bH,${s0});` : `X.div1(c,${mn === "Idiv"},bL,bH,${s0});`);
      case "Imul": {
        if (nops === 1 && s0 === 8) return pre + mulRdxRax(o0, true, x.flagsDead);
        if (nops === 1) return pre + rd(o0, s0, "b") + `X.mul1(c,true,bL,bH,${s0});`;
        const src = nops === 3 ? o1 : o0;
        const mul = nops === 3 ? operand(ins, 2) : o1;
        if (x.flagsDead && s0 === 4) return pre + rd(src, s0, "a") + rd(mul, s0, "b") + "rL=Math.imul(aL,bL);" + wr(o0, s0, "r");
        if (x.flagsDead && s0 === 8) return pre + rd(src, s0, "a") + rd(mul, s0, "b") + mulLow64() + wr(o0, s0, "r");
        if (s0 === 8) return pre + rd(src, s0, "a") + rd(mul, s0, "b") + mul128(true, true) + wr(o0, s0, "r") + mulFlags64();
        return pre + rd(src, s0, "a") + rd(mul, s0, "b") + `rL=X.imul2(c,aL,aH,bL,bH,${s0});rH=c.tH;` + wr(o0, s0, "r");
      }
      case "Cbw": return "R[0]=(R[0]&-65536)|(((R[0]<<24)>>24)&65535);";
      case "Cwde": return "R[0]=(R[0]<<16)>>16;H[0]=0;";
      case "Cdqe": return "H[0]=R[0]>>31;";
      case "Cwd": return "R[2]=(R[2]&-65536)|(((R[0]<<16)>>31)&65535);";
      case "Cdq": return "R[2]=R[0]>>31;H[2]=0;";
      case "Cqo": return "R[2]=H[0]>>31;H[2]=R[2];";
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
    }
    return undefined;
  },
};
