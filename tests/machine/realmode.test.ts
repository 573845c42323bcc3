/**
 * Real mode, unreal mode and the road to long mode (SDM Vol. 3A chapters 9 and 20), the way
 * Linux's AP trampoline (arch/x86/realmode/rm/trampoline_64.S) and firmware walk it.
 *
 * The oracle is QEMU's TCG: tests/machine/programs/realmode.asm runs as the BIOS of a QEMU PC
 * and on the vCPU, and both must write the same bytes to the debug port. Facts QEMU does not
 * model (segment-limit checks in real mode) are checked against the SDM.
 */
import { describe, expect, it } from "vitest";
import { nasm } from "./helpers";
import { qemuAvailable, runFirmware, runOnQemu } from "./realmode-helpers";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const PROGRAM = readFileSync(join(__dirname, "programs", "realmode.asm"), "utf8");

/** A 64 KiB image whose reset vector (offset FFF0) jumps to F000:start. */
function firmware(body: string): Uint8Array {
  return nasm(`${body}\ntimes 0xFFF0 - ($ - $$) db 0\njmp 0xF000:start\ntimes 0x10000 - ($ - $$) db 0`, 16, 0);
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex").replace(/(.{32})/g, "$1\n");

describe("real mode to long mode, against QEMU", () => {
  const image = nasm(PROGRAM.replace(/^bits 16\norg 0\n/m, ""), 16, 0);

  it.runIf(qemuAvailable())("writes exactly what QEMU's TCG writes, in all four phases", () => {
    const ours = runFirmware(image);
    expect(ours.end).toBe("exit-port");
    const qemu = runOnQemu(image);
    expect(qemu.length).toBe(0x1b8);
    expect(hex(ours.out)).toBe(hex(qemu));
    expect(ours.v.mode).toBe("long64");
  });
});

describe("real mode as the SDM defines it", () => {
  it("a 32-bit offset past a real-mode segment's 64 KiB limit is #GP, delivered through the IVT without an error code", () => {
    const r = runFirmware(firmware(`
start:
  xor ax, ax
  mov ds, ax
  mov ss, ax
  mov sp, 0x7000
  mov word [13*4], gp_handler
  mov word [13*4+2], 0xF000
  mov esi, 0x10000
  mov dword [esi], 0x11223344      ; offset 0x10000 > limit 0xFFFF: #GP, nothing written
after:
  mov ax, sp
  out 0xe9, al                     ; SP back at 0x7000: the frame was 3 words, no error code
  mov al, ah
  out 0xe9, al
  mov al, [0x500]
  out 0xe9, al
  mov eax, [dword 0x10000 - 4 + 4 - 4]  ; offset 0xFFFC: inside the limit, allowed
  out 0xf4, al
gp_handler:
  mov bp, sp
  mov ax, [bp+6]                   ; FLAGS
  mov [0x502], ax
  mov word [bp], after             ; resume after the faulting instruction
  mov byte [0x500], 0x0d
  iret
`));
    expect(r.end).toBe("exit-port");
    expect([...r.out]).toEqual([0x00, 0x70, 0x0d]);
    expect(r.v.readVirt(0x10000, 4)).toEqual(new Uint8Array(4)); // the store did not happen
  });

  it("a segment load in real mode keeps the 4 GiB limit protected mode left (unreal mode)", () => {
    const body = (enterPm: boolean) => firmware(`
start:
  xor ax, ax
  mov ss, ax
  mov sp, 0x7000
  mov ds, ax
  mov word [13*4], gp_handler
  mov word [13*4+2], 0xF000
  ${enterPm ? `lgdt [cs:gdtr]
  mov eax, cr0
  or al, 1
  mov cr0, eax
  mov bx, 0x08
  mov ds, bx
  and al, 0xfe
  mov cr0, eax` : ""}
  mov ax, 0x0100
  mov ds, ax                       ; base 0x1000 either way; the limit is what differs
  mov dword [dword 0x200000], 0x5a5a5a5a
  mov al, 1
  out 0xe9, al
  out 0xf4, al
gp_handler:
  mov al, 13
  out 0xe9, al
  out 0xf4, al
align 8
gdt: dq 0, 0x00cf92000000ffff
gdtr: dw 15
      dd 0xF0000 + gdt
`);
    const plain = runFirmware(body(false));
    expect([...plain.out]).toEqual([13]);
    const unreal = runFirmware(body(true));
    expect([...unreal.out]).toEqual([1]);
    expect(unreal.v.readVirtU32(0x201000)).toBe(0x5a5a5a5a);
    expect(unreal.v.mode).toBe("real16");
  });

  it("INIT then a startup IPI start the vCPU at VV00:0000 in real mode with the INIT register state", () => {
    const r = runFirmware(firmware("start: hlt"), 1000, (v) => {
      v.init();
      expect(v.mode).toBe("real16");
      expect(v.getState().cs.selector).toBe(0xf000);
      expect(v.getState().rip).toBe(0xfff0n);
      expect(v.getState().segCache?.cs).toBe(0xffff0000);
      expect(v.getState().cr0).toBe(0x60000010);
      v.startupIpi(0x9a);
      // the AP trampoline's first instructions (trampoline_64.S): ljmpw, then mov %cs,%ax ...
      const code = nasm(`
  cli
  jmp 0x9a00:next
next:
  mov ax, cs
  mov ds, ax
  mov ss, ax
  mov sp, 0x800
  mov al, [msg]
  out 0xe9, al
  out 0xf4, al
msg: db 0x5e`, 16, 0);
      v.writeVirt(0x9a000, code);
    });
    expect(r.end).toBe("exit-port");
    expect([...r.out]).toEqual([0x5e]);
    expect(r.v.getState().segCache?.cs).toBe(0x9a000);
    expect(r.v.getReg("rdx")).toBe(0x000906a0n); // EDX after INIT: the processor signature
    expect(() => r.v.startupIpi(256)).toThrow(/0\.\.255/);
  });

  it("a vector past the IVT limit is #GP, then #DF, then shutdown (a triple-fault exit)", () => {
    const r = runFirmware(firmware(`
start:
  lidt [cs:idtr]
  int 0x42
idtr: dw 3
      dd 0
`));
    expect(r.end).toMatch(/^triple-fault: .*beyond the IVT limit/);
  });
});

describe("real-mode state handed over as data", () => {
  it("setState of a real-mode state without segment caches takes base = selector·16 (Xen's hvm_vcpu_reset_state)", () => {
    const r = runFirmware(firmware("start: hlt"), 1000, (v) => {
      const st = v.getState();
      delete st.segCache;
      v.setState({ ...st, cr0: 0x10, cs: { selector: 0x9a00, long: false, db: false }, rip: 0n, ds: 0x9a00 });
      v.writeVirt(0x9a000, nasm("mov al, [msg]\nout 0xe9, al\nout 0xf4, al\nmsg: db 0x77", 16, 0));
    });
    expect([...r.out]).toEqual([0x77]);
  });
});
