/**
 * Xen calls the adapter turns into Hyper-V operations on the guest's behalf, beyond console,
 * events and grants (xen-adapter.ts): time (vcpu_time_info from the partition reference counter's
 * clock and HV_X64_MSR_TSC_FREQUENCY), timers (set_timer_op and VCPUOP_set_singleshot_timer on
 * synthetic timer 3), VCPUOP is_up / register_vcpu_info, HVMOP set_param / get_param /
 * set_evtchn_upcall_vector, and multicall. Each answer follows Xen's own handler (common/domain.c
 * do_vcpu_op, arch/x86/hvm/hvm.c, common/multicall.c) so a Xen-ABI guest sees the same results on
 * both hosts; what each became on the Hyper-V side is recorded in the translation table.
 */
import type { PartitionId } from "./ids";
import {
  DOMID_SELF, ETIME, HYPERVISOR, HVMOP_get_param, HVMOP_set_evtchn_upcall_vector, HVMOP_set_param, HVM_NR_PARAMS, HVM_PARAM, LAYOUT,
  RUNSTATE, VCPUOP, VCPU_SSHOTTMR_future, VIRQ, XEN_ERRNO, XEN_RUNSTATE_UPDATE,
} from "../xen/abi";
import { GUEST_READABLE_PARAMS, GUEST_SETTABLE_PARAMS } from "../xen/hypercalls/hvm-op";
import { gfn, PAGE_SIZE } from "../machine";
import { vcpuId } from "../platform";
import type { GuestPhysical, Machine, Vcpu } from "../machine";
import type { SharedInfo } from "../xen/shared-info";
import { HV_MSR, HV_REG, STIMER } from "./tlfs";

/**
 * What the translations need of a VP and of the adapter, by shape (the adapter and the host pass
 * themselves; naming their classes here would tie this file into the host's import knot).
 */
export interface XlatVp {
  readonly index: number;
  readonly cpu: Vcpu;
  /** Time this VP ran (HV_X64_MSR_VP_RUNTIME's source, ns) and its state now. */
  readonly runtimeNs: number;
  readonly runstate: "running" | "runnable" | "blocked" | "offline";
  readonly stimers: { onFire?: () => void; deadlineNs?: number }[];
}
export interface XlatAdapter<V extends XlatVp> {
  readonly host: {
    vpNow(vp: V): number;
    /** The VP's run time up to now (what HV_X64_MSR_VP_RUNTIME counts, in ns). */
    vpRuntimeNs(vp: V): number;
    rdmsr(vp: V, msr: number): bigint | undefined;
    wrmsr(vp: V, msr: number, value: bigint): boolean;
    getVpRegisters(partitionId: number, vpIndex: number, names: number[]): bigint[];
    readonly machine: Machine;
    readonly partitions: ReadonlyMap<number, unknown>;
  };
  readonly partition: { readonly id: number; readonly referenceBaseNs: number; readonly vps: readonly V[]; readonly memory: GuestPhysical };
  readonly sharedInfo: SharedInfo | undefined;
  readonly domid: number;
  readonly upcallVectors: Map<number, number>;
  /** VCPUOP_register_runstate_memory_area: each VP's area (a guest-virtual address). */
  readonly runstateAreas: Map<number, bigint>;
  /** VMASST_TYPE_runstate_update_flag enabled. */
  readonly runstateUpdateFlag: boolean;
  partitionIdOf(domid: number): PartitionId | undefined;
  /** The hypervisor raises a VIRQ of a VP (its bound port goes pending). */
  raiseVirq(vpIndex: number, virq: number): void;
  hvmParam(index: number): bigint;
  setHvmParam(index: number, value: bigint): 0;
}

/** The synthetic timer the adapter uses for Xen's one-shot timer (0-2 stay the guest's). */
export const XEN_TIMER_STIMER = 3;
const STIMER_CONFIG = (i: number) => HV_MSR.STIMER0_CONFIG + 2 * i;
const STIMER_COUNT = (i: number) => HV_MSR.STIMER0_COUNT + 2 * i;

/**
 * The Xen system time of a partition: ns of its reference clock (the counter HV_X64_MSR_TIME_REF_COUNT
 * reads, in ns rather than 100 ns units), at the VP's current TSC.
 */
export function systemTimeNs<V extends XlatVp>(a: XlatAdapter<V>, vp: V): number {
  return a.host.vpNow(vp) - a.partition.referenceBaseNs;
}

