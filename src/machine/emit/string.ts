/** String instructions with their rep prefixes (movs, stos, lods, cmps, scas). */
import { OpKind, Register } from "iced-x86";
import { Family } from "./form";

export const string: Family = {
  name: "string",
  mnemonics: ["Movsb", "Movsw", "Movsd", "Movsq", "Stosb", "Stosw", "Stosd", "Stosq", "Lodsb", "Lodsw", "Lodsd", "Lodsq", "Cmpsb", "Cmpsw", "Cmpsd", "Cmpsq", "Scasb", "Scasw", "Scasd", "Scasq"],
  emit(x, f) {
    const { ins, mn, codeName, nops } = f;
    switch (mn) {
      case "Movsb": case "Movsw": case "Movsd": case "Movsq": case "Stosb": case "Stosw": case "Stosd": case "Stosq":
      case "Lodsb": case "Lodsw": case "Lodsd": case "Lodsq": case "Cmpsb": case "Cmpsw": case "Cmpsd": case "Cmpsq":
      case "Scasb": case "Scasw": case "Scasd": case "Scasq": {
        if (mn === "Movsd" && codeName !== "Movsd_m32_m32") return undefined; // SSE movsd
        if (mn === "Cmpsd" && codeName !== "Cmpsd_m32_m32") return undefined;
        const op = ["Movs", "Stos", "Lods", "Cmps", "Scas"].indexOf(mn.slice(0, 4));
        const size = { b: 1, w: 2, d: 4, q: 8 }[mn.slice(4)]!;
        const rep = ins.hasRepePrefix ? 1 : ins.hasRepnePrefix ? (op >= 3 ? 2 : 1) : 0;
        // Address size: SI/DI/CX, ESI/EDI/ECX or RSI/RDI/RCX, from the operand kinds iced decoded.
        let asz = x.m64 ? 8 : x.code16 ? 2 : 4;
        for (let k = 0; k < nops; k++) {
          const kk = ins.opKind(k);
          if (kk === OpKind.MemorySegESI || kk === OpKind.MemorySegEDI || kk === OpKind.MemoryESEDI) asz = 4;
          if (kk === OpKind.MemorySegSI || kk === OpKind.MemorySegDI || kk === OpKind.MemoryESDI) asz = 2;
        }
        // The source is DS:(E)SI unless overridden; the destination is always ES:(E)DI. Outside
        // 64-bit mode both bases count (segcache.ts).
        const sp = ins.segmentPrefix;
        const srcBase = sp === Register.FS ? "c.fsBase" : sp === Register.GS ? "c.gsBase" : x.m64 ? "0"
          : sp === Register.ES ? "c.esBase" : sp === Register.CS ? "c.csBase" : sp === Register.SS ? "c.ssBase" : "c.dsBase";
        const dstBase = x.m64 ? "0" : "c.esBase";
        x.writes = op === 0 || op === 1;
        return `if(!X.strop(c,${op},${size},${rep},${asz},${srcBase},${dstBase})){c.rip=${x.rip};return ${x.i};}`;
      }
    }
    return undefined;
  },
};
