/**
 * Bringing an AP up as Linux does on PVH (native_cpu_up → wakeup_secondary_cpu_via_init): the BSP
 * sends INIT, INIT de-assert and two startup IPIs through its local APIC; Xen's vlapic starts the
 * AP in real mode at vector × 4096 (vlapic_init_sipi_one, hvm_vcpu_reset_state); the AP's
 * trampoline, modelled on arch/x86/realmode/rm/trampoline_64.S, checks the CPU (CPUID, the
 * EFLAGS.ID toggle as verify_cpu.S does), loads a GDT, sets CR0.PE, far-jumps into 32-bit
 * protected mode, enables PAE paging and long mode, and far-jumps into 64-bit code.
 *
 * The real-mode instructions run on the vCPU itself (16-bit code: src/machine/realmode.ts,
 * emit/modes16.ts; its real mode is checked against QEMU in tests/machine/realmode.test.ts); the
 * oracle for its 16-bit arithmetic is its own 64-bit ALU, tested against the host CPU: the same
 * ALU sequence run by the AP in real mode and by the BSP in 64-bit mode must leave the same
 * results and the same defined flags.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { XenHost } from "../../src/xen/host";
import { labCode } from "./helpers";

const OUT = 0x7000; // the AP's results
const BSP_OUT = 0x7800; // the BSP's results
const TRAMPOLINE = 0x8000; // startup vector 0x08
const TABLE = 0x100; // ALU results start here in both areas

/**
 * ALU cases: [instruction(s) with the operands in eax/ebx/ecx set by `init`, defined-flag mask].
 * Flags: OF 0x800, SF 0x80, ZF 0x40, AF 0x10, PF 0x4, CF 0x1 (logic ops leave AF undefined; shifts
 * of more than 1 leave OF undefined; bt* define CF only).
 */
const ALL = 0x8d5, NO_AF = 0x8c5, SHIFT_N = 0x0c5, CF_ONLY = 0x1;
const CASES: [string, string, number][] = [
  ["mov eax, 0x7fffffff\n mov ebx, 1", "add eax, ebx", ALL],
  ["mov eax, 0xffffffff\n mov ebx, 1", "add eax, ebx", ALL],
  ["mov eax, 0x80000000\n mov ebx, 0xffffffff\n stc", "adc eax, ebx", ALL],
  ["mov eax, 5\n mov ebx, 7", "sub eax, ebx", ALL],
  ["mov eax, 0x80000000\n mov ebx, 1\n stc", "sbb eax, ebx", ALL],
  ["mov eax, 0x1234\n mov ebx, 0x1234", "cmp eax, ebx", ALL],
  ["mov eax, 0x0f0f00ff\n mov ebx, 0x00ff0f01", "and eax, ebx", NO_AF],
  ["mov eax, 0x80000000\n mov ebx, 0x1", "or eax, ebx", NO_AF],
  ["mov eax, 0x55aa55aa\n mov ebx, 0x55aa55aa", "xor eax, ebx", NO_AF],
  ["mov eax, 0x80\n mov ebx, 0x80", "test al, bl", NO_AF],
  ["mov eax, 0xffff\n stc", "inc ax", ALL],
  ["mov eax, 0x80000000\n clc", "dec eax", ALL],
  ["mov eax, 0x80000000", "neg eax", ALL],
  ["mov eax, 0", "neg eax", ALL],
  ["mov eax, 0xc0000001", "shl eax, 1", ALL & ~0x10],
  ["mov eax, 0x80000001", "shr eax, 1", ALL & ~0x10],
  ["mov eax, 0x80000010", "sar eax, 4", SHIFT_N],
  ["mov eax, 0x0ff00f00\n mov ecx, 8", "shr eax, cl", SHIFT_N],
  ["mov eax, 0x12345678\n mov ecx, 12", "shl eax, cl", SHIFT_N],
  ["mov eax, 0xff\n mov ebx, 0x01", "add al, bl", ALL],
  ["mov eax, 0x8000\n mov ebx, 0x8000", "add ax, bx", ALL],
  ["mov eax, 0x00000004", "btr eax, 2", CF_ONLY],
  ["mov eax, 0x00000000", "bts eax, 31", CF_ONLY],
  ["mov eax, 0x00010000\n mov ebx, 16", "bt eax, ebx", CF_ONLY],
  ["mov eax, 0x12345678", "movzx ebx, ah\n mov eax, ebx", ALL],
  ["mov eax, 0x000080f0", "movsx eax, ax", ALL],
];

