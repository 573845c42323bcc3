/**
 * Xen's VM-exit dispatch (xen/arch/x86/hvm/vmx/vmx.c vmx_vmexit_handler's role): every exit a
 * guest vCPU takes is routed here by the platform's run loop. Platform devices answer their ports
 * and MSRs first; hypercalls go to the hypercall table (or to Viridian when EAX bit 31 marks a
 * Hyper-V call); CPUID, MSRs, hlt, port I/O, nested page faults and triple faults are answered as
 * Xen answers an HVM/PVH guest.
 */
import { Exit, gfn, hex, PAGE_SIZE } from "../machine";
import { EXC_GP, RFLAGS_IF, unclaimedPortRead } from "../abi/x86";
import {
  XEN_CPUID_FIRST_LEAF, XEN_HVM_DEBUGCONS_IOPORT, XEN_HYPERCALL_MSR, XEN_HYPERCALL_MSR_PAGE_INDEX,
  XEN_VIRIDIAN_LEAF_OFFSET, XEN_VIRIDIAN_MSR_OFFSET,
} from "./abi";
import { hypercallPage, xenCpuid } from "./cpuid";
import { callbackVector } from "./event-delivery";
import type { Domain } from "./domain";
import type { XenHost } from "./host";
import { dispatchHypercall } from "./hypercalls";
import { VIRIDIAN_CALL_FLAG, viridianCpuid, viridianHypercall, viridianOf, viridianRdmsr, viridianWrmsr } from "./viridian";
import type { XenVcpu } from "./xen-vcpu";

