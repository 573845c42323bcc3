/**
 * VCPUOP_set_singleshot_timer with VCPU_SSHOTTMR_future (xen/common/domain.c: -ETIME when
 * timeout_abs_ns < NOW()): "now" is the calling vCPU's own time at the hypercall, the time its
 * TSC and vcpu_time_info show it, not the start of the scheduler quantum it is running in. A lab
 * guest spins well into its quantum first, then asks for deadlines 1 µs behind and 50 µs ahead of
 * the time it reads from its TSC (at 1000 MHz, TSC ticks are the ns of Xen's system time).
 */
import { describe, expect, it } from "vitest";
import { XenHost } from "../../src/xen/host";
import { labCode } from "./helpers";

const OUT = 0x7000;
/** rax = the vCPU's time in ns (rdtsc at 1000 MHz), then set_singleshot_timer(rax + delta, flags) → [OUT + slot]. */
const call = (delta: number, flags: number, slot: number) => `
    rdtsc
    shl rdx, 32
    or rax, rdx
    add rax, ${delta}
    mov [${OUT + 0x100}], rax      ; vcpu_set_singleshot_timer.timeout_abs_ns
    mov dword [${OUT + 0x108}], ${flags}
    mov edi, 8                     ; VCPUOP_set_singleshot_timer
    xor esi, esi                   ; this vCPU
    mov edx, ${OUT + 0x100}
    call HC(24)                    ; HYPERVISOR_vcpu_op
    mov [${OUT + slot}], rax`;

describe("VCPUOP_set_singleshot_timer's -ETIME", () => {
  it("compares the deadline with the calling vCPU's own time, mid-quantum", () => {
    const host = new XenHost({ pcpus: 1, memoryMiB: 64, cpuMHz: 1000 });
    expect(host.tscAt(123_456)).toBe(123_456); // TSC ticks are ns at 1000 MHz
    const d = host.createLabDomain("sshot", labCode(`
    mov ecx, 40000                 ; ~40 µs into the 100 µs quantum
  spin:
    dec ecx
    jnz spin
${call(-1000, 1, 0)}
${call(50_000, 1, 8)}
${call(-1000, 0, 16)}
    cli
    hlt`), { extra: `on_poweroff = "preserve"` });
    host.run({ ns: 1e6 });
    expect(d.crashReason).toBeUndefined();
    expect(Number(BigInt.asIntN(64, d.guest.u64(OUT)))).toBe(-62); // -ETIME: 1 µs in the past
    expect(d.guest.u64(OUT + 8)).toBe(0n); // 50 µs ahead: armed
    expect(d.guest.u64(OUT + 16)).toBe(0n); // past without VCPU_SSHOTTMR_future: fires at once
  });
});
