/**
 * The NASM forms students type in %%asm cells (equ, local labels, times N db, resb) assemble to
 * exactly the bytes nasm itself makes; the forms keystone cannot take (align, times of an
 * instruction, $$) are refused naming the line, with a hint saying what to write instead.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { Assembler, AssemblyError } from "../../src/machine";
import { nasm } from "./helpers";

let a: Assembler;
beforeAll(async () => { a = await Assembler.load(); });

const SAME_AS_NASM: [string, string][] = [
  ["equ of a number", "N equ 20\n    mov ecx, N\n    hlt"],
  ["equ of $ - label (a string's length)", "msg: db \"Xen inside Longhorn\", 10\nmsg_len equ $ - msg\n    mov esi, msg_len"],
  ["equ used before it is defined", "    mov esi, len\nmsg: db 'a;b', 0\nlen equ $ - msg"],
  ["local labels under two parents", "f:\n    mov ecx, 3\n.again:\n    dec ecx\n    jnz .again\n    ret\ng:\n.again:\n    jmp .again"],
  ["times N db 0 and a label on it", "    jmp over\npad: times 16 db 0x90\nover:\n    hlt"],
  ["times N dd with an equ count", "K equ 3\ntable: times K dd 0xdeadbeef\n    hlt"],
  ["resb and resq (zero-filled in a flat binary)", "    hlt\nbuf: resb 5\nq: resq 2"],
];

describe("NASM forms keystone lacks", () => {
  for (const [name, src] of SAME_AS_NASM) {
    it(`${name}: the same bytes as nasm`, () => {
      expect(Buffer.from(a.assemble(src, { bits: 64, address: 0x100000 })).toString("hex")).toBe(Buffer.from(nasm(src, 64, 0x100000)).toString("hex"));
    });
  }

  const REFUSED: [string, string, RegExp][] = [
    ["align", "    nop\n    align 16\n    hlt", /line 2: align is not supported here: pad to the boundary with `times K db 0`/],
    ["times of an instruction", "    times 3 nop", /line 1: times works here only with db\/dw\/dd\/dq: write the instruction out, or repeat it with a loop/],
    ["$$", "    times 510-($-$$) db 0", /line 1: \$\$ \(the section start\) is not supported/],
    ["a local label with no parent", ".x:\n    jmp .x", /line 1: a local label \(\.name\) needs a label without a dot above it/],
    ["times with a count that is not a number", "    times n db 0", /line 1: times needs a count that is a number/],
  ];
  for (const [name, src, hint] of REFUSED) {
    it(`refuses ${name} with a hint`, () => {
      expect(() => a.assemble(src)).toThrow(AssemblyError);
      expect(() => a.assemble(src)).toThrow(hint);
    });
  }
});
