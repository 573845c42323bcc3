/**
 * Viridian on the Xen host: `viridian = [...]` gives a guest Microsoft's CPUID leaves, synthetic
 * MSRs and hypercall page at the base of the range, with Xen's own moved to 0x40000100, as
 * xen/arch/x86/hvm/viridian/viridian.c does. Driven by a lab guest that uses the TLFS ABI.
 */
import { describe, expect, it } from "vitest";
import { HV_VENDOR } from "../../src/hyperv/tlfs";
import { XenHost } from "../../src/xen/host";
import { referenceTscPage, viridianGroups } from "../../src/xen/viridian";
import { labCode } from "./helpers";

const GUEST = labCode(`
    mov eax, 0x40000000          ; Hyper-V vendor leaf
    cpuid
    mov r8d, eax
    mov r9d, ebx
    mov eax, 0x40000100          ; Xen's leaves, moved up
    cpuid
    mov r10d, ebx
    mov eax, 0x40000003          ; features (privilege mask)
    cpuid
    mov [0x6000], eax
    mov ecx, 0x40000000          ; HV_X64_MSR_GUEST_OS_ID
    mov eax, 0x1234
    xor edx, edx
    wrmsr
    mov ecx, 0x40000001          ; HV_X64_MSR_HYPERCALL: page at 0x5000, enabled
    mov eax, 0x5001
    wrmsr
    mov ecx, 0x0008              ; HvNotifyLongSpinWait
    mov rax, 0x5000
    call rax
    mov r11, rax
    mov ecx, 0x0099              ; not a call Xen's viridian knows
    mov rax, 0x5000
    call rax
    mov r12, rax
    mov rcx, 0x0000000300000003  ; HvFlushVirtualAddressList, 3 reps
    mov rax, 0x5000
    call rax
    mov [0x6008], rax
    mov ecx, 0x40000002          ; HV_X64_MSR_VP_INDEX
    rdmsr
    mov r13, rax
    mov ecx, 0x40000020          ; HV_X64_MSR_TIME_REF_COUNT
    rdmsr
    shl rdx, 32
    or rax, rdx
    mov r14, rax
    cli
    hlt`);

function boot(viridian: string): { host: XenHost; reg: (r: string) => bigint; mem: (a: number) => bigint } {
  const host = new XenHost({ pcpus: 1, memoryMiB: 128, cpuMHz: 10 });
  const d = host.createLabDomain("win", GUEST, { extra: `viridian = ${viridian}\non_poweroff = "preserve"` });
  host.run({ ns: 5e6 });
  const cpu = d.vcpus[0]!.cpu!;
  return { host, reg: (r) => cpu.getReg(r), mem: (a) => d.guest.u64(a) };
}

describe("viridian", () => {
  it("puts Microsoft's leaves first and Xen's at 0x40000100", () => {
    const { reg, mem } = boot('[ "base", "time_ref_count", "hcall_remote_tlb_flush" ]');
    expect(reg("r8")).toBe(0x40000006n);
    expect(Number(reg("r9"))).toBe(HV_VENDOR[0]); // "Micr"
    expect(Number(reg("r10"))).toBe(0x566e6558); // "XenV"
    // base: hypercall, VP index and APIC MSRs; time_ref_count: the partition reference counter
    expect(Number(mem(0x6000) & 0xffffffffn)).toBe((1 << 5) | (1 << 6) | (1 << 4) | (1 << 1));
  });

  it("writes Xen's viridian hypercall page and answers TLFS calls through it", () => {
    const { host, reg, mem } = boot('[ "base", "time_ref_count", "hcall_remote_tlb_flush" ]');
    expect([...host.domain("win").guest.read(0x5000, 10)]).toEqual([0x0d, 0x00, 0x00, 0x00, 0x80, 0x0f, 0x01, 0xc1, 0xc3, 0xcc]);
    expect(reg("r11")).toBe(0n); // HV_STATUS_SUCCESS
    expect(reg("r12")).toBe(2n); // HV_STATUS_INVALID_HYPERCALL_CODE
    expect(mem(0x6008)).toBe(3n << 32n); // success, 3 reps completed
    expect(reg("r13")).toBe(0n); // VP index of vCPU 0
    expect(reg("r14")).toBeGreaterThan(0n); // 100 ns ticks of virtual time
  });

  it("without time_ref_count the counter MSR is #GP, and without viridian the base is Xen's", () => {
    const noCounter = boot('[ "base" ]');
    expect(noCounter.reg("r14")).toBe(0n); // the guest took #GP at the rdmsr (no IDT: the domain crashed there)
    const plain = new XenHost({ pcpus: 1, memoryMiB: 128, cpuMHz: 10 });
    const d = plain.createLabDomain("xen", labCode("mov eax, 0x40000000\ncpuid\nmov r9d, ebx\ncli\nhlt"), { extra: 'on_poweroff = "preserve"' });
    plain.run({ ns: 1e6 });
    expect(Number(d.vcpus[0]!.cpu!.getReg("r9"))).toBe(0x566e6558); // "XenV"
  });

  it("expands defaults and all, removes !groups, and names an unknown enlightenment", () => {
    expect([...viridianGroups(["defaults"])].sort()).toEqual(["apic_assist", "base", "crash_ctl", "freq", "time_ref_count"]);
    expect(viridianGroups(["all", "!stimer"]).has("stimer")).toBe(false);
    expect(() => viridianGroups(["base", "warp_drive"])).toThrow(/unknown viridian enlightenment "warp_drive"/);
    const host = new XenHost({ pcpus: 1, memoryMiB: 128 });
    expect(() => host.createLabDomain("bad", GUEST, { extra: 'viridian = [ "base", "warp_drive" ]' })).toThrow(/warp_drive/);
    expect(host.findDomain("bad")).toBeUndefined();
  });
});