/**
 * vcpu_time_info for a VP (xen.h): tsc_timestamp = the VP's TSC now, system_time = the reference
 * clock then, mul/shift from HV_X64_MSR_TSC_FREQUENCY by Xen's set_time_scale (time.c). Returns
 * what it read, for the translation table.
 */
export function publishTime<V extends XlatVp>(a: XlatAdapter<V>, vp: V): string[] {
  const si = a.sharedInfo;
  const v = vcpuId(vp.index);
  if (!si || !si.hasVcpuInfo(v)) return [];
  const freq = Number(a.host.rdmsr(vp, HV_MSR.TSC_FREQUENCY) ?? 0n);
  if (!(freq > 0)) return [];
  let shift = 0, tps = freq;
  while (tps > 2e9) { tps /= 2; shift--; }
  while (tps <= 1e9) { tps *= 2; shift++; }
  const mul = Math.floor((1e9 * 2 ** 32) / tps);
  const tsc = vp.cpu.icount + vp.cpu.tscOffset;
  si.setTime(v, BigInt(Math.floor(systemTimeNs(a, vp))), BigInt(tsc), mul, shift);
  updateRunstateArea(a, vp);
  return ["HV_X64_MSR_TSC_FREQUENCY", "reference clock (HV_X64_MSR_TIME_REF_COUNT) at the TSC stamp"];
}

/**
 * Arms (or with `absNs` undefined, stops) the VP's Xen one-shot timer as synthetic timer 3: the
 * count is an absolute reference time in 100 ns units, rounded up so it never fires early.
 */
export function armXenTimer<V extends XlatVp>(a: XlatAdapter<V>, vp: V, absNs: number | undefined): string[] {
  const t = vp.stimers[XEN_TIMER_STIMER]!;
  if (absNs === undefined) {
    a.host.wrmsr(vp, STIMER_CONFIG(XEN_TIMER_STIMER), 0n);
    return [`HV_X64_MSR_STIMER${XEN_TIMER_STIMER}_CONFIG = 0`];
  }
  t.onFire = () => a.raiseVirq(vp.index, VIRQ.TIMER);
  const count = BigInt(Math.max(1, Math.ceil(absNs / 100)));
  a.host.wrmsr(vp, STIMER_COUNT(XEN_TIMER_STIMER), count);
  a.host.wrmsr(vp, STIMER_CONFIG(XEN_TIMER_STIMER), STIMER.ENABLE);
  // The register holds whole 100 ns units, but the timer fires at Xen's exact ns: with the
  // rounding, two guests' interleaving moves (the ping/pong transcript test sees pong's XenStore
  // watch fire once instead of twice, as on Xen). A known divergence from the TLFS, in the notes.
  t.deadlineNs = a.partition.referenceBaseNs + absNs;
  return [`HV_X64_MSR_STIMER${XEN_TIMER_STIMER}_COUNT = ${count} (reference time)`, `HV_X64_MSR_STIMER${XEN_TIMER_STIMER}_CONFIG = enable, one-shot`];
}

/**
 * vcpu_runstate_info for a VP (vcpu.h) from what Hyper-V 1.0 tells a guest about its VP: the time
 * it ran (HV_X64_MSR_VP_RUNTIME) and, for the rest of the partition's life, not running. Hyper-V
 * 1.0 does not say whether the VP waited for an LP or for an interrupt, so that time is reported
 * as blocked and the guest sees no steal time (runnable and offline stay 0).
 */
export function runstateInfo<V extends XlatVp>(a: XlatAdapter<V>, vp: V): Uint8Array {
  const b = new Uint8Array(LAYOUT.vcpu_runstate_info.size), dv = new DataView(b.buffer);
  const RI = LAYOUT.vcpu_runstate_info.f;
  const now = Math.floor(systemTimeNs(a, vp)), ran = Math.min(now, Math.floor(a.host.vpRuntimeNs(vp)));
  dv.setUint32(RI.state, RUNSTATE[vp.runstate], true);
  // Entered its state now: the copy is fresh at every hypercall the VP makes.
  dv.setBigUint64(RI.state_entry_time, BigInt(now), true);
  dv.setBigUint64(RI.time + RUNSTATE.running * 8, BigInt(ran), true);
  dv.setBigUint64(RI.time + RUNSTATE.blocked * 8, BigInt(now - ran), true);
  return b;
}

/**
 * update_runstate_area (common/domain.c): the copy at the VP's registered address, through the
 * guest's page tables, with XEN_RUNSTATE_UPDATE in state_entry_time while it is written when the
 * guest enabled the update flag. A copy that faults is skipped, as Xen's is.
 */
