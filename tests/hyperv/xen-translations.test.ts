/**
 * One Xen-ABI lab guest (nasm) run on the Xen host as a lab domain and on Longhorn through the
 * Xen adapter: it finds Xen's leaves by scanning CPUID in 0x100 steps (0x40000000 on Xen,
 * 0x40000100 behind Hyper-V's), installs the hypercall page, maps shared_info, then makes the
 * calls the adapter translates — hvm_op (upcall vector, params), vcpu_op (is_up,
 * register_vcpu_info, set_singleshot_timer), VIRQ_TIMER, sched_op block and yield, multicall —
 * reading time from vcpu_time_info (pvclock) as Linux does. Every result it stored must be the
 * same on both hosts (Xen's own handlers are the oracle); the adapter's table must name the
 * Hyper-V operations each became.
 */
import { describe, expect, it } from "vitest";
import { XenHost } from "../../src/xen/host";
import { HypervHost } from "../../src/hyperv";
import { XEN_ERRNO, ETIME } from "../../src/xen/abi";
import { XENSTORE_PFN } from "../../src/xen/builder";
import { nasm } from "./helpers";
import { gfn } from "../../src/machine";

const R = 0x90000;
const r = (i: number) => `${R + 8 * i}`;
const GUEST = `
    mov esi, 0x40000000
scan:
    mov eax, esi
    cpuid
    cmp ebx, 0x566e6558            ; "XenV"
    jne next
    cmp ecx, 0x65584d4d            ; "MMXe"
    jne next
    cmp edx, 0x4d4d566e            ; "nVMM"
    je found
next:
    add esi, 0x100
    cmp esi, 0x40010000
    jb scan
    hlt
found:
    mov [${r(0)}], rsi
    lea eax, [rsi + 2]             ; leaf base+2: EBX = the hypercall MSR
    cpuid
    mov ecx, ebx
    mov eax, 0x1000
    xor edx, edx
    wrmsr
%define HC(n) (0x1000 + (n)*32)
    xor edi, edi                   ; xen_version(XENVER_version)
    call HC(17)
    mov [${r(1)}], rax
    mov edi, 7                     ; memory_op(XENMEM_add_to_physmap, shared_info idx 0 -> gpfn 2)
    lea rsi, [rel xatp]
    call HC(12)
    mov [${r(2)}], rax
    mov edi, 23                    ; hvm_op(HVMOP_set_evtchn_upcall_vector, vcpu 0, 0x40)
    lea rsi, [rel upcall]
    call HC(34)
    mov [${r(3)}], rax
    mov byte [rel upcall + 4], 5   ; a vector below 0x10: -EINVAL
    mov edi, 23
    lea rsi, [rel upcall]
    call HC(34)
    mov [${r(4)}], rax
    xor edi, edi                   ; hvm_op(HVMOP_set_param, CALLBACK_IRQ = 2 << 56 | 0x41)
    lea rsi, [rel param]
    call HC(34)
    mov [${r(5)}], rax
    mov qword [rel param + 8], 0
    mov edi, 1                     ; hvm_op(HVMOP_get_param, CALLBACK_IRQ)
    lea rsi, [rel param]
    call HC(34)
    mov [${r(6)}], rax
    mov rax, [rel param + 8]
    mov [${r(7)}], rax
    mov dword [rel param + 4], 1   ; HVM_PARAM_STORE_PFN: the toolstack's, not the guest's to set
    xor edi, edi
    lea rsi, [rel param]
    call HC(34)
    mov [${r(8)}], rax
    mov edi, 1
    lea rsi, [rel param]
    call HC(34)
    mov [${r(9)}], rax
    mov rax, [rel param + 8]
    mov [${r(10)}], rax
    mov edi, 3                     ; vcpu_op(VCPUOP_is_up, 0)
    xor esi, esi
    call HC(24)
    mov [${r(11)}], rax
    mov edi, 3                     ; vcpu_op(VCPUOP_is_up, 1): no such vCPU
    mov esi, 1
    call HC(24)
    mov [${r(12)}], rax
    mov edi, 10                    ; vcpu_op(VCPUOP_register_vcpu_info, 0, gfn 3 + 0x40)
    xor esi, esi
    lea rdx, [rel vinfo]
    call HC(24)
    mov [${r(13)}], rax
    mov edi, 10                    ; twice: -EINVAL
    xor esi, esi
    lea rdx, [rel vinfo]
    call HC(24)
    mov [${r(14)}], rax
    mov edi, 1                     ; event_channel_op(EVTCHNOP_bind_virq, VIRQ_TIMER, vcpu 0)
    lea rsi, [rel virq]
    call HC(32)
    mov [${r(15)}], rax
    mov eax, [rel virq + 8]
    mov [${r(16)}], rax
    call read_time                 ; now, from the relocated vcpu_info's vcpu_time_info
    mov rbx, rax
    mov [rel t0], rax
    lea rax, [rbx + 200000]        ; 200 µs ahead
    mov [rel sshot], rax
    mov dword [rel sshot + 8], 0
    mov edi, 8                     ; vcpu_op(VCPUOP_set_singleshot_timer, 0)
    xor esi, esi
    lea rdx, [rel sshot]
    call HC(24)
    mov [${r(18)}], rax
    cli
    mov edi, 1                     ; sched_op(SCHEDOP_block) until the timer's event
    xor esi, esi
    call HC(29)
    mov [${r(19)}], rax
    call read_time
    sub rax, [rel sshot]
    mov [${r(20)}], rax            ; woke this many ns after the deadline
    mov ecx, [${r(16)}]
    mov rax, [0x2000 + 2048]       ; shared_info evtchn_pending[0]
    bt rax, rcx
    setc al
    movzx eax, al
    mov [${r(21)}], rax
    movzx eax, byte [0x3040]       ; vcpu_info evtchn_upcall_pending
    mov [${r(22)}], rax
    mov rax, [rel t0]              ; the time before the sleep, now past, with VCPU_SSHOTTMR_future: -ETIME
    mov [rel sshot], rax
    mov dword [rel sshot + 8], 1
    mov edi, 8
    xor esi, esi
    lea rdx, [rel sshot]
    call HC(24)
    mov [${r(17)}], rax
    lea rdi, [rel mc]              ; multicall([xen_version(0)], [vcpu_op(is_up, 0)])
    mov esi, 2
    call HC(13)
    mov [${r(23)}], rax
    mov rax, [rel mc + 8]
    mov [${r(24)}], rax
    mov rax, [rel mc + 64 + 8]
    mov [${r(25)}], rax
    mov edi, 0                     ; sched_op(SCHEDOP_yield)
    xor esi, esi
    call HC(29)
    mov [${r(26)}], rax
    mov qword [${r(27)}], 0x600d
spin:                              ; done: spin (a halt with interrupts off is a poweroff on Xen)
    pause
    jmp spin

; pvclock: ns = system_time + (((tsc - tsc_timestamp) << shift) * mul >> 32), retried on version change
read_time:
    mov rdi, 0x3040 + 32
.retry:
    mov r9d, [rdi]
    rdtsc
    shl rdx, 32
    or rax, rdx
    sub rax, [rdi + 8]
    movsx ecx, byte [rdi + 28]
    test ecx, ecx
    js .neg
    shl rax, cl
    jmp .mul
.neg:
    neg ecx
    shr rax, cl
.mul:
    mov r10d, [rdi + 24]
    mul r10
    shrd rax, rdx, 32
    add rax, [rdi + 16]
    cmp r9d, [rdi]
    jne .retry
    ret

xatp:  dw 0x7ff0, 0                ; xen_add_to_physmap: DOMID_SELF, size
       dd 0                        ; XENMAPSPACE_shared_info
       dq 0, 2                     ; idx, gpfn
upcall: dd 0, 0x40                 ; xen_hvm_evtchn_upcall_vector: vcpu, vector
param: dw 0x7ff0, 0                ; xen_hvm_param: domid, pad
       dd 0                        ; HVM_PARAM_CALLBACK_IRQ
       dq (2 << 56) | 0x41
vinfo: dq 3                        ; vcpu_register_vcpu_info: mfn (a guest frame), offset
       dd 0x40, 0
virq:  dd 0, 0, 0                  ; evtchn_bind_virq: VIRQ_TIMER, vcpu 0, port (out)
t0:    dq 0
sshot: dq 0
       dd 0, 0
mc:    dq 17, 0, 0, 0, 0, 0, 0, 0  ; multicall_entry: op, result, args[6]
       dq 24, 0, 3, 0, 0, 0, 0, 0
`;

