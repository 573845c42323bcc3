/**
 * The local APIC a PVH/HVM domain gets (src/platform/lapic.ts, modelled on Xen's vlapic.c), driven
 * by nasm lab guests the way a kernel drives it: through the xAPIC window at 0xfee00000 and the
 * x2APIC MSRs, with an IDT whose handlers EOI. Register offsets and bits are the SDM's (vol. 3
 * ch. 11) and Linux's apicdef.h; reset values and the timer's 10 ns bus cycle are Xen's.
 */
import { describe, expect, it } from "vitest";
import { XenHost } from "../../src/xen/host";
import { IDT_PRELUDE, labCode } from "./helpers";

const APIC = 0xfee00000;
/** The IDT scaffold with the xAPIC window in RBP. */
const PRELUDE = `
  %define APIC ${APIC}
${IDT_PRELUDE}
    mov rbp, APIC                ; the xAPIC window (a disp32 of 0xfee00000 would sign-extend)
`;
const OUT = 0x7000; // results the guest writes for the test to read

function run(src: string, opts: { vcpus?: number } = {}) {
  const host = new XenHost({ pcpus: 2, memoryMiB: 64, cpuMHz: 1000 });
  const d = host.createLabDomain("apic", labCode(PRELUDE + src), { vcpus: opts.vcpus ?? 1, allVcpusUp: (opts.vcpus ?? 1) > 1, extra: `on_crash = "preserve"\non_poweroff = "preserve"` });
  host.run({ ns: 50e6, maxInstructions: 5_000_000 });
  return { host, d, u32: (o: number) => d.guest.u32(OUT + o), u64: (o: number) => Number(d.guest.u64(OUT + o)) };
}