export function updateRunstateArea<V extends XlatVp>(a: XlatAdapter<V>, vp: V): string[] {
  const va = a.runstateAreas.get(vp.index);
  if (va === undefined) return [];
  const info = runstateInfo(a, vp);
  try {
    if (a.runstateUpdateFlag) {
      const entry = new DataView(info.buffer).getBigUint64(LAYOUT.vcpu_runstate_info.f.state_entry_time, true);
      vp.cpu.writeVirtU64(va + BigInt(LAYOUT.vcpu_runstate_info.f.state_entry_time), entry | XEN_RUNSTATE_UPDATE);
      vp.cpu.writeVirt(va, info);
    } else vp.cpu.writeVirt(va, info);
  } catch { /* not mapped (yet) */ }
  return ["HV_X64_MSR_VP_RUNTIME", "HV_X64_MSR_TIME_REF_COUNT"];
}

/** Guest memory by virtual address, as the guest's hypercall arguments name it. */
interface Args<V extends XlatVp> { vp: V; args: readonly bigint[] }

const num = (v: bigint) => Number(BigInt.asIntN(64, v));

/** HYPERVISOR_vcpu_op(cmd, vcpuid, arg). */
export function vcpuOp<V extends XlatVp>(a: XlatAdapter<V>, { vp, args }: Args<V>): { result: number; name: string; hyperv: string[] } {
  const cmd = num(args[0]!), id = num(args[1]!), arg = args[2]!;
  const cpu = vp.cpu;
  const target = a.partition.vps[id];
  const name = Object.entries(VCPUOP).find(([, v]) => v === cmd)?.[0] ?? String(cmd);
  const out = (result: number, hyperv: string[] = []) => ({ result, name: `vcpu_op(${name})`, hyperv });
  if (!target) return out(-XEN_ERRNO.ENOENT);
  switch (cmd) {
    case VCPUOP.is_up: {
      // Whether the VP runs: its explicit-suspend register, read by the root.
      const [suspended] = a.host.getVpRegisters(a.partition.id, id, [HV_REG.EXPLICIT_SUSPEND]);
      return out(suspended ? 0 : 1, [`root: HvGetVpRegisters(partition ${a.partition.id}, VP ${id}, ExplicitSuspend) = ${suspended}`]);
    }
    case VCPUOP.set_singleshot_timer: {
      if (target !== vp) return out(-XEN_ERRNO.EINVAL);
      const F = LAYOUT.vcpu_set_singleshot_timer.f;
      const abs = num(cpu.readVirtU64(arg + BigInt(F.timeout_abs_ns))), flags = cpu.readVirtU32(arg + BigInt(F.flags));
      const now = systemTimeNs(a, vp);
      if ((flags & VCPU_SSHOTTMR_future) && abs < now) return out(-ETIME, ["HV_X64_MSR_TIME_REF_COUNT (deadline already past)"]);
      return out(0, armXenTimer(a, vp, Math.max(abs, now)));
    }
    case VCPUOP.stop_singleshot_timer:
      if (target !== vp) return out(-XEN_ERRNO.EINVAL);
      return out(0, armXenTimer(a, vp, undefined));
    case VCPUOP.register_runstate_memory_area: {
      // The argument holds a guest-virtual address (a handle); 0 unregisters (common/domain.c).
      const va = cpu.readVirtU64(arg);
      if (va === 0n) { a.runstateAreas.delete(id); return out(0); }
      a.runstateAreas.set(id, va);
      return out(0, updateRunstateArea(a, target));
    }
    case VCPUOP.get_runstate_info:
      cpu.writeVirt(arg, runstateInfo(a, target));
      return out(0, ["HV_X64_MSR_VP_RUNTIME", "HV_X64_MSR_TIME_REF_COUNT"]);
    // No periodic timer is ever armed by the adapter (Xen's default for HVM is none either).
    case VCPUOP.stop_periodic_timer:
      return out(0, [`HV_X64_MSR_STIMER${XEN_TIMER_STIMER}_CONFIG unchanged (no periodic timer)`]);
    case VCPUOP.register_vcpu_info: {
      // For translated guests `mfn` is a guest frame (arch/x86/domain.c map_vcpu_info).
      const RV = LAYOUT.vcpu_register_vcpu_info.f;
      const g = num(cpu.readVirtU64(arg + BigInt(RV.mfn))), offset = cpu.readVirtU32(arg + BigInt(RV.offset));
      const si = a.sharedInfo;
      if (!si || offset > PAGE_SIZE - LAYOUT.vcpu_info.size || si.isRelocated(vcpuId(id))) return out(-XEN_ERRNO.EINVAL);
      const e = a.partition.memory.p2m.lookup(gfn(g));
      if (!e || !e.writable) return out(-XEN_ERRNO.EINVAL);
      si.relocate(vcpuId(id), a.host.machine.memory.view(e.mfn), offset);
      return out(0, [`vcpu_info of VP ${id} at gfn 0x${g.toString(16)} + 0x${offset.toString(16)} (the guest's own page; no Hyper-V call)`]);
    }
    default:
      return out(-XEN_ERRNO.ENOSYS);
  }
}