/** Handles one exit of `v` at virtual time `t` (host time reads `t` while it is handled). */
export function handleExit(host: XenHost, v: XenVcpu, x: Exit, t: number): void {
  const d = v.domain;
  const cpu = v.cpu!;
  // Scheduling stops (budget, interrupt) are the host's, not the guest's exits.
  if (x.kind !== "budget" && x.kind !== "interrupt") d.countExit(x.kind);
  const saveNow = host.now;
  host.now = t;
  try {
    // Platform devices (src/platform/devices.ts) answer their ports, MSRs and MMIO first.
    if (x.kind === "io" || x.kind === "rdmsr" || x.kind === "wrmsr" || x.kind === "gpa-fault") {
      const r = host.devices.handle(v.platform, x);
      if (r === "handled") return;
      if (r === "gp") { refuseWithGp(host, v, x.rip, t); return; }
      if (typeof r === "object") { host.crashDomain(d, `${r.failed} at rip ${hex(x.rip)}`); return; }
    }
    switch (x.kind) {
      case "budget":
      case "interrupt":
        return;
      case "hypercall": {
        // The viridian page's stub sets EAX bit 31 to mark a Hyper-V call (viridian.c).
        const vir = viridianOf(d);
        if (vir && (cpu.getReg("rax") & VIRIDIAN_CALL_FLAG) !== 0n) {
          cpu.setReg("rax", viridianHypercall(vir, cpu.getReg("rcx")));
          return;
        }
        d.countHypercall(Number(BigInt.asUintN(32, cpu.getReg("rax")))); // the number is EAX
        dispatchHypercall(host, v);
        return;
      }
      case "cpuid": {
        const vir = viridianOf(d);
        if (vir && x.leaf >= XEN_CPUID_FIRST_LEAF && x.leaf < XEN_CPUID_FIRST_LEAF + XEN_VIRIDIAN_LEAF_OFFSET) {
          const [a, b, c, dd] = viridianCpuid(vir, x.leaf, d.vcpus.length);
          cpu.completeCpuid(a, b, c, dd);
          return;
        }
        const [a, b, c, dd] = xenCpuid(x.leaf, x.subleaf, { domid: d.domid, vcpuId: v.id, nrVcpus: d.vcpus.length, viridian: d.config.viridian.length > 0, tscKhz: host.cpuMHz * 1000, tscToNs: host.timeScale() });
        cpu.completeCpuid(a, b, c, dd);
        return;
      }
      case "rdmsr": {
        const vir = viridianOf(d);
        const r = vir ? viridianRdmsr(vir, x.msr, v.id, t, host.cpuMHz * 1e6) : "not-viridian";
        if (r === "gp") { refuseWithGp(host, v, x.rip, t); return; }
        if (r !== "not-viridian") { cpu.completeRdmsr(r.value); return; }
        if (x.msr === hypercallMsr(d)) { cpu.completeRdmsr(0n); return; }
        refuseWithGp(host, v, x.rip, t);
        return;
      }
      case "wrmsr": {
        const vir = viridianOf(d);
        if (vir) {
          const ok = viridianWrmsr(vir, x.msr, x.value, {
            vcpuId: v.id,
            tscHz: host.cpuMHz * 1e6,
            writePage: (gpa, bytes) => d.guest.write(gpa, bytes),
            crash: (reason) => host.crashDomain(d, reason),
          });
          if (ok === false) { refuseWithGp(host, v, x.rip, t); return; }
          if (ok === true) return;
        }
        if (x.msr === hypercallMsr(d)) {
          // Low 12 bits = page index; only 0 exists (xen/arch/x86/msr.c).
          if ((x.value & XEN_HYPERCALL_MSR_PAGE_INDEX) !== 0n) { refuseWithGp(host, v, x.rip, t); return; }
          const gpa = Number(x.value & ~XEN_HYPERCALL_MSR_PAGE_INDEX);
          try {
            d.guest.write(gpa, hypercallPage());
            d.hypercallPageGpa = gpa;
          } catch {
            refuseWithGp(host, v, x.rip, t);
          }
          return;
        }
        refuseWithGp(host, v, x.rip, t);
        return;
      }
      case "hlt": {
        if (!(cpu.getFlags() & RFLAGS_IF)) {
          // hvm_hlt with interrupts off: the vCPU goes down; no vCPU left = power off.
          v.setRunstate("offline", t);
          v.down = true;
          const p = host.pcpus[v.pcpu];
          if (p?.current === v) p.current = undefined;
          if (!d.vcpus.some((o) => o.online)) {
            host.log(`d${d.domid}v${v.id}: all CPUs offline -- powering off.`);
            host.shutdownDomain(d, "poweroff");
          }
          return;
        }
        const hasVector = v.upcallVector !== undefined || callbackVector(d) !== undefined;
        if (hasVector && d.sharedInfo.hasVcpuInfo(v.id) && d.sharedInfo.upcallPending(v.id)) return;
        // An interrupt the local APIC already offered (a timer that expired during the slice).
        if (cpu.pendingInterrupts.length !== 0) return;
        host.block(v, "hlt", t);
        return;
      }
      case "io": {
        // Port 0xe9: Xen's HVM debug console (hvm_print_line), shown in `xl dmesg` as (dN).
        if (x.port === XEN_HVM_DEBUGCONS_IOPORT && x.direction === "out") { host.consoleIoWrite(d, String.fromCharCode(x.value & 0xff)); return; }
        if (x.direction === "in") cpu.completeIn(x.size, unclaimedPortRead(x.size));
        return;
      }
      case "gpa-fault": {
        // A write to a read-only grant mapping gets #GP(0), as in Xen's
        // hvm_hap_nested_page_fault ("trying to write to read-only grant mapping").
        const e = host.machine.p2m(d.domid).lookup(gfn(Math.floor(x.gpa / PAGE_SIZE)));
        if (e && !e.writable && x.access === "write") {
          host.log(`d${d.domid}v${v.id} trying to write to read-only grant mapping at ${hex(x.gpa)}`);
          refuseWithGp(host, v, undefined, t);
          return;
        }
        host.crashDomain(d, `unhandled ${x.access} of guest-physical ${hex(x.gpa)} (no memory there) at rip ${hex(x.rip)}`);
        return;
      }
      case "triple-fault":
        if (d.kind === "pv") {
          // A PV guest has no IDT: its exceptions bounce to the handlers it gave set_trap_table
          // (pv/traps.c pv_inject_event). This host keeps no PV trap table, so every guest fault is
          // unhandled and the domain is crashed, as Xen does for a null trap bounce.
          host.crashDomain(d, `Unhandled fault in a PV guest (no trap table): ${x.reason} at rip ${hex(x.rip)}`);
          return;
        }
        // hvm_triple_fault: HVM_PARAM_TRIPLE_FAULT_REASON defaults to SHUTDOWN_reboot.
        host.log(`d${d.domid}v${v.id} Triple fault - invoking HVM shutdown action 1 (${x.reason} at ${hex(x.rip)})`);
        d.crashReason = `triple fault: ${x.reason} at rip ${hex(x.rip)}`;
        host.shutdownDomain(d, "reboot", "triple fault");
        return;
      case "unsupported":
        host.crashDomain(d, `${x.reason} at rip ${hex(x.rip)}`);
        return;
      case "breakpoint":
      case "watchpoint":
        host.lastBreak = { domain: d.name, vcpu: v.id, rip: x.rip, kind: x.kind };
        return;
    }
  } finally {
    host.now = saveNow;
  }
}

/** The MSR named by CPUID leaf base+2 EBX: 0x40000000, or 0x40000200 with Viridian on. */
export function hypercallMsr(d: Domain): number {
  return d.config.viridian.length ? XEN_HYPERCALL_MSR + XEN_VIRIDIAN_MSR_OFFSET : XEN_HYPERCALL_MSR;
}

/**
 * Refuses an instruction with #GP(0) (rewinding to it when it had retired). Delivery can itself
 * end in an exit (a triple fault without a usable IDT), which is handled like any other.
 */
function refuseWithGp(host: XenHost, v: XenVcpu, rewindTo: number | undefined, t: number): void {
  const x = v.cpu!.injectException(EXC_GP, 0, rewindTo);
  if (x) handleExit(host, v, x, t);
}