describe("the local APIC through its xAPIC window", () => {
  it("resets as Xen's vlapic_reset: enabled at 0xfee00000 with BSP set, ID 0, version 0x50014, SVR 0xff, every LVT masked", () => {
    const { u32, d } = run(`
    mov ecx, 0x1b                 ; MSR_APIC_BASE
    rdmsr
    mov [${OUT}], eax
    mov eax, [rbp + 0x20]     ; ID
    mov [${OUT} + 4], eax
    mov eax, [rbp + 0x30]     ; LVR
    mov [${OUT} + 8], eax
    mov eax, [rbp + 0xf0]     ; SVR
    mov [${OUT} + 12], eax
    mov eax, [rbp + 0x320]    ; LVTT
    mov [${OUT} + 16], eax
    mov eax, [rbp + 0x370]    ; LVTERR
    mov [${OUT} + 20], eax
    mov eax, [rbp + 0xe0]     ; DFR
    mov [${OUT} + 24], eax
    mov dword [rbp + 0x320], 0x40   ; unmasking while software-disabled: stays masked
    mov eax, [rbp + 0x320]
    mov [${OUT} + 28], eax
    movzx eax, byte [rbp + 0x32]    ; a byte read inside LVR: its third byte (max LVT 5)
    mov [${OUT} + 32], eax
    cli
    hlt`);
    expect(d.crashReason).toBeUndefined();
    expect(u32(0)).toBe(0xfee00000 + 0x800 + 0x100); // base | ENABLE | BSP
    expect(u32(4)).toBe(0);
    expect(u32(8)).toBe(0x00050014);
    expect(u32(12)).toBe(0xff);
    expect(u32(16)).toBe(0x10000);
    expect(u32(20)).toBe(0x10000);
    expect(u32(24)).toBe(0xffffffff);
    expect(u32(28)).toBe(0x10040);
    expect(u32(32)).toBe(5);
  });

  it("one-shot timer: TMCCT counts down in 10 ns bus cycles through the divider, the vector arrives after TMICT cycles, in service until EOI", () => {
    const { u32, u64, d } = run(`
    gate 0xec, timer
    mov dword [rbp + 0xf0], 0x1ff   ; SVR: software-enable, spurious vector 0xff
    mov dword [rbp + 0x3e0], 0xb    ; TDCR: divide by 1
    mov dword [rbp + 0x320], 0xec   ; LVTT: one-shot, vector 0xec
    rdtsc
    shl rdx, 32
    or rax, rdx
    mov [${OUT} + 0x20], rax            ; TSC at arming
    mov dword [rbp + 0x380], 100000 ; TMICT: 100000 cycles = 1 ms
    mov eax, [rbp + 0x390]          ; TMCCT just after
    mov [${OUT}], eax
  idle:
    sti
    hlt
    cmp dword [${OUT} + 4], 0
    je idle
    cli
    mov eax, [rbp + 0x170]          ; ISR word 7 (vectors 0xe0-0xff) after the EOI
    mov [${OUT} + 12], eax
    mov eax, [rbp + 0x390]          ; TMCCT after expiry: 0
    mov [${OUT} + 16], eax
    hlt
  timer:
    inc dword [${OUT} + 4]
    push rax
    push rdx
    rdtsc
    shl rdx, 32
    or rax, rdx
    mov [${OUT} + 0x28], rax
    mov eax, [rbp + 0x170]          ; ISR: bit 12 (0xec) in service
    mov [${OUT} + 8], eax
    mov dword [rbp + 0xb0], 0       ; EOI
    pop rdx
    pop rax
    iretq`);
    expect(d.crashReason).toBeUndefined();
    // Read one instruction after the write: at most a few cycles down from 100000.
    expect(u32(0)).toBeGreaterThan(99_000);
    expect(u32(0)).toBeLessThanOrEqual(100_000);
    expect(u32(4)).toBe(1);
    expect(u32(8)).toBe(1 << (0xec - 0xe0));
    expect(u32(12)).toBe(0);
    expect(u32(16)).toBe(0);
    // 1 ms at the 1000 MHz TSC is 1e6 ticks; the guest halts, so virtual time jumps to the deadline.
    const ticks = u64(0x28) - u64(0x20);
    expect(ticks).toBeGreaterThanOrEqual(1_000_000);
    expect(ticks).toBeLessThan(1_010_000);
  });

  it("periodic timer: ticks every TMICT × divider × 10 ns; masking LVTT stops the interrupts", () => {
    const { u32, u64, d } = run(`
    gate 0xec, timer
    mov dword [rbp + 0xf0], 0x1ff
    mov dword [rbp + 0x3e0], 0x0    ; divide by 2
    mov dword [rbp + 0x320], 0x200ec ; periodic
    mov dword [rbp + 0x380], 25000  ; 25000 × 2 × 10 ns = 0.5 ms
  idle:
    sti
    hlt
    cmp dword [${OUT}], 4
    jb idle
    mov dword [rbp + 0x320], 0x300ec ; masked
    mov ecx, 200000
  spin:
    loop spin                           ; 200000 instructions = 0.2 ms... twice
    mov ecx, 600000
  spin2:
    loop spin2
    mov eax, [${OUT}]
    mov [${OUT} + 4], eax
    cli
    hlt
  timer:
    push rax
    push rdx
    push rcx
    mov ecx, [${OUT}]
    rdtsc
    shl rdx, 32
    or rax, rdx
    mov [${OUT} + 0x20 + rcx*8], rax
    inc dword [${OUT}]
    mov dword [rbp + 0xb0], 0
    pop rcx
    pop rdx
    pop rax
    iretq`);
    expect(d.crashReason).toBeUndefined();
    expect(u32(4)).toBe(4); // nothing after the mask
    const gaps = [1, 2, 3].map((i) => u64(0x20 + i * 8) - u64(0x20 + (i - 1) * 8));
    for (const g of gaps) { expect(g).toBeGreaterThanOrEqual(499_000); expect(g).toBeLessThan(501_000); }
  });

  it("priority: with IF=0 two self-IPIs pend; the higher vector is taken first, TPR holds back a class until it is lowered", () => {
    const { u32, d } = run(`
    gate 0x41, low
    gate 0xe1, high
    mov dword [rbp + 0xf0], 0x1ff
    cli
    mov dword [rbp + 0x300], 0x40041 ; ICR: self (shorthand 01), fixed, vector 0x41
    mov dword [rbp + 0x300], 0x400e1 ; vector 0xe1
    mov eax, [rbp + 0x200 + 0x20]    ; IRR word 2 (0x40-0x5f): 0x41 pending
    mov [${OUT} + 0x10], eax
    mov dword [rbp + 0x80], 0x50     ; TPR class 5: 0x41 held back, 0xe1 not
    sti
    nop
    nop
    mov eax, [${OUT} + 8]                ; how many handlers ran with TPR 0x50
    mov [${OUT} + 0x14], eax
    mov eax, [rbp + 0xa0]            ; PPR = TPR while nothing is in service
    mov [${OUT} + 0x18], eax
    mov dword [rbp + 0x80], 0        ; lowered: 0x41 arrives
    nop
    nop
    cli
    hlt
  low:
    mov ecx, [${OUT} + 8]
    mov byte [${OUT} + rcx], 0x41
    inc dword [${OUT} + 8]
    mov dword [rbp + 0xb0], 0
    iretq
  high:
    mov ecx, [${OUT} + 8]
    mov byte [${OUT} + rcx], 0xe1
    inc dword [${OUT} + 8]
    mov dword [rbp + 0xb0], 0
    iretq`);
    expect(d.crashReason).toBeUndefined();
    expect(u32(0x10)).toBe(1 << 1);
    expect(u32(0x14)).toBe(1);
    expect(u32(0x18)).toBe(0x50);
    expect(u32(8)).toBe(2);
    expect([d.guest.u8(OUT), d.guest.u8(OUT + 1)]).toEqual([0xe1, 0x41]);
  });

  it("a fixed IPI by physical APIC ID reaches the other vCPU (ID 2, Xen's 2 × vcpu_id) and wakes it from hlt", () => {
    const { u32, d } = run(`
    gate 0x51, ipi
    mov dword [rbp + 0xf0], 0x1ff
    test rbx, rbx                        ; RBX = vCPU id
    jnz ap
    mov eax, [rbp + 0x20]
    mov [${OUT} + 0x10], eax
  waitap:
    pause
    cmp dword [${OUT} + 4], 1            ; the AP is ready
    jne waitap
    mov dword [rbp + 0x310], 2 << 24 ; ICR2: destination APIC ID 2
    mov dword [rbp + 0x300], 0x51    ; ICR: fixed, physical, no shorthand, vector 0x51
    cli
    hlt
  ap:
    mov eax, [rbp + 0x20]
    mov [${OUT} + 0x14], eax
    mov dword [${OUT} + 4], 1
    sti
    hlt
    cli
    hlt
  ipi:
    inc dword [${OUT}]
    mov dword [rbp + 0xb0], 0
    iretq`, { vcpus: 2 });
    expect(d.crashReason).toBeUndefined();
    expect(u32(0x10)).toBe(0);
    expect(u32(0x14)).toBe(2 << 24);
    expect(u32(0)).toBe(1);
    expect(d.vcpus[1]!.cpu!.getReg("rbx")).toBe(1n);
  });
});

