/** The stack: push/pop, leave, pushf/popf. */
import { SEG_REGS, rd, wr } from "../operands";
import { Family } from "./form";

export const stack: Family = {
  name: "stack",
  mnemonics: ["Push", "Pop", "Leave", "Pushfq", "Pushfd", "Pushf", "Popfq", "Popfd", "Popf"],
  emit(x, f) {
    const { ins, mn, o0, pre, done, stackSize } = f;
    switch (mn) {
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
    }
    return undefined;
  },
};
