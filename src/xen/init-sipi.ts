/**
 * INIT and startup IPIs to an HVM/PVH vCPU, as Xen's vlapic acts on them (xen/arch/x86/hvm/
 * vlapic.c vlapic_init_sipi_one, hvm.c hvm_vcpu_reset_state): INIT takes an initialised vCPU
 * down and resets it and its local APIC; a startup IPI starts an uninitialised vCPU in real mode
 * at vector × 4096 (CS = vector << 8, IP = 0), which is how Linux brings its APs up on PVH
 * (native_cpu_up → wakeup_secondary_cpu_via_init). A second SIPI to a started vCPU is ignored,
 * as Xen ignores it. The vCPU itself then runs the real-mode code (src/machine/realmode.ts,
 * emit/modes16.ts) and the trampoline's far jump into protected mode.
 */
import type { Vcpu } from "../machine";
import { APIC_BITS, LocalApic } from "../platform/lapic";
import type { PlatformVcpu } from "../platform/devices";
import type { Runstate } from "./abi";

/** What of a Xen vCPU the IPIs touch (XenVcpu; named structurally so this file needs no host). */
export interface SipiVcpu {
  readonly id: number;
  readonly domain: { readonly domid: number };
  readonly cpu: Vcpu | undefined;
  readonly platform: PlatformVcpu;
  initialised: boolean;
  down: boolean;
  pcpu: number;
  setRunstate(s: Runstate, now: number): void;
}

/** What of the host they use (XenHost). */
export interface SipiHost<V extends SipiVcpu> {
  readonly now: number;
  readonly sched: { remove(v: V): void };
  readonly pcpus: readonly { current: V | undefined }[];
  readonly lapic: LocalApic;
  log(line: string): void;
  makeRunnable(v: V, boost: boolean): void;
}

/** X86_CR0_ET: hvm_vcpu_reset_state's CR0. */
const X86_CR0_ET = 1 << 4;

/** vlapic_init_sipi_one: one target of an INIT or STARTUP IPI. */
export function initSipiOne<V extends SipiVcpu>(host: SipiHost<V>, target: V, icr: number): void {
  const dm = icr & APIC_BITS.DM_MASK;
  if (dm === APIC_BITS.DM_INIT) {
    // No work on INIT de-assert (level-triggered, not asserted), nor for a vCPU already reset.
    if ((icr & (APIC_BITS.INT_LEVELTRIG | APIC_BITS.INT_ASSERT)) === APIC_BITS.INT_LEVELTRIG) return;
    if (!target.initialised) return;
    // hvm_vcpu_down, vcpu_reset, vlapic_do_init.
    host.sched.remove(target);
    const p = host.pcpus[target.pcpu];
    if (p?.current === target) p.current = undefined;
    target.down = true;
    target.initialised = false;
    target.setRunstate("offline", host.now);
    host.lapic.reset(host.lapic.state(target.platform));
    return;
  }
  if (dm === APIC_BITS.DM_STARTUP) {
    if (!hvmVcpuResetState(target, (icr & 0xff) << 8, 0)) return;
    host.log(`d${target.domain.domid}v${target.id}: startup IPI, vector 0x${(icr & 0xff).toString(16)}: real mode at ${((icr & 0xff) << 12).toString(16).padStart(5, "0")}`);
    host.makeRunnable(target, false);
    return;
  }
  host.log(`d${target.domain.domid}v${target.id}: IPI delivery mode ${(dm >> 8) & 7} not emulated`);
}

/**
 * hvm_vcpu_reset_state: registers cleared, CR0 = ET, real-mode segments (CS base = cs × 16,
 * 64 KiB limits), descriptor tables at 0 with limit 0xffff, EFER 0. The TSC needs no sync: every
 * vCPU's follows virtual time. Returns false (nothing done) for an initialised vCPU.
 */
export function hvmVcpuResetState(v: SipiVcpu, cs: number, ip: number): boolean {
  if (v.initialised || !v.cpu) return false;
  const cpu = v.cpu;
  const st = cpu.getState();
  for (const r of Object.keys(st.gprs) as (keyof typeof st.gprs)[]) st.gprs[r] = 0n;
  Object.assign(st, {
    rip: BigInt(ip), rflags: 0x2, cr0: X86_CR0_ET, cr2: 0n, cr3: 0n, cr4: 0, efer: 0,
    cs: { selector: cs, long: false, db: false }, ss: 0, ds: 0, es: 0, fs: 0, gs: 0, fsBase: 0n, gsBase: 0n,
    gdtr: { base: 0n, limit: 0xffff }, idtr: { base: 0n, limit: 0xffff },
    tr: { selector: 0, base: 0n, limit: 0xffff }, ldtr: { selector: 0, base: 0n, limit: 0xffff }, cpl: 0,
    // The hidden parts as hvm_vcpu_reset_state writes them (hvm_set_segment_register): CS base
    // cs << 4, the data segments' base 0, every limit 0xffff, a 16-bit stack. Not the caches
    // getState returned, which hold whatever mode the vCPU was in before (flat 4 GiB segments).
    segCache: { es: 0, cs: cs << 4, ss: 0, ds: 0, limits: [0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff], ssBig: false },
  });
  cpu.setState(st);
  v.initialised = true;
  v.down = false;
  return true;
}