describe("the local APIC in x2APIC mode", () => {
  it("MSR_APIC_BASE.EXTD switches to MSRs: full ID and derived LDR, write-only and reserved accesses #GP, the xAPIC window reads all ones; TSC-deadline and self-IPI interrupt", () => {
    const { u32, u64, d } = run(`
    gate 13, gp
    gate 0xec, timer
    gate 0xed, self
    mov ecx, 0x1b
    rdmsr
    or eax, 1 << 10                      ; EXTD
    wrmsr
    mov ecx, 0x802                       ; ID
    rdmsr
    mov [${OUT}], eax
    mov ecx, 0x80d                       ; LDR
    rdmsr
    mov [${OUT} + 4], eax
    mov eax, [rbp + 0x30]            ; the xAPIC window is gone
    mov [${OUT} + 8], eax
    mov ecx, 0x80b                       ; EOI is write-only: #GP
    rdmsr
    mov ecx, 0x80f                       ; SVR: enable
    mov eax, 0x1ff
    xor edx, edx
    wrmsr
    mov ecx, 0x832                       ; LVTT: TSC-deadline mode, vector 0xec
    mov eax, 0x400ec
    wrmsr
    rdtsc
    shl rdx, 32
    or rax, rdx
    mov [${OUT} + 0x20], rax
    add rax, 300000
    mov rdx, rax
    shr rdx, 32
    mov ecx, 0x6e0                       ; IA32_TSC_DEADLINE
    wrmsr
  idle:
    sti
    hlt
    cmp dword [${OUT} + 0x10], 0
    je idle
    mov ecx, 0x83f                       ; SELF_IPI vector 0xed
    mov eax, 0xed
    xor edx, edx
    wrmsr
    nop
    mov ecx, 0x83f                       ; a reserved bit: #GP
    mov eax, 0x1ed
    wrmsr
    cli
    hlt
  timer:
    push rax
    push rdx
    push rcx
    rdtsc
    shl rdx, 32
    or rax, rdx
    mov [${OUT} + 0x28], rax
    inc dword [${OUT} + 0x10]
    mov ecx, 0x80b
    xor eax, eax
    xor edx, edx
    wrmsr
    pop rcx
    pop rdx
    pop rax
    iretq
  self:
    inc dword [${OUT} + 0x14]
    push rcx
    push rax
    push rdx
    mov ecx, 0x80b
    xor eax, eax
    xor edx, edx
    wrmsr
    pop rdx
    pop rax
    pop rcx
    iretq
  gp:
    inc dword [${OUT} + 0x18]
    add qword [rsp + 8], 2               ; skip the 2-byte rdmsr/wrmsr (error code at [rsp])
    add rsp, 8
    iretq`);
    expect(d.crashReason).toBeUndefined();
    expect(u32(0)).toBe(0);
    expect(u32(4)).toBe(1); // cluster 0, bit (id & 15)
    expect(u32(8)).toBe(0xffffffff);
    expect(u32(0x10)).toBe(1);
    expect(u32(0x14)).toBe(1);
    expect(u32(0x18)).toBe(2);
    const ticks = u64(0x28) - u64(0x20);
    expect(ticks).toBeGreaterThanOrEqual(300_000);
    expect(ticks).toBeLessThan(310_000);
  });
});

