/**
 * Viridian: the Hyper-V enlightenments Xen offers a guest whose xl.cfg says `viridian = [...]`
 * (xen/arch/x86/hvm/viridian/viridian.c, docs/man/xl.cfg.5.pod.in). Microsoft's CPUID leaves,
 * synthetic MSRs and hypercalls take the base of the hypervisor range, and Xen's own leaves move to
 * 0x40000100 (see cpuid.ts), so a Windows guest written against the TLFS finds "Microsoft Hv"
 * first and a Xen-aware one still finds Xen.
 */
import { HV_CPUID, HV_INTERFACE_SIGNATURE, HV_MSR, HV_PRIV, HV_RECOMMEND, HV_STATUS, HV_VENDOR, HC } from "../abi/hyperv-tlfs";
import type { Domain } from "./domain";
import { XenError } from "./errors";

/** The groups xl.cfg names (xl.cfg.5: viridian). */
export const VIRIDIAN_GROUPS = [
  "base", "freq", "time_ref_count", "reference_tsc", "hcall_remote_tlb_flush", "apic_assist",
  "crash_ctl", "stimer", "hcall_ipi", "ex_processor_masks", "no_vp_limit", "cpu_hotplug",
] as const;
export type ViridianGroup = (typeof VIRIDIAN_GROUPS)[number];

/** Groups this host does not implement yet: asking for one fails the create rather than lie in CPUID. */
const NOT_IMPLEMENTED: ViridianGroup[] = ["stimer", "hcall_ipi", "ex_processor_masks", "cpu_hotplug"];

/** `viridian = 1` / "defaults" (libxl_create.c: base, freq, time_ref_count, apic_assist, crash_ctl). */
const DEFAULTS: ViridianGroup[] = ["base", "freq", "time_ref_count", "apic_assist", "crash_ctl"];

/** Hypercall codes Xen's viridian handles (hvgdk_mini.h HVCALL_*). */
export const VIRIDIAN_CALL = {
  FlushVirtualAddressSpace: 0x0002,
  FlushVirtualAddressList: 0x0003,
  NotifyLongSpinWait: 0x0008,
} as const;

/** Xen's spinlock retry count reported in CPUID 0x40000004 EBX (viridian.c viridian_spinlock_retry_count). */
const SPINLOCK_RETRIES = 2047;
/** Xen reports Hyper-V 6.0, build 0x1772 once the guest has set its OS id (viridian.c). */
const VERSION = { major: 6, minor: 0, build: 0x1772 };

/** Which groups a domain's `viridian` setting enables ("defaults", "all", "!group"). Unknown names fail. */
export function viridianGroups(setting: readonly string[]): Set<ViridianGroup> {
  const on = new Set<ViridianGroup>();
  for (const raw of setting) {
    const neg = raw.startsWith("!");
    const name = neg ? raw.slice(1) : raw;
    // "all": every group this host implements.
    const names: ViridianGroup[] = name === "defaults" ? DEFAULTS : name === "all" ? VIRIDIAN_GROUPS.filter((g) => !NOT_IMPLEMENTED.includes(g)) : [name as ViridianGroup];
    for (const n of names) {
      if (!VIRIDIAN_GROUPS.includes(n)) throw new XenError("EINVAL", `unknown viridian enlightenment "${raw}" (xl.cfg: ${VIRIDIAN_GROUPS.join(", ")}, defaults, all)`);
      if (neg) on.delete(n);
      else on.add(n);
    }
  }
  // Every other group builds on base (libxl refuses them without it).
  if (on.size && !on.has("base")) throw new XenError("EINVAL", 'viridian enlightenments need the "base" group');
  for (const n of on) if (NOT_IMPLEMENTED.includes(n)) throw new XenError("EOPNOTSUPP", `viridian enlightenment "${n}" is not implemented by this host`);
  return on;
}

interface ViridianState {
  groups: Set<ViridianGroup>;
  guestOsId: bigint;
  hypercallMsr: bigint;
  referenceTscMsr: bigint;
  /** Per vCPU: HV_X64_MSR_VP_ASSIST_PAGE (apic_assist). */
  vpAssist: Map<number, bigint>;
  /** HV_X64_MSR_CRASH_P0..P4 (crash_ctl). */
  crashParams: bigint[];
  calls: number;
}

/** MSRs beyond those in tlfs.ts (hvgdk_mini.h HV_X64_MSR_VP_ASSIST_PAGE, HV_X64_MSR_CRASH_*). */
export const VIRIDIAN_MSR = {
  VP_ASSIST_PAGE: 0x40000073,
  CRASH_P0: 0x40000100,
  CRASH_P4: 0x40000104,
  CRASH_CTL: 0x40000105,
} as const;
/** HV_CRASH_CTL_CRASH_NOTIFY: the guest reports a crash with P0..P4 (hvgdk_mini.h). */
const CRASH_NOTIFY = 1n << 63n;

const states = new WeakMap<Domain, ViridianState>();

