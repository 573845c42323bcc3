/**
 * `xl save` / `xl restore` keep the HVM context records Xen saves beside the registers: the local
 * APIC (HVM_SAVE_CODE(LAPIC) + LAPIC_REGS: x2APIC mode, the armed timer, the software enable),
 * the PAT (the MTRR record's msr_pat_cr) and the FPU/SSE state (hvm_hw_cpu.fpu_regs). A nasm lab
 * guest arms a one-shot x2APIC timer for 5 ms, sets a PAT and XMM0, and waits in hlt; it is saved
 * after 1 ms and restored: the timer must fire 5 ms after it was armed in the guest's own TSC (virtual
 * time does not pass while saved), its handler's x2APIC EOI must be accepted, and the values it
 * reads back must be the ones it wrote before the save.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { XenHost } from "../../src/xen/host";
import { runXl } from "../../src/xen/xl/xl";
import { IDT_PRELUDE, labCode } from "./helpers";

const OUT = 0x7000;
const PAT = 0x0007040600070106n; // WB WC UC- UC | WB WT UC- UC: only valid memory types

const GUEST = `${IDT_PRELUDE}
    gate 0x40, timer
    mov ecx, 0x1b                ; MSR_APIC_BASE: enable | x2APIC
    rdmsr
    or eax, 0xc00
    wrmsr
    xor edx, edx
    mov ecx, 0x80f               ; SVR: software enable, spurious vector 0xff
    mov eax, 0x1ff
    wrmsr
    mov ecx, 0x832               ; LVTT: one-shot, vector 0x40
    mov eax, 0x40
    wrmsr
    mov ecx, 0x83e               ; TDCR: divide by 1
    mov eax, 0xb
    wrmsr
    mov ecx, 0x277               ; IA32_PAT
    mov eax, ${Number(PAT & 0xffffffffn)}
    mov edx, ${Number(PAT >> 32n)}
    wrmsr
    mov rax, 0x1122334455667788
    movq xmm0, rax
    rdtsc
    mov [${OUT + 40}], eax
    mov [${OUT + 44}], edx
    xor edx, edx
    mov ecx, 0x838               ; TMICT: 500000 bus cycles x 10 ns = 5 ms
    mov eax, 500000
    wrmsr
    sti
  idle:
    hlt
    cmp dword [${OUT + 4}], 0
    je idle
    mov ecx, 0x1b
    rdmsr
    mov [${OUT + 8}], eax
    mov ecx, 0x277
    rdmsr
    mov [${OUT + 12}], eax
    mov [${OUT + 16}], edx
    movq rax, xmm0
    mov [${OUT + 24}], rax
    cli
    hlt
  timer:
    rdtsc
    mov [${OUT + 32}], eax
    mov [${OUT + 36}], edx
    mov dword [${OUT + 4}], 1
    mov ecx, 0x80b               ; x2APIC EOI (#GP if the APIC were back in xAPIC mode)
    xor eax, eax
    xor edx, edx
    wrmsr
    iretq
`;

describe("save/restore of HVM context: local APIC, PAT, FPU", () => {
  it("a guest saved with an x2APIC one-shot timer armed takes the interrupt after restore, 5 ms after arming in its TSC, with its PAT and XMM0 intact", () => {
    const host = new XenHost({ pcpus: 1, memoryMiB: 64, cpuMHz: 1000 });
    host.createLabDomain("timer", labCode(GUEST), { extra: `on_crash = "preserve"\non_poweroff = "preserve"` });
    host.run({ ns: 1e6 });
    const before = host.domain("timer");
    expect(before.guest.u32(OUT + 4)).toBe(0); // not fired yet
    const file = join(mkdtempSync(join(tmpdir(), "xenlab-hvmctx-")), "timer.chk");
    expect(runXl(host, ["save", "timer", file]).exitCode).toBe(0);
    const r = runXl(host, ["restore", file]);
    expect(r.exitCode).toBe(0);
    const d = r.domain!;
    host.run({ ns: 10e6 });
    expect(d.crashReason).toBeUndefined();
    expect(d.guest.u32(OUT + 4)).toBe(1);
    const armed = Number(d.guest.u64(OUT + 40)), fired = Number(d.guest.u64(OUT + 32));
    // 5 ms at 1000 MHz = 5e6 TSC ticks, give or take the instructions around the arming.
    expect(Math.abs(fired - armed - 5e6)).toBeLessThan(5000);
    expect(d.guest.u32(OUT + 8) & 0xc00).toBe(0xc00); // enabled, x2APIC
    expect(d.guest.u64(OUT + 12)).toBe(PAT);
    expect(d.guest.u64(OUT + 24)).toBe(0x1122334455667788n);
    expect(d.shutdownReason).toBe("poweroff");
  });
});
