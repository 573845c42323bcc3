/**
 * Architectural MSRs as Xen's guest_rdmsr/guest_wrmsr (xen/arch/x86/msr.c) answer them to a
 * PVH/HVM guest on an Intel host, as a platform device. Linux reads MISC_ENABLE and UCODE_REV in
 * early_init_intel before any IDT exists, so a #GP there is a triple fault.
 */
import type { PlatformDevice } from "../platform/devices";

/** msr-index.h numbers (Intel SDM vol. 4 table 2-2). */
export const MSR_IA32_PLATFORM_ID = 0x17;
export const MSR_IA32_FEATURE_CONTROL = 0x3a;
export const MSR_IA32_UCODE_REV = 0x8b;
export const MSR_IA32_MISC_ENABLE = 0x1a0;
export const MSR_IA32_CR_PAT = 0x277;
/** msr-index.h MSR_IA32_CR_PAT_RESET: WB WT UC- UC, twice (the power-on PAT). */
export const MSR_IA32_CR_PAT_RESET = 0x0007040600070406n;
/** msr-index.h MSR_IA32_MISC_ENABLE_* bits. */
export const MISC_ENABLE = {
  FAST_STRING: 1n << 0n, PERF_AVAIL: 1n << 7n, BTS_UNAVAIL: 1n << 11n, PEBS_UNAVAIL: 1n << 12n,
  MONITOR_ENABLE: 1n << 18n, XTPR_DISABLE: 1n << 23n,
} as const;
/** msr-index.h IA32_FEATURE_CONTROL_LOCK. */
export const FEATURE_CONTROL_LOCK = 1n;

/** guest_misc_enable() of xen/arch/x86/msr.c: PERF_AVAIL and MONITOR cleared, BTS/PEBS unavailable, xTPR disabled. */
export const guestMiscEnable = (host: bigint): bigint =>
  (host & ~(MISC_ENABLE.PERF_AVAIL | MISC_ENABLE.MONITOR_ENABLE)) | MISC_ENABLE.BTS_UNAVAIL | MISC_ENABLE.PEBS_UNAVAIL | MISC_ENABLE.XTPR_DISABLE;

/** The emulated host's own MSRs: fast strings on, performance monitoring available, no microcode loaded. */
const HOST_MISC_ENABLE = MISC_ENABLE.FAST_STRING | MISC_ENABLE.PERF_AVAIL;
const HOST_UCODE_REV = 0n;
const HOST_PLATFORM_ID = 0n;

const one = (msr: number) => ({ first: msr, last: msr });

/** hvm.c pat_valid: every entry a memory type PAT defines (UC 0, WC 1, WT 4, WP 5, WB 6, UC- 7). */
export function patValid(v: bigint): boolean {
  for (let i = 0n; i < 8n; i++) {
    const t = Number((v >> (i * 8n)) & 0xffn);
    if (t === 2 || t === 3 || t > 7) return false;
  }
  return true;
}

/** The device, plus each vCPU's PAT for save and restore (HVM_SAVE_CODE(MTRR) msr_pat_cr). */
export interface PvhMsrs extends PlatformDevice {
  patOf(cpu: object): bigint;
  /** hvm_set_guest_pat for a restored vCPU: false (nothing set) for a reserved memory type. */
  setPat(cpu: object, value: bigint): boolean;
}

export function pvhMsrs(): PvhMsrs {
  /** Each vCPU's PAT (v->arch.hvm.pat_cr), from the reset value. */
  const pat = new WeakMap<object, bigint>();
  return {
    patOf: (cpu) => pat.get(cpu) ?? MSR_IA32_CR_PAT_RESET,
    setPat: (cpu, value) => {
      if (!patValid(value)) return false;
      pat.set(cpu, value);
      return true;
    },
    name: "xen-pvh-msrs",
    msrs: [one(MSR_IA32_PLATFORM_ID), one(MSR_IA32_FEATURE_CONTROL), one(MSR_IA32_UCODE_REV), one(MSR_IA32_MISC_ENABLE), one(MSR_IA32_CR_PAT)],
    rdmsr: (v, msr) => {
      switch (msr) {
        case MSR_IA32_CR_PAT: return pat.get(v.cpu) ?? MSR_IA32_CR_PAT_RESET;
        // The host's value passed through (Intel only).
        case MSR_IA32_PLATFORM_ID: return HOST_PLATFORM_ID;
        // Locked, no VMX outside SMX (the guest's CPUID has no VMX), no LMCE.
        case MSR_IA32_FEATURE_CONTROL: return FEATURE_CONTROL_LOCK;
        // Xen's last microcode load, forwarded straight to the guest (in EDX, the high half).
        case MSR_IA32_UCODE_REV: return HOST_UCODE_REV << 32n;
        default: return guestMiscEnable(HOST_MISC_ENABLE);
      }
    },
    wrmsr: (v, msr, value) => {
      switch (msr) {
        // hvm_set_guest_pat: a reserved memory type in any entry is #GP.
        case MSR_IA32_CR_PAT:
          if (!patValid(value)) return "gp";
          pat.set(v.cpu, value);
          return true;
        // Read-only, but Intel documents writing 0 before reading it: Xen takes exactly that.
        case MSR_IA32_UCODE_REV: return value === 0n ? true : "gp";
        case MSR_IA32_MISC_ENABLE: return value === guestMiscEnable(HOST_MISC_ENABLE) ? true : "gp";
        default: return "gp";
      }
    },
  };
}
