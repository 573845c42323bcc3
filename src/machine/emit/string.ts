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
    }
    return undefined;
  },
};
