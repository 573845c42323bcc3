/**
 * Viridian: the Hyper-V enlightenments Xen offers a guest whose xl.cfg says `viridian = [...]`
 * (xen/arch/x86/hvm/viridian/viridian.c, docs/man/xl.cfg.5.pod.in). Microsoft's CPUID leaves,
 * synthetic MSRs and hypercalls take the base of the hypervisor range, and Xen's own leaves move to
 * 0x40000100 (see cpuid.ts), so a Windows guest written against the TLFS finds "Microsoft Hv"
 * first and a Xen-aware one still finds Xen.
 */
import { HV_CPUID, HV_INTERFACE_SIGNATURE, HV_MSR, HV_PRIV, HV_RECOMMEND, HV_STATUS, HV_VENDOR, HC } from "../hyperv/tlfs";
import type { Domain } from "./domain";
import { XenError } from "./errors";

/** The groups xl.cfg names (xl.cfg.5: viridian). */
export const VIRIDIAN_GROUPS = [
  "base", "freq", "time_ref_count", "reference_tsc", "hcall_remote_tlb_flush", "apic_assist",
  "crash_ctl", "stimer", "hcall_ipi", "ex_processor_masks", "no_vp_limit", "cpu_hotplug",
] as const;
export type ViridianGroup = (typeof VIRIDIAN_GROUPS)[number];

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
    const names: ViridianGroup[] = name === "defaults" ? DEFAULTS : name === "all" ? [...VIRIDIAN_GROUPS] : [name as ViridianGroup];
    for (const n of names) {
      if (!VIRIDIAN_GROUPS.includes(n)) throw new XenError("EINVAL", `unknown viridian enlightenment "${raw}" (xl.cfg: ${VIRIDIAN_GROUPS.join(", ")}, defaults, all)`);
      if (neg) on.delete(n);
      else on.add(n);
    }
  }
  // Every other group builds on base (libxl refuses them without it).
  if (on.size && !on.has("base")) throw new XenError("EINVAL", 'viridian enlightenments need the "base" group');
  return on;
}

interface ViridianState {
  groups: Set<ViridianGroup>;
  guestOsId: bigint;
  hypercallMsr: bigint;
  calls: number;
}

const states = new WeakMap<Domain, ViridianState>();

/** The domain's viridian state, or undefined when its xl.cfg enables none. */
export function viridianOf(d: Domain): ViridianState | undefined {
  let s = states.get(d);
  if (!s) {
    if (!d.config.viridian.length) return undefined;
    s = { groups: viridianGroups(d.config.viridian), guestOsId: 0n, hypercallMsr: 0n, calls: 0 };
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

/** The bytes Xen writes into the viridian hypercall page (viridian.c enable_hypercall_page). */
export function viridianHypercallPage(): Uint8Array {
  const page = new Uint8Array(4096).fill(0xcc); // int3 after the stub
  // or eax, 0x80000000 (marks a viridian call for Xen's vmcall handler); vmcall; ret
  page.set([0x0d, 0x00, 0x00, 0x00, 0x80, 0x0f, 0x01, 0xc1, 0xc3]);
  return page;
}

export type MsrResult = { value: bigint } | "gp" | "not-viridian";

/** rdmsr of a synthetic MSR: its value, #GP when its group is off, or not a viridian MSR. */
export function viridianRdmsr(s: ViridianState, msr: number, vcpuId: number, nowNs: number): MsrResult {
  switch (msr) {
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
export function viridianWrmsr(s: ViridianState, msr: number, value: bigint, writePage: (gpa: number, bytes: Uint8Array) => void): boolean | "not-viridian" {
  switch (msr) {
    case HV_MSR.GUEST_OS_ID:
      s.guestOsId = value;
      if (value === 0n) s.hypercallMsr &= ~1n; // clearing the OS id disables the page (TLFS 3.13)
      return true;
    case HV_MSR.HYPERCALL: {
      // The page may only be enabled once the guest has set its OS id (TLFS 3.13).
      if ((value & 1n) && s.guestOsId === 0n) return false;
      s.hypercallMsr = value & ~0xffen;
      if (value & 1n) writePage(Number(value & ~0xfffn), viridianHypercallPage());
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
