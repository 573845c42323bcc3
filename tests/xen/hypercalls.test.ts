/**
 * The hypercall ABI from a lab guest: number in RAX, arguments in RDI RSI RDX R10 R8, result in
 * RAX as a negative Xen errno on failure; struct fields at the libxen-dev offsets.
 */
import { vcpuId } from "../../src/platform";
import { grantRef, port } from "../../src/xen/types";
import { domId, gfn } from "../../src/machine";
import { describe, expect, it } from "vitest";
import { XenHost } from "../../src/xen/host";
import { HYPERVISOR, XEN_ERRNO, GNTST, GTF_permit_access } from "../../src/xen/abi";
import { labCode } from "./helpers";

/** Runs a snippet that stores results at `out` (qwords) and ends with cli; hlt. */
function run(src: string, opts: { host?: XenHost; name?: string } = {}) {
  const host = opts.host ?? new XenHost({ pcpus: 1, memoryMiB: 256 });
  const d = host.createLabDomain(opts.name ?? "t", labCode(`${src}\n cli\n hlt\n align 8\n out: times 64 dq 0\n buf: times 512 db 0`), { extra: 'on_poweroff = "preserve"' });
  host.run({ ns: 2e6 });
  const outOff = findOut(d.kernelImage!);
  const q = (i: number) => BigInt.asIntN(64, d.guest.u64(0x100000 + outOff + i * 8));
  return { host, d, q, buf: (n: number) => d.guest.read(0x100000 + outOff + 512, n) };
}

// `out` follows `cli; hlt` and alignment: locate the 0xfa 0xf4 and align up.
function findOut(code: Uint8Array): number {
  for (let i = code.length - 512 - 512; i >= 0; i--) if (code[i] === 0xfa && code[i + 1] === 0xf4) return (i + 2 + 7) & ~7;
  throw new Error("no cli;hlt");
}

