import { describe, expect, it } from "vitest";
import { XenHost } from "../../src/xen/host";
import { labCode } from "./helpers";

/** Reads MSR_IA32_MISC_ENABLE, writes the same value back, then tries to turn MONITOR on. */
const GUEST = labCode(`
    mov ecx, 0x1a0               ; MSR_IA32_MISC_ENABLE
    rdmsr
    mov r8, rax
    mov r9, rdx
    wrmsr                        ; unchanged: accepted
    mov r10, 1
    or eax, 1 << 18              ; MONITOR_ENABLE: Xen refuses with #GP
    wrmsr
    mov r11, 1
    cli
    hlt`);

describe("MSR_IA32_MISC_ENABLE as Xen's guest_rdmsr answers it", () => {
  it("reads with BTS/PEBS unavailable, xTPR disabled, no perfmon or MONITOR; an unchanged write is taken, a change is #GP", () => {
    const host = new XenHost({ pcpus: 1, memoryMiB: 64 });
    const d = host.createLabDomain("m", GUEST, { extra: `on_crash = "preserve"` });
    host.run({ ns: 5e6 });
    const cpu = d.vcpus[0]!.cpu!;
    const v = cpu.getReg("r8");
    // Intel SDM vol. 4 table 2-2 bit numbers: 0 fast strings, 7 perfmon, 11 BTS_UNAVAIL, 12 PEBS_UNAVAIL, 18 MONITOR, 23 xTPR disable
    expect([0, 7, 11, 12, 18, 23].map((b) => Number((v >> BigInt(b)) & 1n))).toEqual([1, 0, 1, 1, 0, 1]);
    expect(cpu.getReg("r9")).toBe(0n);
    expect(cpu.getReg("r10")).toBe(1n);
    expect(cpu.getReg("r11")).toBe(0n); // the changing write faulted (no IDT: the domain crashed there)
  });

  it("MSR_IA32_UCODE_REV: writing 0 is taken (Intel's read sequence), the read gives the revision in EDX, any other write is #GP; FEATURE_CONTROL reads locked", () => {
    const host = new XenHost({ pcpus: 1, memoryMiB: 64 });
    const d = host.createLabDomain("u", labCode(`
    mov ecx, 0x8b                ; MSR_IA32_UCODE_REV (msr-index.h)
    xor eax, eax
    xor edx, edx
    wrmsr                        ; the documented "write 0, cpuid, read"
    mov eax, 1
    cpuid
    mov ecx, 0x8b
    mov edx, 0xdead
    rdmsr
    mov r8, rdx
    mov ecx, 0x3a                ; MSR_IA32_FEATURE_CONTROL
    rdmsr
    mov r9, rax
    mov r10, 1
    mov ecx, 0x8b
    mov eax, 1
    wrmsr                        ; not 0: #GP (no IDT: the domain crashes here)
    mov r11, 1
    cli
    hlt`), { extra: `on_crash = "preserve"` });
    host.run({ ns: 5e6 });
    const cpu = d.vcpus[0]!.cpu!;
    expect(cpu.getReg("r8")).toBe(0n); // this host has no microcode loaded
    expect(cpu.getReg("r9")).toBe(1n); // IA32_FEATURE_CONTROL_LOCK, nothing enabled
    expect(cpu.getReg("r10")).toBe(1n);
    expect(cpu.getReg("r11")).toBe(0n);
    expect(d.crashReason).toMatch(/triple fault/);
  });

  it("IA32_PAT: per vCPU from the power-on value 0x0007040600070406; a valid table is kept, a reserved type (2) is #GP", () => {
    const host = new XenHost({ pcpus: 1, memoryMiB: 64 });
    const d = host.createLabDomain("p", labCode(`
    mov ecx, 0x277               ; MSR_IA32_CR_PAT
    rdmsr
    mov r8d, eax
    mov r9d, edx
    mov eax, 0x00010406          ; WB WT UC- WC ... as Linux programs it
    mov edx, 0x00010406
    wrmsr
    rdmsr
    mov r10d, eax
    mov r12, 1
    mov eax, 0x02                ; entry 0 = type 2: reserved
    wrmsr
    mov r11, 1
    cli
    hlt`), { extra: `on_crash = "preserve"` });
    host.run({ ns: 5e6 });
    const cpu = d.vcpus[0]!.cpu!;
    expect(cpu.getReg("r8")).toBe(0x00070406n);
    expect(cpu.getReg("r9")).toBe(0x00070406n);
    expect(cpu.getReg("r10")).toBe(0x00010406n);
    expect(cpu.getReg("r12")).toBe(1n);
    expect(cpu.getReg("r11")).toBe(0n);
  });
});