function onXen(): bigint[] {
  const host = new XenHost({ pcpus: 1, memoryMiB: 64 });
  // The guest ends in cli; hlt, which Xen treats as a crash: keep the domain to read its memory.
  const d = host.createLabDomain("abi", nasm(GUEST), { extra: `on_crash = "preserve"` });
  let done = false;
  host.run({ until: () => (done = host.machine.p2m(d.domid).lookup(gfn(R >> 12)) !== undefined && d.guest.u64(R + 8 * 27) === 0x600dn), maxInstructions: 5_000_000 });
  if (!done) throw new Error(`the guest did not finish on Xen: ${host.dmesg.slice(-3).join(" | ")}`);
  return Array.from({ length: 28 }, (_, i) => d.guest.u64(R + 8 * i));
}

function onLonghorn() {
  const h = new HypervHost({ lps: 1 });
  const p = h.createChild({ name: "abi", memoryMiB: 16, xenAdapter: true, code: nasm(GUEST) });
  h.run({ until: () => p.memory.u64(R + 8 * 27) === 0x600dn, maxInstructions: 5_000_000 });
  return { h, p, res: Array.from({ length: 28 }, (_, i) => p.memory.u64(R + 8 * i)) };
}

const s64 = (v: bigint) => BigInt.asIntN(64, v);