/** The domain's viridian state, or undefined when its xl.cfg enables none. */
export function viridianOf(d: Domain): ViridianState | undefined {
  let s = states.get(d);
  if (!s) {
    if (!d.config.viridian.length) return undefined;
    s = { groups: viridianGroups(d.config.viridian), guestOsId: 0n, hypercallMsr: 0n, referenceTscMsr: 0n, vpAssist: new Map(), crashParams: [0n, 0n, 0n, 0n, 0n], calls: 0 };
    states.set(d, s);
  }
  return s;
}

/** CPUID 0x40000000–0x40000006 as Xen's viridian presents them (cpuid_viridian_leaves). */
export function viridianCpuid(s: ViridianState, leaf: number, nrVcpus: number): [number, number, number, number] {
  const g = s.groups;
  switch (leaf - HV_CPUID.VENDOR_AND_MAX_FUNCTIONS) {
    case 0:
      return [HV_CPUID.VENDOR_AND_MAX_FUNCTIONS + 6, HV_VENDOR[0], HV_VENDOR[1], HV_VENDOR[2]];
    case 1:
      return [HV_INTERFACE_SIGNATURE, 0, 0, 0];
    case 2:
      // Only once the guest has said who it is (viridian.c: "if guest_os_id == 0 break").
      return s.guestOsId === 0n ? [0, 0, 0, 0] : [VERSION.build, (VERSION.major << 16) | VERSION.minor, 0, 0];
    case 3: {
      let eax = HV_PRIV.HypercallAccess | HV_PRIV.VpIndexAccess | HV_PRIV.ApicAccess;
      if (g.has("time_ref_count")) eax |= HV_PRIV.PartitionReferenceCounter;
      if (g.has("reference_tsc")) eax |= HV_PRIV.ReferenceTscAccess;
      if (g.has("freq")) eax |= HV_PRIV.FrequencyAccess;
      if (g.has("stimer")) eax |= HV_PRIV.SynicAccess | HV_PRIV.SyntheticTimerAccess;
      // EDX bit 10: guest crash MSRs (hvgdk_mini.h HV_FEATURE_GUEST_CRASH_MSR_AVAILABLE).
      return [Number(eax & 0xffffffffn), 0, 0, g.has("crash_ctl") ? 1 << 10 : 0];
    }
    case 4: {
      let eax = 0;
      if (g.has("hcall_remote_tlb_flush")) eax |= HV_RECOMMEND.REMOTE_TLB_FLUSH | HV_RECOMMEND.LOCAL_TLB_FLUSH;
      if (g.has("apic_assist")) eax |= HV_RECOMMEND.APIC_ACCESS;
      return [eax, SPINLOCK_RETRIES, 0, 0];
    }
    case 5:
      return [g.has("no_vp_limit") ? 0 : nrVcpus, 0, 0, 0];
    default:
      return [0, 0, 0, 0];
  }
}

/**
 * The reference TSC page (TLFS 12.7: HV_REFERENCE_TSC_PAGE): sequence, then scale and offset such
 * that reference time in 100 ns units = ((tsc * scale) >> 64) + offset.
 */
export function referenceTscPage(tscHz: number): Uint8Array {
  const page = new Uint8Array(4096);
  const view = new DataView(page.buffer);
  // The scale is a 0.64 fixed-point fraction: a TSC no faster than the 10 MHz reference clock
  // cannot be described, and sequence 0 tells the guest to use TIME_REF_COUNT instead.
  if (tscHz <= 10_000_000) return page;
  view.setUint32(0, 1, true); // tsc_sequence: valid
  view.setBigUint64(8, (10_000_000n << 64n) / BigInt(tscHz), true); // tsc_scale
  view.setBigInt64(16, 0n, true); // tsc_offset: the TSC starts with the partition
  return page;
}

/** The bytes Xen writes into the viridian hypercall page (viridian.c enable_hypercall_page). */
export function viridianHypercallPage(): Uint8Array {
  const page = new Uint8Array(4096).fill(0xcc); // int3 after the stub
  // or eax, 0x80000000 (marks a viridian call for Xen's vmcall handler); vmcall; ret
  page.set([0x0d, 0x00, 0x00, 0x00, 0x80, 0x0f, 0x01, 0xc1, 0xc3]);
  return page;
}

/** EAX bit 31, set by the viridian page's stub: this vmcall is a Hyper-V call (viridian.c). */
export const VIRIDIAN_CALL_FLAG = 0x80000000n;

export type MsrResult = { value: bigint } | "gp" | "not-viridian";