/** The cases as code: each stores eax and the masked flags at [ptr], then advances ptr by 8. */
function aluTable(ptr: string, flagsReg: string): string {
  return CASES.map(([init, op, mask]) => `
    ${init}
    ${op}
    pushf
    pop ${flagsReg}
    and ${flagsReg}, ${mask}
    mov [${ptr}], eax
    mov [${ptr} + 4], e${flagsReg}
    add ${ptr}, 8`).join("\n");
}

/** The AP's trampoline: real mode → 32-bit protected mode → long mode, assembled at 0x8000. */
function trampoline(): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), "xenlab-sipi-"));
  const src = join(dir, "t.asm");
  writeFileSync(src, `
bits 16
org ${TRAMPOLINE}
    cli
    wbinvd
    jmp 0x0000:fix          ; CS 0x0800 (the SIPI vector) becomes 0, IP the absolute offset
fix:
    mov ax, cs
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, 0x7f00
    inc dword [${OUT + 16}]  ; how many times the trampoline ran
    call verify
    mov [${OUT}], eax        ; APIC ID (CPUID.1:EBX[31:24])
    mov [${OUT + 4}], ebp    ; EFLAGS.ID toggled
    mov si, ${OUT + TABLE}
    xor edx, edx
${aluTable("si", "dx")}
    o32 lidt [idtr]
    o32 lgdt [gdtr]
    mov eax, 0x11            ; PE | ET
    mov cr0, eax
    jmp dword 0x08:pm32
verify:                     ; as verify_cpu.S: the ID flag must toggle; then CPUID
    pushf
    push word 0
    popf
    pushfd
    pop eax
    mov ebx, eax
    xor eax, 0x200000
    push eax
    popfd
    pushfd
    pop edx
    xor edx, ebx
    mov ebp, edx             ; (CPUID overwrites EDX)
    mov eax, 1
    cpuid
    mov eax, ebx
    shr eax, 24
    popf
    ret
bits 32
pm32:
    mov dx, 0x10
    mov ds, dx
    mov es, dx
    mov ss, dx
    mov dword [${OUT + 8}], 0x32323232
    mov eax, [${OUT + 0x20}]  ; the page tables the BSP left
    mov cr3, eax
    mov eax, cr4
    or eax, 0x20             ; PAE
    mov cr4, eax
    mov ecx, 0xc0000080      ; EFER.LME
    rdmsr
    or eax, 0x100
    wrmsr
    mov eax, cr0
    or eax, 0x80000000       ; PG: long mode active (compatibility mode)
    mov cr0, eax
    jmp 0x18:lm64
bits 64
lm64:
    mov dword [${OUT + 12}], 0x64646464
    cli
    hlt
align 8
gdt: dq 0, 0x00cf9a000000ffff, 0x00cf92000000ffff, 0x00af9a000000ffff
gdtr: dw 4*8 - 1
    dd gdt
idtr: dw 0
    dd 0
`);
  execFileSync("nasm", ["-f", "bin", "-o", `${src}.bin`, src]);
  return new Uint8Array(readFileSync(`${src}.bin`));
}

/** The BSP: INIT, INIT de-assert, SIPI, SIPI to APIC ID 2 through the xAPIC ICR; waits for the AP. */
const BSP = `
    mov rbp, 0xfee00000
    mov rax, cr3
    mov [${OUT + 0x20}], eax
    mov rdi, ${BSP_OUT + TABLE}
    xor edx, edx
${aluTable("rdi", "dx")}
    mov dword [rbp + 0x310], 2 << 24
    mov dword [rbp + 0x300], 0xc500    ; INIT, level, assert
    mov dword [rbp + 0x310], 2 << 24
    mov dword [rbp + 0x300], 0x8500    ; INIT de-assert
    mov dword [rbp + 0x310], 2 << 24
    mov dword [rbp + 0x300], 0x0608    ; STARTUP, vector 0x08
    mov dword [rbp + 0x310], 2 << 24
    mov dword [rbp + 0x300], 0x0608    ; the second SIPI (ignored: the AP is started)
    mov ecx, 1000000
spin:
    cmp dword [${OUT + 12}], 0x64646464
    je up
    pause
    dec ecx
    jnz spin
up:
    mov dword [${BSP_OUT}], ecx
    cli
    hlt`;