describe("the per-vCPU event upcall vector (HVMOP_set_evtchn_upcall_vector) through the local APIC", () => {
  it("an event sets the vector in IRR as hvm_assert_evtchn_irq does; it stays in service until an EOI, and a second event waits for that EOI", () => {
    const { u32, d } = run(`
    gate 0x40, upcall
    mov r15, rsi                         ; shared_info (lab layout)
    mov dword [rbp + 0xf0], 0x1ff        ; SVR: enabled
    mov dword [0x7100], 0                ; xen_hvm_evtchn_upcall_vector {vcpu 0, vector 0x40}
    mov byte [0x7104], 0x40
    mov edi, 23
    mov esi, 0x7100
    call HC(34)
    mov [${OUT} + 0x10], eax
    mov dword [0x7200], 0                ; EVTCHNOP_bind_ipi {vcpu 0} -> port
    mov edi, 7
    mov esi, 0x7200
    call HC(32)
    mov eax, [0x7204]
    mov [0x7300], eax
    mov edi, 4                           ; EVTCHNOP_send(port)
    mov esi, 0x7300
    call HC(32)                          ; IF=0 (reset): pending in IRR, not yet delivered
    mov eax, [rbp + 0x200 + 0x20]        ; IRR word 2: bit 0 = vector 0x40
    mov [${OUT} + 0x14], eax
    sti
    nop                                  ; the first upcall runs here; it sends again but does not EOI
    nop
    mov eax, [${OUT}]                    ; the second waits: 0x40 is still in service
    mov [${OUT} + 8], eax
    mov dword [rbp + 0xb0], 0            ; EOI from outside the handler
    nop
    nop
    cli
    mov eax, [rbp + 0x100 + 0x20]        ; ISR after the second handler's EOI
    mov [${OUT} + 0x18], eax
    hlt
  upcall:
    push rax
    push rdi
    push rsi
    mov byte [r15], 0                    ; evtchn_upcall_pending = 0
    mov qword [r15 + 8], 0               ; evtchn_pending_sel
    mov qword [r15 + 2048], 0            ; evtchn_pending[0..63]
    inc dword [${OUT}]
    mov eax, [rbp + 0x100 + 0x20]        ; ISR word 2 while handling
    mov [${OUT} + 4], eax
    cmp dword [${OUT}], 1
    jne .eoi
    mov edi, 4                           ; a second event while 0x40 is in service
    mov esi, 0x7300
    call HC(32)
    jmp .out                             ; no EOI: the vector stays in service
  .eoi:
    mov dword [rbp + 0xb0], 0
  .out:
    pop rsi
    pop rdi
    pop rax
    iretq`);
    expect(d.crashReason).toBeUndefined();
    expect(u32(0x10)).toBe(0);
    expect(u32(0x14)).toBe(1);
    expect(u32(4)).toBe(1); // in service in the handler
    expect(u32(8)).toBe(1); // with IF=1 the second event waited for the EOI (same priority class in service)
    expect(u32(0)).toBe(2); // ...and was delivered right after it
    expect(u32(0x18)).toBe(0);
  });
});
