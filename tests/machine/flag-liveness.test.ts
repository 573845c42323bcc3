/**
 * Flag liveness is derived from iced-x86's own flag information (rflagsRead/rflagsModified), over
 * exactly the instructions a block compiles. Expected outcomes are from the SDM's "Flags
 * Affected" sections.
 */
import * as iced from "iced-x86";
import { describe, expect, it } from "vitest";

import { flagLiveness, flagUse } from "../../src/machine/flag-analysis";
import { FAMILIES, implementedMnemonics } from "../../src/machine/emit/index";

function decode(hex: string): iced.Instruction[] {
  const bytes = Uint8Array.from(Buffer.from(hex.replace(/ /g, ""), "hex"));
  const d = new iced.Decoder(64, bytes, iced.DecoderOptions.None);
  const out: iced.Instruction[] = [];
  while (d.canDecode) out.push(d.decode());
  d.free();
  return out;
}

function dead(hex: string, code: string[] = []): boolean[] {
  const block = decode(hex);
  const r = flagLiveness(block, block.map((_, i) => code[i] ?? ""));
  for (const i of block) i.free();
  return r;
}

describe("flag liveness from iced-x86", () => {
  it("an add whose flags a cmp overwrites before any read is dead; the cmp feeding the block end is live", () => {
    // add eax, ebx ; cmp eax, ecx
    expect(dead("01d8 39c8")).toEqual([true, false]);
  });

  it("a jcc, adc or setcc reads the flags, so the producer before it stays live", () => {
    expect(dead("01d8 11c8 39c8")).toEqual([false, true, false]); // add; adc (reads CF); cmp
    expect(dead("01d8 0f94c0 39c8")[0]).toBe(false); // add; sete al; cmp
  });

  it("shl by CL may shift by 0 and leave every flag, so it does not kill; shl by 5 does (SDM SAL/SHL)", () => {
    expect(dead("01d8 d3e0")).toEqual([false, false]);
    expect(dead("01d8 c1e005 39c8")).toEqual([true, true, false]);
  });

  it("inc leaves CF alone: the add's CF survives it to the block end", () => {
    expect(dead("01d8 ffc0")).toEqual([false, false]);
  });

  it("an instruction whose code calls a faulting helper (cli at CPL 3) exposes the incoming flags", () => {
    expect(dead("01d8 fa 39c8", ["", "c.cli();", ""])[0]).toBe(false);
    expect(dead("01d8 90 39c8")[0]).toBe(true); // nop is transparent
  });

  it("classifies by iced's flag info: test writes all six, mov none, rcl reads CF", () => {
    const [t, m, r] = decode("85c0 89c3 d1d0");
    expect([flagUse(t!), flagUse(m!), flagUse(r!)]).toEqual([1, 0, 2]);
    for (const i of [t, m, r]) i!.free();
  });
});

describe("the emitter table", () => {
  it("has every family's mnemonics, each a real iced-x86 mnemonic", () => {
    const all = implementedMnemonics();
    for (const f of FAMILIES) for (const m of f.mnemonics) expect(all).toContain(m);
    expect(all).toContain("Add");
    expect(all).toContain("Movsd"); // the string movsd; SSE2's movsd shares the mnemonic
  });
});