describe("INIT/SIPI: an AP brought up through real mode", () => {
  it("starts the AP in real mode at the SIPI vector, which reaches 64-bit code through the trampoline; CPUID in real mode gives APIC ID 2; the second SIPI is ignored", () => {
    const host = new XenHost({ pcpus: 2, memoryMiB: 64 });
    const d = host.createLabDomain("smp", labCode(BSP), { vcpus: 2, paused: true, extra: `on_crash = "preserve"\non_poweroff = "preserve"` });
    d.guest.write(TRAMPOLINE, trampoline());
    expect(d.vcpus[1]!.online).toBe(false);
    host.unpause(d);
    host.run({ ns: 50e6, maxInstructions: 10_000_000 });
    expect(d.crashReason).toBeUndefined();
    expect(host.dmesg.some((l) => l.includes("d1v1: startup IPI, vector 0x8: real mode at 08000"))).toBe(true);
    expect(d.guest.u32(OUT + 16)).toBe(1); // ran once
    expect(d.guest.u32(OUT)).toBe(2); // Xen's APIC ID for vCPU 1
    expect(d.guest.u32(OUT + 4)).toBe(0x200000); // EFLAGS.ID toggles (CPUID exists)
    expect(d.guest.u32(OUT + 8)).toBe(0x32323232);
    expect(d.guest.u32(OUT + 12)).toBe(0x64646464);
    expect(d.guest.u32(BSP_OUT)).toBeGreaterThan(0); // the BSP saw the AP before giving up
    // Both halted with interrupts off: every vCPU down, so the domain powered off.
    expect(d.shutdownReason).toBe("poweroff");
    expect(d.vcpus[1]!.cpu!.mode).toBe("long64");
  });

  it("gives the same results and defined flags for an ALU sequence in real mode as the interpreter does in 64-bit mode", () => {
    const host = new XenHost({ pcpus: 2, memoryMiB: 64 });
    const d = host.createLabDomain("smp", labCode(BSP), { vcpus: 2, paused: true, extra: `on_crash = "preserve"\non_poweroff = "preserve"` });
    d.guest.write(TRAMPOLINE, trampoline());
    host.unpause(d);
    host.run({ ns: 50e6, maxInstructions: 10_000_000 });
    const rows = (base: number) => CASES.map(([, op], i) => `${op.replace(/\n\s*/g, "; ")}: eax ${d.guest.u32(base + TABLE + 8 * i).toString(16)} flags ${d.guest.u32(base + TABLE + 8 * i + 4).toString(16)}`);
    expect(rows(OUT)).toEqual(rows(BSP_OUT));
    // Not vacuous: the cases set each defined flag somewhere.
    const flags = CASES.map((_, i) => d.guest.u32(OUT + TABLE + 8 * i + 4)).reduce((a, f) => a | f, 0);
    expect(flags).toBe(ALL);
  });

  it("runs real-mode string instructions on the vCPU: rep movsb copies DS:SI to ES:DI with based segments and leaves SI, DI, CX as the SDM says", () => {
    const host = new XenHost({ pcpus: 2, memoryMiB: 64 });
    const d = host.createLabDomain("smp", labCode(BSP), { vcpus: 2, paused: true, extra: `on_crash = "preserve"\non_poweroff = "preserve"` });
    const src = Uint8Array.from([0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99]);
    d.guest.write(0x7040, src);
    // cli; mov ax,0x700; mov ds,ax; mov ax,0x780; mov es,ax; mov si,0x40; mov di,0x60; mov cx,8;
    // cld; rep movsb; hlt: 8 bytes from 0700:0040 (0x7040) to 0780:0060 (0x7860).
    d.guest.write(TRAMPOLINE, Uint8Array.from([0xfa, 0xb8, 0x00, 0x07, 0x8e, 0xd8, 0xb8, 0x80, 0x07, 0x8e, 0xc0, 0xbe, 0x40, 0x00,
      0xbf, 0x60, 0x00, 0xb9, 0x08, 0x00, 0xfc, 0xf3, 0xa4, 0xf4]));
    host.unpause(d);
    host.run({ ns: 50e6, maxInstructions: 10_000_000 });
    expect(d.crashReason).toBeUndefined();
    expect([...d.guest.read(0x7860, 9)]).toEqual([...src.subarray(0, 8), 0]);
    const ap = d.vcpus[1]!.cpu!;
    expect(ap.mode).toBe("real16");
    expect([ap.getReg("rsi"), ap.getReg("rdi"), ap.getReg("rcx"), ap.getReg("rip")]).toEqual([0x48n, 0x68n, 0n, 0x18n]);
  });
});
