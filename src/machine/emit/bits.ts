/** Single flags and bit operations: lahf/sahf, clc/stc/cmc/cld/std, bt/bts/btr/btc, bsf/bsr/tzcnt/lzcnt/popcnt. */
import { maskOf, rd, wr } from "../operands";
import { Family } from "./form";

const TWO32 = 4294967296;

export const bits: Family = {
  name: "bits",
  mnemonics: ["Lahf", "Sahf", "Clc", "Stc", "Cmc", "Cld", "Std", "Bt", "Bts", "Btr", "Btc", "Bsf", "Bsr", "Tzcnt", "Lzcnt", "Popcnt"],
  emit(x, f) {
    const { mn, o0, o1, pre, s0 } = f;
    switch (mn) {
      case "Lahf": return "R[0]=(R[0]&-65281)|((c.getFlags()&255)<<8);";
      case "Sahf": return "c.mergeArith(0xd5,(R[0]>>>8)&0xd5);";
      case "Clc": return "c.mergeArith(1,0);";
      case "Stc": return "c.mergeArith(1,1);";
      case "Cmc": return "c.mergeArith(1,c.cf()^1);";
      case "Cld": return "c.eflagsRest&=~0x400;";
      case "Std": return "c.eflagsRest|=0x400;";
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
    }
    return undefined;
  },
};