describe("Xen calls translated by the adapter give the Xen host's results", () => {
  it("hvm_op, vcpu_op, VIRQ_TIMER + set_singleshot_timer + block, multicall, yield: the same answers on both hosts", () => {
    const xen = onXen();
    const { p, res: hv } = onLonghorn();
    expect(xen[27]).toBe(0x600dn);
    expect(hv[27]).toBe(0x600dn);
    // Where Xen's leaves are: the only intended difference.
    expect([xen[0], hv[0]]).toEqual([0x40000000n, 0x40000100n]);
    // Xen's answers, read from its handlers' semantics (hvm.c, domain.c, multicall.c), slot by slot.
    const E = (e: keyof typeof XEN_ERRNO) => BigInt(-XEN_ERRNO[e]);
    const expected: [number, bigint][] = [
      [1, 0x40011n], [2, 0n], [3, 0n], [4, E("EINVAL")], [5, 0n], [6, 0n], [7, (2n << 56n) | 0x41n], [8, E("EPERM")], [9, 0n],
      [10, BigInt(XENSTORE_PFN)], [11, 1n], [12, E("ENOENT")], [13, 0n], [14, E("EINVAL")], [15, 0n], [17, BigInt(-ETIME)], [18, 0n], [19, 0n],
      [21, 1n], [22, 1n], [23, 0n], [24, 0x40011n], [25, 1n], [26, 0n],
    ];
    expect(expected.map(([i]) => [i, s64(xen[i]!)])).toEqual(expected);
    // Same on Longhorn, except the timer port's number (the Xen lab domain has a console port
    // too) and how late the wake-up came; both woke after the deadline, within a few µs.
    const same = (v: bigint[]) => v.map((x, i) => (i === 0 || i === 16 || i === 20 ? 0n : x));
    expect(same(hv)).toEqual(same(xen));
    for (const late of [xen[20]!, hv[20]!]) { expect(s64(late)).toBeGreaterThanOrEqual(0n); expect(s64(late)).toBeLessThan(5000n); }
    expect(hv[16]).toBeGreaterThan(0n);
    // The translation table names what each became on the Hyper-V side.
    const log = p.xenAdapter!.log;
    const became = (xen: string) => log.filter((t) => t.xen === xen).flatMap((t) => t.hyperv).join("; ");
    expect(became("vcpu_op(is_up)")).toMatch(/root: HvGetVpRegisters\(partition \d+, VP 0, ExplicitSuspend\) = 0/);
    expect(became("vcpu_op(set_singleshot_timer)")).toMatch(/HV_X64_MSR_STIMER3_COUNT = \d+ \(reference time\); HV_X64_MSR_STIMER3_CONFIG = enable, one-shot/);
    expect(became("vcpu_op(set_singleshot_timer)")).toContain("HV_X64_MSR_TIME_REF_COUNT (deadline already past)");
    expect(became("hvm_op(set_evtchn_upcall_vector)")).toContain("events raise vector 0x40");
    expect(became("sched_op(yield)")).toContain("HvNotifyLongSpinWait = 0");
    expect(became("multicall(2 entries)")).toBe("xen_version(version) = 262161; vcpu_op(is_up) = 1");
    expect(p.vp(0).stimers[3]!.fired).toBe(1);
    expect(String(p.xenAdapter!.toMimeBundle()["text/plain"])).toContain("vcpu_op");
  });
});