/** HYPERVISOR_hvm_op(op, arg): params as hvm.c allows a guest, and the per-vCPU upcall vector. */
export function hvmOp<V extends XlatVp>(a: XlatAdapter<V>, { vp, args }: Args<V>): { result: number; name: string; hyperv: string[] } {
  const op = num(args[0]!), arg = args[1]!;
  const cpu = vp.cpu;
  if (op === HVMOP_set_evtchn_upcall_vector) {
    const U = LAYOUT.xen_hvm_evtchn_upcall_vector.f;
    const id = cpu.readVirtU32(arg + BigInt(U.vcpu)), vector = cpu.readVirt(arg + BigInt(U.vector), 1)[0]!;
    const name = "hvm_op(set_evtchn_upcall_vector)";
    if (!a.partition.vps[id]) return { result: -XEN_ERRNO.ENOENT, name, hyperv: [] };
    if (vector < 0x10) return { result: -XEN_ERRNO.EINVAL, name, hyperv: [] };
    a.upcallVectors.set(id, vector);
    return { result: 0, name, hyperv: [`VP ${id}: events raise vector 0x${vector.toString(16)} (as a SINT's vector)`] };
  }
  if (op !== HVMOP_set_param && op !== HVMOP_get_param) return { result: -XEN_ERRNO.ENOSYS, name: `hvm_op(${op})`, hyperv: [] };
  const F = LAYOUT.xen_hvm_param.f;
  const domid = cpu.readVirtU32(arg + BigInt(F.domid)) & 0xffff, index = cpu.readVirtU32(arg + BigInt(F.index));
  const name = `hvm_op(${op === HVMOP_get_param ? "get" : "set"}_param ${Object.entries(HVM_PARAM).find(([, v]) => v === index)?.[0] ?? index})`;
  const fail = (e: keyof typeof XEN_ERRNO) => ({ result: -XEN_ERRNO[e], name, hyperv: [] });
  if (domid !== DOMID_SELF && domid !== a.domid) return fail(a.partitionIdOf(domid) !== undefined ? "EPERM" : "ESRCH");
  if (index >= HVM_NR_PARAMS) return fail("EINVAL");
  if (op === HVMOP_get_param) {
    if (!GUEST_READABLE_PARAMS.has(index)) return fail("EPERM");
    cpu.writeVirtU64(arg + BigInt(F.value), a.hvmParam(index));
    return { result: 0, name, hyperv: [] };
  }
  if (!GUEST_SETTABLE_PARAMS.has(index)) return fail("EPERM");
  const value = cpu.readVirtU64(arg + BigInt(F.value));
  const r = a.setHvmParam(index, value);
  return r === 0 ? { result: 0, name, hyperv: index === HVM_PARAM.CALLBACK_IRQ ? [`VP 0: events raise vector 0x${(Number(value & 0xffn)).toString(16)}`] : [] } : fail(r);
}

/** HYPERVISOR_multicall(entries, nr): each multicall_entry {op, result, args[6]} run in order (common/multicall.c). */
export function multicall<V extends XlatVp>({ vp, args }: Args<V>, run: (nr: number, args: bigint[]) => number): number {
  const L = LAYOUT.multicall_entry, F = L.f;
  const base = args[0]!, n = num(args[1]!);
  const cpu = vp.cpu;
  for (let i = 0; i < n; i++) {
    const at = base + BigInt(i * L.size);
    const op = num(cpu.readVirtU64(at + BigInt(F.op)));
    const callArgs = Array.from({ length: 6 }, (_, k) => cpu.readVirtU64(at + BigInt(F.args + 8 * k)));
    // A nested multicall is refused (multicall.c: -EINVAL for __HYPERVISOR_multicall inside one).
    const result = op === HYPERVISOR.multicall ? -XEN_ERRNO.EINVAL : run(op, callArgs);
    cpu.writeVirtU64(at + BigInt(F.result), BigInt.asUintN(64, BigInt(result)));
  }
  return 0;
}