describe("hypercall ABI", () => {
  it("unknown or unimplemented hypercalls return -ENOSYS; a bad pointer gives -EFAULT", () => {
    const { q } = run(`
      mov eax, 41            ; dm_op: not for this guest
      vmcall
      mov [rel out], rax
      mov edi, 2             ; sched_op(SCHEDOP_shutdown, bad pointer)
      mov rsi, 0x7ffff0000000
      call HC(29)
      mov [rel out + 8], rax
      mov edi, 99            ; xen_version(99)
      call HC(17)
      mov [rel out + 16], rax`);
    expect(q(0)).toBe(BigInt(-XEN_ERRNO.ENOSYS));
    expect(q(1)).toBe(BigInt(-XEN_ERRNO.EFAULT));
    expect(q(2)).toBe(BigInt(-XEN_ERRNO.ENOSYS));
  });

  it("xen_version: version, extraversion, capabilities, get_features, pagesize", () => {
    const { q, buf } = run(`
      xor edi, edi
      call HC(17)
      mov [rel out], rax
      mov edi, 1
      lea rsi, [rel buf]
      call HC(17)
      mov edi, 7
      call HC(17)
      mov [rel out + 8], rax
      mov edi, 6
      lea rsi, [rel out + 16]
      call HC(17)`);
    expect(q(0)).toBe(BigInt((4 << 16) | 17));
    expect(Buffer.from(buf(16)).toString("latin1").replace(/\0.*$/s, "")).toBe(".0-xenlab");
    expect(q(1)).toBe(4096n);
    const feat = Number(q(2) >> 32n);
    expect(feat & (1 << 2)).not.toBe(0); // auto_translated_physmap
    expect(feat & (1 << 8)).not.toBe(0); // hvm_callback_vector
  });

  it("memory_op: current/maximum reservation, maximum_gpfn; hvm_op refuses guest writes to STORE_PFN", () => {
    const { q, d } = run(`
      mov word [rel buf], 0x7ff0
      mov edi, 3
      lea rsi, [rel buf]
      call HC(12)
      mov [rel out], rax
      mov edi, 4
      lea rsi, [rel buf]
      call HC(12)
      mov [rel out + 8], rax
      ; xen_hvm_param {domid=SELF, index=STORE_PFN, value=5}: set → -EPERM, get → the pfn
      mov word [rel buf], 0x7ff0
      mov dword [rel buf + 4], 1
      mov qword [rel buf + 8], 5
      xor edi, edi
      lea rsi, [rel buf]
      call HC(34)
      mov [rel out + 16], rax
      mov edi, 1
      lea rsi, [rel buf]
      call HC(34)
      mov rax, [rel buf + 8]
      mov [rel out + 24], rax`);
    expect(Number(q(0))).toBe(d.totPages);
    // max_pages: maxmem plus the LIBXL_MAXMEM_CONSTANT (1024 KiB) libxl adds when it sets it.
    expect(Number(q(1))).toBe(16 * 256 + 1024 / 4);
    expect(q(2)).toBe(BigInt(-XEN_ERRNO.EPERM));
    expect(q(3)).toBe(0xfeffcn);
  });

  it("event channels: alloc_unbound, status, bind_ipi + send sets pending in shared_info, close", () => {
    const { q, d } = run(`
      ; alloc_unbound {dom=SELF, remote_dom=0}
      mov word [rel buf], 0x7ff0
      mov word [rel buf + 2], 0
      mov edi, 6
      lea rsi, [rel buf]
      call HC(32)
      mov eax, [rel buf + 4]
      mov [rel out], rax
      ; status {dom=SELF, port}
      mov word [rel buf + 16], 0x7ff0
      mov eax, [rel out]
      mov [rel buf + 20], eax
      mov edi, 5
      lea rsi, [rel buf + 16]
      call HC(32)
      mov eax, [rel buf + 24]
      mov [rel out + 8], rax
      ; bind_ipi {vcpu=0} then send
      mov dword [rel buf + 48], 0
      mov edi, 7
      lea rsi, [rel buf + 48]
      call HC(32)
      mov eax, [rel buf + 52]
      mov [rel out + 16], rax
      mov [rel buf + 64], eax
      mov edi, 4
      lea rsi, [rel buf + 64]
      call HC(32)
      mov [rel out + 24], rax
      ; close the unbound port, then status says closed
      mov eax, [rel out]
      mov [rel buf + 80], eax
      mov edi, 3
      lea rsi, [rel buf + 80]
      call HC(32)
      mov edi, 5
      lea rsi, [rel buf + 16]
      call HC(32)
      mov eax, [rel buf + 24]
      mov [rel out + 32], rax
      ; send on a port that is not open: -EINVAL
      mov dword [rel buf + 64], 4000
      mov edi, 4
      lea rsi, [rel buf + 64]
      call HC(32)
      mov [rel out + 40], rax`);
    const unbound = Number(q(0)), ipi = port(Number(q(2)));
    expect(unbound).toBeGreaterThan(2); // 1 and 2 are xenstore and console
    expect(q(1)).toBe(1n); // EVTCHNSTAT_unbound
    expect(q(3)).toBe(0n);
    expect(d.sharedInfo.testPending(ipi)).toBe(true);
    expect(d.sharedInfo.upcallPending(vcpuId(0))).toBe(1);
    expect(q(4)).toBe(0n); // EVTCHNSTAT_closed
    expect(q(5)).toBe(BigInt(-XEN_ERRNO.EINVAL));
  });

  it("multicall runs each entry and writes its result", () => {
    const { q, d } = run(`
      ; entry 0: xen_version(0); entry 1: hypercall 41 (ENOSYS)
      mov qword [rel buf], 17
      mov qword [rel buf + 16], 0
      mov qword [rel buf + 64], 41
      lea rdi, [rel buf]
      mov esi, 2
      call HC(13)
      mov [rel out], rax
      mov rax, [rel buf + 8]
      mov [rel out + 8], rax
      mov rax, [rel buf + 72]
      mov [rel out + 16], rax`);
    expect(q(0)).toBe(0n);
    expect(q(1)).toBe(BigInt((4 << 16) | 17));
    expect(q(2)).toBe(BigInt(-XEN_ERRNO.ENOSYS));
    expect(d.hypercalls.get(HYPERVISOR.multicall)).toBe(1);
    expect(d.hypercalls.get(HYPERVISOR.xen_version)).toBe(1);
  });

  it("grant copy and query_size between two domains; copies are refused without a grant", () => {
    const host = new XenHost({ pcpus: 1, memoryMiB: 256 });
    // dom 1 grants its page 0x200 to dom 2 (written from outside, as a granter would).
    const g = host.createLabDomain("granter", labCode("sti\n l: hlt\n jmp l"));
    g.guest.write(0x200000, Buffer.from("copied through a grant"));
    g.gnttab.setEntry(grantRef(8), domId(2), gfn(0x200), GTF_permit_access);
    const { q, buf } = run(`
      ; gnttab_copy {source{u=ref 8, domid 1, offset 0}, dest{u=gmfn of buf, SELF, offset}, len 22, flags=source_gref}
      mov qword [rel out + 64], 8
      mov word [rel out + 72], 1
      mov word [rel out + 74], 0
      lea rax, [rel buf]
      mov rcx, rax
      shr rax, 12
      mov [rel out + 80], rax
      mov word [rel out + 88], 0x7ff0
      and ecx, 0xfff
      mov [rel out + 90], cx
      mov word [rel out + 96], 22
      mov word [rel out + 98], 1
      mov edi, 5
      lea rsi, [rel out + 64]
      mov edx, 1
      call HC(20)
      mov [rel out], rax
      movsx rax, word [rel out + 100]
      mov [rel out + 8], rax
      ; same copy from ref 9 (not granted): permission denied
      mov qword [rel out + 64], 9
      mov edi, 5
      lea rsi, [rel out + 64]
      mov edx, 1
      call HC(20)
      movsx rax, word [rel out + 100]
      mov [rel out + 16], rax
      ; query_size {dom=1}
      mov word [rel out + 112], 1
      mov edi, 6
      lea rsi, [rel out + 112]
      mov edx, 1
      call HC(20)
      mov eax, [rel out + 116]
      mov [rel out + 24], rax
      mov eax, [rel out + 120]
      mov [rel out + 32], rax`, { host, name: "copier" });
    expect(q(0)).toBe(0n);
    expect(q(1)).toBe(BigInt(GNTST.okay));
    expect(Buffer.from(buf(22)).toString()).toBe("copied through a grant");
    expect(q(2)).toBe(BigInt(GNTST.permission_denied));
    expect(q(3)).toBe(1n);
    expect(q(4)).toBe(64n);
  });

  it("domctl/sysctl: a control domain reads getdomaininfo, pauses a domain, sets credit params; others get -EPERM", () => {
    const host = new XenHost({ pcpus: 2, memoryMiB: 256 });
    const victim = host.createLabDomain("victim", labCode("l: jmp l"));
    const call = (extra: string) => `
      ; xen_domctl {cmd, interface_version 0x15, domain, u}
      mov dword [rel buf], 5            ; getdomaininfo
      mov dword [rel buf + 4], 0x15
      mov word [rel buf + 8], 1
      mov edi, 0
      lea rdi, [rel buf]
      call HC(36)
      mov [rel out], rax
      mov eax, [rel buf + 16 + 4]       ; flags
      mov [rel out + 8], rax
      mov rax, [rel buf + 16 + 8]       ; tot_pages
      mov [rel out + 16], rax
      mov dword [rel buf], 3            ; pausedomain(1)
      lea rdi, [rel buf]
      call HC(36)
      mov [rel out + 24], rax
      mov dword [rel buf], 16           ; scheduler_op putinfo credit weight 512 cap 20
      mov dword [rel buf + 16], 5
      mov dword [rel buf + 20], 0
      mov word [rel buf + 24], 512
      mov word [rel buf + 26], 20
      lea rdi, [rel buf]
      call HC(36)
      mov [rel out + 32], rax
      mov dword [rel buf + 4], 0x12     ; stale interface version
      lea rdi, [rel buf]
      call HC(36)
      mov [rel out + 40], rax
      ; sysctl physinfo {cmd 3, version 0x15}
      mov dword [rel buf + 256], 3
      mov dword [rel buf + 260], 0x15
      lea rdi, [rel buf + 256]
      call HC(35)
      mov [rel out + 48], rax
      mov eax, [rel buf + 256 + 8 + 8]  ; nr_cpus
      mov [rel out + 56], rax
      ${extra}`;
    host.run({ ns: 1e6 });
    const flagsBefore = victim.vcpus[0]!.runstate;
    expect(flagsBefore).toBe("running");
    const { q } = run(call(""), { host, name: "ctl" });
    const ctl = host.domain("ctl");
    expect(ctl.hypercalls.get(HYPERVISOR.domctl)).toBeGreaterThan(0);
    // unprivileged: everything -EPERM
    expect(q(0)).toBe(BigInt(-XEN_ERRNO.EPERM));
    expect(q(6)).toBe(BigInt(-XEN_ERRNO.EPERM));
    expect(victim.paused).toBe(false);

    const host2 = new XenHost({ pcpus: 2, memoryMiB: 256 });
    const v2 = host2.createLabDomain("victim", labCode("l: jmp l"));
    host2.run({ ns: 1e6 });
    const d = host2.createLabDomain("ctl", labCode(`${call("")}\n cli\n hlt\n align 8\n out: times 64 dq 0\n buf: times 512 db 0`), { privileged: true, extra: 'on_poweroff = "preserve"' });
    host2.run({ ns: 1e6 });
    const code = d.kernelImage!;
    let outOff = 0;
    for (let i = code.length - 1024; i >= 0; i--) if (code[i] === 0xfa && code[i + 1] === 0xf4) { outOff = (i + 2 + 7) & ~7; break; }
    const r = (i: number) => BigInt.asIntN(64, d.guest.u64(0x100000 + outOff + i * 8));
    expect(r(0)).toBe(0n);
    expect(Number(r(1)) & ((1 << 1) | (1 << 5))).toBe((1 << 1) | (1 << 5)); // hvm_guest | running at the time
    expect(Number(r(2))).toBe(v2.totPages);
    expect(r(3)).toBe(0n);
    expect(v2.paused).toBe(true);
    expect(r(4)).toBe(0n);
    expect(v2.config.cpuWeight).toBe(512);
    expect(v2.config.cap).toBe(20);
    expect(r(5)).toBe(BigInt(-XEN_ERRNO.EACCES));
    expect(r(6)).toBe(0n);
    expect(r(7)).toBe(2n);
  });

  it("VCPUOP_register_runstate_memory_area: Xen keeps vcpu_runstate_info current at that address across a block and wake; vm_assist takes only runstate_update_flag", () => {
    const { q, d, host } = run(`
      mov edi, 0             ; vm_assist(VMASST_CMD_enable, VMASST_TYPE_runstate_update_flag)
      mov esi, 5
      call HC(21)
      mov [rel out], rax
      mov edi, 0             ; vm_assist(enable, VMASST_TYPE_4gb_segments): not for HVM
      mov esi, 0
      call HC(21)
      mov [rel out + 8], rax
      mov qword [rel buf], 0x300000
      mov edi, 5             ; VCPUOP_register_runstate_memory_area(vcpu 0, {addr = 0x300000})
      xor esi, esi
      lea rdx, [rel buf]
      call HC(24)
      mov [rel out + 16], rax
      mov eax, [0x300000]    ; state right after registering: running
      mov [rel out + 24], rax
      mov dword [rel buf + 64], 0   ; EVTCHNOP_bind_virq {VIRQ_TIMER, vcpu 0}
      mov dword [rel buf + 68], 0
      mov edi, 1
      lea rsi, [rel buf + 64]
      call HC(32)
      mov rdi, 1000000       ; set_timer_op(1 ms since boot), then SCHEDOP_block
      call HC(15)
      mov edi, 1
      xor esi, esi
      call HC(29)`);
    expect(q(0)).toBe(0n);
    expect(q(1)).toBe(BigInt(-XEN_ERRNO.EINVAL));
    expect(q(2)).toBe(0n);
    expect(q(3)).toBe(0n); // RUNSTATE_running
    // The copy after the guest halted for good: offline, with time spent blocked ≈ until the 1 ms timer.
    const entry = d.guest.u64(0x300000 + 8), time = [0, 1, 2, 3].map((i) => Number(d.guest.u64(0x300000 + 16 + i * 8)));
    expect(d.guest.u32(0x300000)).toBe(3); // RUNSTATE_offline
    expect(entry >> 63n).toBe(0n); // XEN_RUNSTATE_UPDATE cleared once written
    expect(Number(entry)).toBeLessThanOrEqual(host.now);
    expect(time[2]).toBeGreaterThan(900_000);
    expect(time[2]).toBeLessThan(1_000_000);
    expect(time[0]).toBeGreaterThan(0);
    expect(time.reduce((a, b) => a + b, 0)).toBe(Number(entry));
  });

  it("VCPUOP_register_vcpu_info moves vcpu_info into guest memory; HVMOP_set_evtchn_upcall_vector sets a per-vCPU vector", () => {
    const { q, d } = run(`
      ; register_vcpu_info {mfn = gfn 0x300, offset 0x40}
      mov qword [rel buf], 0x300
      mov dword [rel buf + 8], 0x40
      mov edi, 10
      xor esi, esi
      lea rdx, [rel buf]
      call HC(24)
      mov [rel out], rax
      ; bind_ipi(vcpu 0), send
      mov dword [rel buf + 32], 0
      mov edi, 7
      lea rsi, [rel buf + 32]
      call HC(32)
      mov eax, [rel buf + 36]
      mov [rel buf + 48], eax
      mov edi, 4
      lea rsi, [rel buf + 48]
      call HC(32)
      ; xen_hvm_evtchn_upcall_vector {vcpu 0, vector 0x40}, then vector 5 (refused)
      mov dword [rel buf + 64], 0
      mov byte [rel buf + 68], 0x40
      mov edi, 23
      lea rsi, [rel buf + 64]
      call HC(34)
      mov [rel out + 8], rax
      mov byte [rel buf + 68], 5
      mov edi, 23
      lea rsi, [rel buf + 64]
      call HC(34)
      mov [rel out + 16], rax
      ; registering twice is refused
      mov edi, 10
      xor esi, esi
      lea rdx, [rel buf]
      call HC(24)
      mov [rel out + 24], rax`);
    expect(q(0)).toBe(0n);
    expect(d.guest.u8(0x300040)).toBe(1); // evtchn_upcall_pending in the new place
    expect(d.guest.u64(0x300040 + 8)).toBe(1n); // evtchn_pending_sel bit 0
    expect(d.sharedInfo.view.getUint8(0)).toBe(0); // not in the legacy slot
    const ver = d.guest.u32(0x300040 + 32); // vcpu_time_info came along: version even and non-zero
    expect(ver % 2).toBe(0);
    expect(ver).toBeGreaterThan(0);
    expect(q(1)).toBe(0n);
    expect(d.vcpus[0]!.upcallVector).toBe(0x40);
    expect(q(2)).toBe(BigInt(-XEN_ERRNO.EINVAL));
    expect(q(3)).toBe(BigInt(-XEN_ERRNO.EINVAL));
  });

  it("a read-only grant maps read-only: reads work, a write gets #GP (no IDT here: triple fault)", () => {
    const host = new XenHost({ pcpus: 1, memoryMiB: 256 });
    const g = host.createLabDomain("granter", labCode("sti\n l: hlt\n jmp l"));
    g.guest.write(0x200000, Buffer.from("read me"));
    g.gnttab.setEntry(grantRef(8), domId(2), gfn(0x200), GTF_permit_access | (1 << 2)); // GTF_readonly
    const m = host.createLabDomain("mapper", labCode(`
      ; gnttab_map_grant_ref {host_addr 0x300000, flags host_map|readonly, ref 8, dom 1}
      mov qword [rel mp], 0x300000
      mov dword [rel mp + 8], 2 | 4
      mov dword [rel mp + 12], 8
      mov word [rel mp + 16], 1
      mov edi, 0
      lea rsi, [rel mp]
      mov edx, 1
      call HC(20)
      movsx r12, word [rel mp + 18]
      mov r13, [0x300000]
      mov byte [0x300000], 'X'
      ud2
    align 8
    mp: times 32 db 0`), { extra: 'on_reboot = "preserve"' });
    host.run({ ns: 1e6 });
    const cpu = m.vcpus[0]!.cpu!;
    expect(cpu.getReg("r12")).toBe(0n);
    expect(Buffer.from(new BigUint64Array([cpu.getReg("r13")]).buffer).toString("latin1").slice(0, 7)).toBe("read me");
    expect(host.dmesg.some((l) => l.includes("d2v0 trying to write to read-only grant mapping at 0x300000"))).toBe(true);
    expect(g.guest.read(0x200000, 7)).toEqual(new Uint8Array(Buffer.from("read me")));
    expect(m.crashReason).toMatch(/triple fault/);
    expect(g.gnttab.entry(grantRef(8))!.flags & (1 << 3)).not.toBe(0); // GTF_reading while mapped
    expect(g.gnttab.entry(grantRef(8))!.flags & (1 << 4)).toBe(0); // never GTF_writing
  });
});
