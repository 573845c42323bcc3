import { describe, expect, it } from "vitest";
import { longModeGuest, nasm } from "./helpers";

describe("smoke", () => {
  it("runs a loop and exits on hlt", () => {
    const { v } = longModeGuest(nasm(`
      mov ecx, 10
      xor eax, eax
    l: add rax, rcx
      dec ecx
      jnz l
      mov rbx, 0x123456789abcdef0
      push rbx
      pop rdx
      hlt
    `, 64, 0x400000));
    const x = v.run(1000);
    expect(x.kind).toBe("hlt");
    expect(v.getReg("rax")).toBe(55n);
    expect(v.getReg("rdx")).toBe(0x123456789abcdef0n);
  });
});