describe("viridian time, frequency, VP assist and crash reporting", () => {
  it("the reference TSC page and the TIME_REF_COUNT MSR agree; freq reports the TSC rate", () => {
    const host = new XenHost({ pcpus: 1, memoryMiB: 128, cpuMHz: 100 });
    const d = host.createLabDomain("clock", labCode(`
    mov ecx, 0x40000000          ; GUEST_OS_ID first
    mov eax, 1
    xor edx, edx
    wrmsr
    mov ecx, 0x40000021          ; HV_X64_MSR_REFERENCE_TSC: page at 0x7000, enabled
    mov eax, 0x7001
    xor edx, edx
    wrmsr
    mov rcx, 200000              ; let some time pass
spin:
    dec rcx
    jnz spin
    rdtsc                        ; reference time from the page: ((tsc * scale) >> 64) + offset
    shl rdx, 32
    or rax, rdx
    mul qword [0x7008]
    add rdx, [0x7010]
    mov r8, rdx
    mov ecx, 0x40000020          ; ... and from the MSR
    rdmsr
    shl rdx, 32
    or rax, rdx
    mov r9, rax
    mov ecx, 0x40000022          ; HV_X64_MSR_TSC_FREQUENCY
    rdmsr
    shl rdx, 32
    or rax, rdx
    mov r10, rax
    mov ecx, 0x40000073          ; HV_X64_MSR_VP_ASSIST_PAGE: write, read back
    mov eax, 0x8001
    xor edx, edx
    wrmsr
    rdmsr
    mov r11, rax
    cli
    hlt`), { extra: 'viridian = [ "defaults", "reference_tsc" ]\non_poweroff = "preserve"' });
    host.run({ ns: 100e6 });
    const cpu = d.vcpus[0]!.cpu!;
    expect(d.guest.u32(0x7000)).toBe(1); // sequence: valid
    const fromPage = cpu.getReg("r8");
    const fromMsr = cpu.getReg("r9");
    expect(fromPage).toBeGreaterThan(0n);
    // The two paths read the same clock a few instructions apart (100 ns ticks).
    expect(fromMsr >= fromPage && fromMsr - fromPage < 100n).toBe(true);
    expect(cpu.getReg("r10")).toBe(100_000_000n);
    expect(cpu.getReg("r11")).toBe(0x8001n);
  });

  it("a TSC no faster than the 10 MHz reference leaves the page invalid (sequence 0: use the MSR)", () => {
    expect(new DataView(referenceTscPage(10_000_000).buffer).getUint32(0, true)).toBe(0);
    const page = new DataView(referenceTscPage(100_000_000).buffer);
    expect(page.getUint32(0, true)).toBe(1);
    expect(page.getBigUint64(8, true)).toBe((1n << 64n) / 10n);
  });

  it("a crash report through CRASH_CTL crashes the domain with the parameters logged", () => {
    const host = new XenHost({ pcpus: 1, memoryMiB: 128 });
    host.createLabDomain("bsod", labCode(`
    mov ecx, 0x40000100          ; HV_X64_MSR_CRASH_P0: the bugcheck code
    mov eax, 0xdead
    xor edx, edx
    wrmsr
    mov ecx, 0x40000105          ; HV_X64_MSR_CRASH_CTL with CRASH_NOTIFY
    xor eax, eax
    mov edx, 0x80000000
    wrmsr
    hlt`), { extra: 'viridian = [ "base", "crash_ctl" ]' });
    host.run({ ns: 1e6 });
    expect(host.dmesg.join("\n")).toMatch(/guest crash report: 0xdead 0x0 0x0 0x0 0x0/);
    expect(host.findDomain("bsod")).toBeUndefined(); // on_crash = destroy
  });

  it("refuses groups this host does not implement, naming them", () => {
    expect(() => viridianGroups(["base", "stimer"])).toThrow(/"stimer" is not implemented/);
    expect(viridianGroups(["defaults"]).has("crash_ctl")).toBe(true);
  });
});
