/**
 * Architectural MSRs as Xen answers them to a PVH/HVM guest, as a platform device.
 * MSR_IA32_MISC_ENABLE (0x1a0; Intel SDM vol. 4 table 2-2): Xen reads the host's value and
 * passes it through guest_misc_enable() (xen/arch/x86/msr.c): PERF_AVAIL and MONITOR_ENABLE
 * cleared, BTS_UNAVAIL, PEBS_UNAVAIL and XTPR_DISABLE set; a write that changes it is #GP. Linux
 * reads it in early_init_intel before any IDT exists, so a #GP there is a triple fault.
 */
import type { PlatformDevice } from "../platform/devices";

export const MSR_IA32_MISC_ENABLE = 0x1a0;
/** msr-index.h MSR_IA32_MISC_ENABLE_* bits. */
export const MISC_ENABLE = {
  FAST_STRING: 1n << 0n, PERF_AVAIL: 1n << 7n, BTS_UNAVAIL: 1n << 11n, PEBS_UNAVAIL: 1n << 12n,
  MONITOR_ENABLE: 1n << 18n, XTPR_DISABLE: 1n << 23n,
} as const;

/** guest_misc_enable() of xen/arch/x86/msr.c. */
export const guestMiscEnable = (host: bigint): bigint =>
  (host & ~(MISC_ENABLE.PERF_AVAIL | MISC_ENABLE.MONITOR_ENABLE)) | MISC_ENABLE.BTS_UNAVAIL | MISC_ENABLE.PEBS_UNAVAIL | MISC_ENABLE.XTPR_DISABLE;

/** The emulated host's own MISC_ENABLE: fast strings on, performance monitoring available. */
const HOST_MISC_ENABLE = MISC_ENABLE.FAST_STRING | MISC_ENABLE.PERF_AVAIL;

export function pvhMsrs(): PlatformDevice {
  return {
    name: "xen-pvh-msrs",
    msrs: [{ first: MSR_IA32_MISC_ENABLE, last: MSR_IA32_MISC_ENABLE }],
    rdmsr: () => guestMiscEnable(HOST_MISC_ENABLE),
    wrmsr: (_v, _msr, value) => (value === guestMiscEnable(HOST_MISC_ENABLE) ? true : "gp"),
  };
}