/** rdmsr of a synthetic MSR: its value, #GP when its group is off, or not a viridian MSR. */
export function viridianRdmsr(s: ViridianState, msr: number, vcpuId: number, nowNs: number, tscHz: number): MsrResult {
  const g = s.groups;
  if (msr >= VIRIDIAN_MSR.CRASH_P0 && msr <= VIRIDIAN_MSR.CRASH_P4) return g.has("crash_ctl") ? { value: s.crashParams[msr - VIRIDIAN_MSR.CRASH_P0]! } : "gp";
  switch (msr) {
    case VIRIDIAN_MSR.CRASH_CTL:
      return g.has("crash_ctl") ? { value: CRASH_NOTIFY } : "gp"; // the notify capability
    case HV_MSR.REFERENCE_TSC:
      return g.has("reference_tsc") ? { value: s.referenceTscMsr } : "gp";
    case HV_MSR.TSC_FREQUENCY:
      return g.has("freq") ? { value: BigInt(tscHz) } : "gp";
    case HV_MSR.APIC_FREQUENCY:
      // viridian.c: 1000000000 / APIC_BUS_CYCLE_NS, with a 1 ns bus cycle.
      return g.has("freq") ? { value: 1_000_000_000n } : "gp";
    case VIRIDIAN_MSR.VP_ASSIST_PAGE:
      return g.has("apic_assist") ? { value: s.vpAssist.get(vcpuId) ?? 0n } : "gp";
    case HV_MSR.GUEST_OS_ID:
      return { value: s.guestOsId };
    case HV_MSR.HYPERCALL:
      return { value: s.hypercallMsr };
    case HV_MSR.VP_INDEX:
      return { value: BigInt(vcpuId) };
    case HV_MSR.TIME_REF_COUNT:
      // 100 ns units since the partition started (TLFS 12.4).
      return s.groups.has("time_ref_count") ? { value: BigInt(Math.floor(nowNs / 100)) } : "gp";
    default:
      return msr >= 0x40000000 && msr < 0x40000100 ? "gp" : "not-viridian";
  }
}

/**
 * wrmsr of a synthetic MSR. Enabling HYPERCALL writes the page at its gfn through `writePage`;
 * returns whether the write was accepted (false: #GP).
 */
export function viridianWrmsr(
  s: ViridianState,
  msr: number,
  value: bigint,
  io: { vcpuId: number; tscHz: number; writePage(gpa: number, bytes: Uint8Array): void; crash(reason: string): void },
): boolean | "not-viridian" {
  const g = s.groups;
  if (msr >= VIRIDIAN_MSR.CRASH_P0 && msr <= VIRIDIAN_MSR.CRASH_P4) {
    if (!g.has("crash_ctl")) return false;
    s.crashParams[msr - VIRIDIAN_MSR.CRASH_P0] = value;
    return true;
  }
  switch (msr) {
    case VIRIDIAN_MSR.CRASH_CTL:
      if (!g.has("crash_ctl")) return false;
      // The guest's bugcheck: Xen logs P0..P4 and crashes the domain (viridian.c, on_crash applies).
      if (value & CRASH_NOTIFY) io.crash(`guest crash report: ${s.crashParams.map((p) => `0x${p.toString(16)}`).join(" ")}`);
      return true;
    case HV_MSR.REFERENCE_TSC: {
      if (!g.has("reference_tsc")) return false;
      s.referenceTscMsr = value & ~0xffen;
      if (value & 1n) io.writePage(Number(value & ~0xfffn), referenceTscPage(io.tscHz));
      return true;
    }
    case VIRIDIAN_MSR.VP_ASSIST_PAGE:
      // The page is the guest's; Xen only ever sets its "no EOI needed" bit when it can skip an
      // EOI, which this host never does, so remembering the location is the whole contract.
      if (!g.has("apic_assist")) return false;
      s.vpAssist.set(io.vcpuId, value & ~0xffen);
      return true;
    case HV_MSR.GUEST_OS_ID:
      s.guestOsId = value;
      if (value === 0n) s.hypercallMsr &= ~1n; // clearing the OS id disables the page (TLFS 3.13)
      return true;
    case HV_MSR.HYPERCALL: {
      // The page may only be enabled once the guest has set its OS id (TLFS 3.13).
      if ((value & 1n) && s.guestOsId === 0n) return false;
      s.hypercallMsr = value & ~0xffen;
      if (value & 1n) io.writePage(Number(value & ~0xfffn), viridianHypercallPage());
      return true;
    }
    case HV_MSR.VP_INDEX:
      return false; // read-only
    default:
      return msr >= 0x40000000 && msr < 0x40000100 ? false : "not-viridian";
  }
}

/**
 * A viridian hypercall (viridian_hypercall): the input value in RCX, the result in RAX as
 * HV_STATUS with the completed rep count at bit 32.
 */
export function viridianHypercall(s: ViridianState, input: bigint): bigint {
  s.calls++;
  const code = Number(input & HC.CODE_MASK);
  const reps = Number((input >> HC.REP_COMP_OFFSET) & 0xfffn);
  switch (code) {
    case VIRIDIAN_CALL.NotifyLongSpinWait:
      return BigInt(HV_STATUS.SUCCESS);
    case VIRIDIAN_CALL.FlushVirtualAddressSpace:
    case VIRIDIAN_CALL.FlushVirtualAddressList:
      // Xen flushes every vCPU's TLB; the list form completes all its reps at once.
      if (!s.groups.has("hcall_remote_tlb_flush")) return BigInt(HV_STATUS.INVALID_HYPERCALL_CODE);
      return BigInt(HV_STATUS.SUCCESS) | (BigInt(code === VIRIDIAN_CALL.FlushVirtualAddressList ? reps : 0) << 32n);
    default:
      return BigInt(HV_STATUS.INVALID_HYPERCALL_CODE);
  }
}
