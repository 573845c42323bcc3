/**
 * The emulated local APIC, modelled on Xen's xen/arch/x86/hvm/vlapic.c (the register file, PPR,
 * EOI, IPIs, the timer on the platform clock) so both hosts give a guest the APIC Xen gives a
 * PVH/HVM domain: xAPIC MMIO at 0xfee00000, x2APIC MSRs 0x800-0x8ff once MSR_APIC_BASE.EXTD is
 * set, one-shot/periodic timer counting 10 ns bus cycles through the divider, TSC-deadline mode
 * through MSR 0x6e0, LVT masks (all masked while software-disabled), the spurious vector register,
 * TPR and fixed/lowest-priority/self/all IPIs.
 *
 * Delivery is the INTA handshake: the highest IRR vector above PPR is offered to the CPU
 * (Vcpu.injectInterrupt); when the CPU accepts it (Vcpu.interruptAccepted) it moves to ISR, and
 * an EOI clears the highest ISR bit and offers the next. A higher vector arriving, or TPR rising,
 * takes the offer back (Vcpu.withdrawInterrupt).
 */
import type { Gpa } from "../machine";
import type { MsrRange, PlatformDevice, PlatformVcpu } from "./devices";
import type { TimerSource } from "./timers";

/** Register offsets (Xen's asm/apicdef.h, the same as Linux's). */
export const APIC = {
  ID: 0x20, LVR: 0x30, TASKPRI: 0x80, ARBPRI: 0x90, PROCPRI: 0xa0, EOI: 0xb0, RRR: 0xc0, LDR: 0xd0, DFR: 0xe0, SPIV: 0xf0,
  ISR: 0x100, TMR: 0x180, IRR: 0x200, ESR: 0x280, CMCI: 0x2f0, ICR: 0x300, ICR2: 0x310,
  LVTT: 0x320, LVTTHMR: 0x330, LVTPC: 0x340, LVT0: 0x350, LVT1: 0x360, LVTERR: 0x370,
  TMICT: 0x380, TMCCT: 0x390, TDCR: 0x3e0, SELF_IPI: 0x3f0,
} as const;

/** apicdef.h bits. */
export const APIC_BITS = {
  LVT_MASKED: 1 << 16, SEND_PENDING: 1 << 12, VECTOR_MASK: 0xff, DM_MASK: 0x700, INPUT_POLARITY: 1 << 13,
  LVT_REMOTE_IRR: 1 << 14, LVT_LEVEL_TRIGGER: 1 << 15, TIMER_MODE_MASK: 3 << 17,
  TIMER_ONESHOT: 0, TIMER_PERIODIC: 1 << 17, TIMER_TSC_DEADLINE: 2 << 17,
  SPIV_APIC_ENABLED: 0x100, SPIV_FOCUS_DISABLED: 0x200,
  TDR_DIV_MASK: 0xb, TPRI_MASK: 0xff, LDR_MASK: 0xff << 24,
  DEST_LOGICAL: 0x800, INT_ASSERT: 0x4000, INT_LEVELTRIG: 0x8000,
  SHORT_MASK: 0xc0000, DEST_NOSHORT: 0, DEST_SELF: 0x40000, DEST_ALLINC: 0x80000, DEST_ALLBUT: 0xc0000,
  DM_FIXED: 0, DM_LOWEST: 0x100, DM_SMI: 0x200, DM_REMRD: 0x300, DM_NMI: 0x400, DM_INIT: 0x500, DM_STARTUP: 0x600,
  ESR_SENDILL: 0x20, ESR_RECVILL: 0x40,
  DFR_FLAT: 0xffffffff, DFR_CLUSTER: 0x0fffffff,
} as const;

/** msr-index.h: MSR_APIC_BASE and its bits, the x2APIC range and the TSC deadline. */
export const MSR_APIC_BASE = 0x1b;
export const APIC_BASE_BSP = 1n << 8n, APIC_BASE_EXTD = 1n << 10n, APIC_BASE_ENABLE = 1n << 11n;
export const APIC_BASE_ADDR_MASK = 0x000ffffffffff000n;
export const APIC_DEFAULT_PHYS_BASE = 0xfee00000;
export const MSR_X2APIC_FIRST = 0x800, MSR_X2APIC_LAST = 0x8ff;
export const MSR_IA32_TSC_DEADLINE = 0x6e0;

/** vlapic.c VLAPIC_VERSION (version 0x14, max LVT entry 5) and vlapic.h APIC_BUS_CYCLE_NS. */
export const VLAPIC_VERSION = 0x00050014;
export const APIC_BUS_CYCLE_NS = 10;

const B = APIC_BITS;
const LVT_MASK = B.LVT_MASKED | B.SEND_PENDING | B.VECTOR_MASK;
const LINT_MASK = LVT_MASK | B.DM_MASK | B.INPUT_POLARITY | B.LVT_REMOTE_IRR | B.LVT_LEVEL_TRIGGER;
/** vlapic_lvt_mask: the writable bits of LVTT, LVTTHMR, LVTPC, LVT0, LVT1, LVTERR. */
const LVT_WRITABLE = [LVT_MASK | B.TIMER_MODE_MASK, LVT_MASK | B.DM_MASK, LVT_MASK | B.DM_MASK, LINT_MASK, LINT_MASK, LVT_MASK];
const LVT_NUM = 6;

/** Registers readable through x2APIC MSRs (guest_rdmsr_x2apic's `readable` bitmap). */
const X2APIC_READABLE = new Set<number>([
  APIC.ID, APIC.LVR, APIC.TASKPRI, APIC.PROCPRI, APIC.LDR, APIC.SPIV, APIC.ESR, APIC.ICR, APIC.CMCI, APIC.LVTT, APIC.LVTTHMR,
  APIC.LVTPC, APIC.LVT0, APIC.LVT1, APIC.LVTERR, APIC.TMICT, APIC.TMCCT, APIC.TDCR,
  ...Array.from({ length: 8 }, (_, i) => APIC.ISR + i * 0x10), ...Array.from({ length: 8 }, (_, i) => APIC.TMR + i * 0x10),
  ...Array.from({ length: 8 }, (_, i) => APIC.IRR + i * 0x10),
]);

/** What the APIC needs from the host it is plugged into. */
export interface LapicHost {
  /** Virtual ns now (the platform clock; during an exit, the exit's time). */
  now(): number;
  /** The guest TSC at virtual time `ns`, and its inverse. */
  tscAt(ns: number): number;
  nsAtTsc(tsc: number): number;
  /** The vCPUs an IPI from `v` can reach (its domain's/partition's). */
  peers(v: PlatformVcpu): readonly PlatformVcpu[];
  /** The APIC ID of a vCPU (Xen: 2 × vcpu_id). */
  apicId(v: PlatformVcpu): number;
  /** Wakes a vCPU blocked in hlt/SCHEDOP_block because an interrupt became pending. */
  kick(v: PlatformVcpu): void;
  /** INIT/SIPI and NMI IPIs are the hypervisor's to act on (Xen pauses the target and runs a tasklet). */
  special?(from: PlatformVcpu, to: PlatformVcpu, icrLow: number): void;
}

/**
 * An APIC in a save image: Xen's HVM_SAVE_CODE(LAPIC) (struct hvm_hw_lapic: apic_base_msr,
 * disabled, timer_divisor, tdt_msr) and HVM_SAVE_CODE(LAPIC_REGS) (the 1 KiB register page),
 * plus the timer as time left rather than an absolute deadline (virtual time does not pass while
 * a domain is saved). 64-bit values are decimal strings so the record is plain JSON.
 */
export interface LapicSaveRecord {
  apicBaseMsr: string;
  swDisabled: boolean;
  timerDivisor: number;
  tdtMsr: string;
  pendingEsr: number;
  /** The register page as 256 32-bit words. */
  regs: number[];
  /** ns until the timer fires (absent: not armed), its period, and ns since its last (re)load. */
  timerIn?: number;
  period: number;
  sinceUpdate?: number;
}

/** One vCPU's APIC (struct vlapic). */
export class LapicState {
  readonly regs = new Uint32Array(0x400 / 4);
  apicBase = 0n;
  swDisabled = true;
  timerDivisor = 2;
  /** The timer: when it fires next (virtual ns), its period (periodic mode), and its last (re)load. */
  deadline = Infinity;
  period = 0;
  lastUpdate = 0;
  tdtMsr = 0n;
  pendingEsr = 0;
  /** The vector offered to the CPU and not yet accepted. */
  offered: number | undefined;

  constructor(readonly v: PlatformVcpu) {}

  get(reg: number): number { return this.regs[reg >> 2]!; }
  set(reg: number, val: number): void { this.regs[reg >> 2] = val >>> 0; }
  get hwEnabled(): boolean { return (this.apicBase & APIC_BASE_ENABLE) !== 0n; }
  get enabled(): boolean { return this.hwEnabled && !this.swDisabled; }
  get x2apic(): boolean { return (this.apicBase & APIC_BASE_EXTD) !== 0n; }
  testVector(base: number, vec: number): boolean { return (this.get(base + (vec >> 5) * 0x10) & (1 << (vec & 31))) !== 0; }
  setVector(base: number, vec: number, on: boolean): void {
    const r = base + (vec >> 5) * 0x10, m = 1 << (vec & 31);
    this.set(r, on ? this.get(r) | m : this.get(r) & ~m);
  }
  /** vlapic_find_highest_vector over IRR/ISR/TMR; -1 when empty. */
  highest(base: number): number {
    for (let w = 7; w >= 0; w--) {
      const x = this.get(base + w * 0x10);
      if (x !== 0) return w * 32 + 31 - Math.clz32(x);
    }
    return -1;
  }
  /** vlapic_get_ppr. */
  ppr(): number {
    const tpr = this.get(APIC.TASKPRI), isr = Math.max(0, this.highest(APIC.ISR));
    return (tpr & 0xf0) >= (isr & 0xf0) ? tpr & 0xff : isr & 0xf0;
  }
  /** The APIC ID as compared with destinations (_VLAPIC_ID). */
  id(): number { return this.x2apic ? this.get(APIC.ID) : this.get(APIC.ID) >>> 24; }
  get timerMode(): number { return this.get(APIC.LVTT) & B.TIMER_MODE_MASK; }
}

export class LocalApic implements PlatformDevice, TimerSource {
  readonly name = "local-apic";
  readonly msrs: readonly MsrRange[] = [
    { first: MSR_APIC_BASE, last: MSR_APIC_BASE }, { first: MSR_IA32_TSC_DEADLINE, last: MSR_IA32_TSC_DEADLINE },
    { first: MSR_X2APIC_FIRST, last: MSR_X2APIC_LAST },
  ];
  readonly mmio = [{ base: APIC_DEFAULT_PHYS_BASE as Gpa, size: 0x1000 }];
  private readonly states = new Map<string, LapicState>();

  constructor(private readonly host: LapicHost) {}

  /** The APIC of a vCPU, created at reset state (vlapic_reset) on first use. */
  state(v: PlatformVcpu): LapicState {
    let s = this.states.get(v.key);
    // A key names one vCPU for as long as it exists; a new vCPU under an old key starts afresh.
    if (!s || s.v.cpu !== v.cpu) {
      s = new LapicState(v);
      this.states.set(v.key, s);
      this.reset(s);
      v.cpu.interruptAccepted = (vec) => this.accepted(s!, vec);
    }
    return s;
  }

  /** The APIC's state for a save image (lapic_save_hidden + lapic_save_regs). */
  save(v: PlatformVcpu): LapicSaveRecord {
    const s = this.state(v), now = this.host.now();
    return {
      apicBaseMsr: s.apicBase.toString(), swDisabled: s.swDisabled, timerDivisor: s.timerDivisor, tdtMsr: s.tdtMsr.toString(),
      pendingEsr: s.pendingEsr, regs: Array.from(s.regs),
      timerIn: s.deadline === Infinity ? undefined : Math.max(0, s.deadline - now), period: s.period,
      sinceUpdate: s.lastUpdate ? now - s.lastUpdate : undefined,
    };
  }

  /**
   * Loads a saved APIC into `v` (lapic_load_hidden + lapic_load_regs): the register file, base
   * MSR (x2APIC mode included), the timer re-armed for the time it had left, and the best pending
   * vector offered to the CPU again. Throws naming a field that is not an APIC's.
   */
  load(v: PlatformVcpu, r: LapicSaveRecord): void {
    if (!Array.isArray(r.regs) || r.regs.length !== this.state(v).regs.length || !r.regs.every((x) => Number.isInteger(x) && x >= 0 && x <= 0xffffffff)) throw new Error("saved local APIC: the register page must be 256 32-bit words");
    if (![1, 2, 4, 8, 16, 32, 64, 128].includes(r.timerDivisor)) throw new Error(`saved local APIC: timer divisor ${r.timerDivisor} is not a power of two 1..128`);
    const base = BigInt(r.apicBaseMsr);
    if (base & ~(APIC_BASE_ADDR_MASK | APIC_BASE_ENABLE | APIC_BASE_BSP | APIC_BASE_EXTD)) throw new Error(`saved local APIC: MSR_APIC_BASE 0x${base.toString(16)} sets reserved bits`);
    const s = this.state(v), now = this.host.now();
    this.withdraw(s);
    s.regs.set(r.regs);
    s.apicBase = base;
    s.swDisabled = r.swDisabled;
    s.timerDivisor = r.timerDivisor;
    s.tdtMsr = BigInt(r.tdtMsr);
    s.pendingEsr = r.pendingEsr >>> 0;
    s.deadline = r.timerIn === undefined ? Infinity : now + r.timerIn;
    s.period = r.period;
    s.lastUpdate = r.sinceUpdate === undefined ? 0 : now - r.sinceUpdate;
    this.offer(s);
  }

  /** Forgets a vCPU's APIC (its domain was destroyed). */
  forget(key: string): void {
    this.states.delete(key);
  }

  /** vlapic_reset: enabled at the default base (BSP on vCPU 0), ID 2 × vcpu_id, then vlapic_do_init. */
  reset(s: LapicState): void {
    s.apicBase = APIC_BASE_ENABLE | BigInt(APIC_DEFAULT_PHYS_BASE) | (s.v.index === 0 ? APIC_BASE_BSP : 0n);
    s.regs.fill(0);
    s.set(APIC.ID, this.host.apicId(s.v) << 24);
    s.set(APIC.LVR, VLAPIC_VERSION);
    this.setTdcr(s, 0);
    s.set(APIC.DFR, 0xffffffff);
    for (let i = 0; i < LVT_NUM; i++) s.set(APIC.LVTT + 0x10 * i, B.LVT_MASKED);
    s.set(APIC.SPIV, 0xff);
    s.swDisabled = true;
    this.stopTimer(s);
    this.withdraw(s);
  }

  // ---- interrupts --------------------------------------------------------------------------

  /** vlapic_set_irq: a vector becomes pending in IRR (edge-triggered unless `level`). */
  setIrq(v: PlatformVcpu, vec: number, level = false): void {
    const s = this.state(v);
    if (vec < 16) { this.error(s, B.ESR_RECVILL); return; }
    s.setVector(APIC.TMR, vec, level);
    const was = s.testVector(APIC.IRR, vec);
    s.setVector(APIC.IRR, vec, true);
    this.offer(s);
    if (!was) this.host.kick(v);
  }

  /** Whether a vector is pending in IRR (vlapic_test_irq). */
  irrPending(v: PlatformVcpu, vec: number): boolean {
    return this.state(v).testVector(APIC.IRR, vec);
  }

  /** vlapic_has_pending_irq with the TPR/PPR check of interrupt delivery: the vector to offer, or -1. */
  private deliverable(s: LapicState): number {
    if (!s.enabled) return -1;
    const irr = s.highest(APIC.IRR);
    if (irr < 0) return -1;
    return (irr & 0xf0) > (s.ppr() & 0xf0) ? irr : -1;
  }

  /** Offers the best deliverable vector to the CPU, taking back a worse one already offered. */
  private offer(s: LapicState): void {
    const best = this.deliverable(s);
    if (best === (s.offered ?? -1)) return;
    this.withdraw(s);
    if (best >= 0) {
      s.offered = best;
      s.v.cpu.injectInterrupt(best);
    }
  }

  private withdraw(s: LapicState): void {
    if (s.offered !== undefined) s.v.cpu.withdrawInterrupt(s.offered);
    s.offered = undefined;
  }

  /** The CPU took a vector (vlapic_ack_pending_irq): IRR → ISR; a higher one may now nest. */
  private accepted(s: LapicState, vec: number): void {
    if (vec !== s.offered) return; // another source's vector (Xen's callback vector)
    s.offered = undefined;
    s.setVector(APIC.IRR, vec, false);
    s.setVector(APIC.ISR, vec, true);
    this.offer(s);
  }

  /** vlapic_EOI_set: clears the highest in-service vector. */
  private eoi(s: LapicState): void {
    const vec = s.highest(APIC.ISR);
    if (vec < 0) return;
    s.setVector(APIC.ISR, vec, false);
    this.offer(s);
  }

  private error(s: LapicState, bit: number): void {
    s.pendingEsr |= bit;
    const lvterr = s.get(APIC.LVTERR);
    if (!(lvterr & B.LVT_MASKED)) this.setIrq(s.v, lvterr & B.VECTOR_MASK);
  }

  // ---- IPIs --------------------------------------------------------------------------------

  private matchLogical(t: LapicState, mda: number): boolean {
    const ldr = t.get(APIC.LDR);
    if (t.x2apic) return ldr >>> 16 === mda >>> 16 && (ldr & mda & 0xffff) !== 0;
    const lid = ldr >>> 24, m = mda & 0xff;
    const dfr = t.get(APIC.DFR);
    if (dfr === B.DFR_FLAT) return (lid & m) !== 0;
    if (dfr === B.DFR_CLUSTER) return lid >> 4 === m >> 4 && (lid & m & 0xf) !== 0;
    return false;
  }

  /** vlapic_match_dest. */
  private matchDest(t: LapicState, src: LapicState, short: number, dest: number, logical: boolean): boolean {
    switch (short) {
      case B.DEST_NOSHORT:
        if (logical) return this.matchLogical(t, dest);
        return dest === (t.x2apic ? 0xffffffff : 0xff) || dest === t.id();
      case B.DEST_SELF: return t === src;
      case B.DEST_ALLINC: return true;
      default: return t !== src;
    }
  }

  /** vlapic_ipi. */
  private ipi(s: LapicState, low: number, high: number): void {
    const short = low & B.SHORT_MASK, logical = (low & B.DEST_LOGICAL) !== 0;
    const dest = s.x2apic ? high : high >>> 24;
    const dm = low & B.DM_MASK, vec = low & 0xff;
    const targets = this.host.peers(s.v).map((p) => this.state(p)).filter((t) => this.matchDest(t, s, short, dest, logical));
    if ((dm === B.DM_FIXED || dm === B.DM_LOWEST) && vec < 16) { this.error(s, B.ESR_SENDILL); return; }
    if (dm === B.DM_LOWEST) {
      // vlapic_lowest_prio: the enabled target with the lowest PPR (first found on ties).
      let best: LapicState | undefined;
      for (const t of targets) if (t.enabled && (!best || t.ppr() < best.ppr())) best = t;
      if (best) this.setIrq(best.v, vec);
      return;
    }
    for (const t of targets) {
      if (dm === B.DM_FIXED) { if (t.enabled) this.setIrq(t.v, vec); }
      else this.host.special?.(s.v, t.v, low);
    }
  }

  // ---- timer -------------------------------------------------------------------------------

  private setTdcr(s: LapicState, val: number): void {
    val &= B.TDR_DIV_MASK;
    s.set(APIC.TDCR, val);
    s.timerDivisor = 1 << ((((val & 3) | ((val & 8) >> 1)) + 1) & 7);
  }

  private stopTimer(s: LapicState): void {
    s.deadline = Infinity;
    s.period = 0;
    s.lastUpdate = 0;
  }

  /** vlapic_update_timer: (re)arms one-shot/periodic from TMICT and the divider. */
  private updateTimer(s: LapicState, lvtt: number, tmictUpdated: boolean, oldDivisor: number): void {
    const mode = lvtt & B.TIMER_MODE_MASK;
    const periodic = mode === B.TIMER_PERIODIC, oneshot = mode === B.TIMER_ONESHOT;
    const now = this.host.now();
    let period = s.get(APIC.TMICT) * APIC_BUS_CYCLE_NS * oldDivisor;
    let delta = 0;
    if (tmictUpdated) delta = period;
    else if (period && s.lastUpdate) {
      let passed = now - s.lastUpdate;
      if (s.timerMode === B.TIMER_PERIODIC) passed %= period;
      if (passed < period) delta = period - passed;
    }
    if (delta && (oneshot || periodic)) {
      if (s.timerDivisor !== oldDivisor) {
        period = s.get(APIC.TMICT) * APIC_BUS_CYCLE_NS * s.timerDivisor;
        delta = (delta * s.timerDivisor) / oldDivisor;
      }
      s.deadline = now + delta;
      s.period = periodic ? period : 0;
      s.lastUpdate = tmictUpdated ? now : now - (period - delta);
    } else this.stopTimer(s);
  }

  /** vlapic_get_tmcct: the current count, down from TMICT in bus cycles × divider. */
  private tmcct(s: LapicState): number {
    const tmict = s.get(APIC.TMICT);
    if (!tmict || !s.lastUpdate) return 0;
    let passed = Math.floor((this.host.now() - s.lastUpdate) / (APIC_BUS_CYCLE_NS * s.timerDivisor));
    if (s.timerMode === B.TIMER_PERIODIC) passed %= tmict;
    return passed < tmict ? tmict - passed : 0;
  }

  /** vlapic_tdt_msr_set. */
  private setTdt(s: LapicState, value: bigint): void {
    if (!s.hwEnabled || s.timerMode !== B.TIMER_TSC_DEADLINE) return;
    const now = this.host.now();
    const tsc = BigInt(this.host.tscAt(now));
    if (value > tsc) {
      s.tdtMsr = value;
      s.deadline = this.host.nsAtTsc(Number(value));
      s.period = 0;
      s.lastUpdate = now;
    } else {
      s.tdtMsr = 0n;
      if (value > 0n) { s.deadline = now; s.period = 0; s.lastUpdate = now; }
      else this.stopTimer(s);
    }
  }

  next(): number {
    let t = Infinity;
    for (const s of this.states.values()) if (s.deadline < t) t = s.deadline;
    return t;
  }

  /** The timer expiring: the LVTT vector goes pending unless masked (pt_update_irq). */
  fire(now: number): void {
    for (const s of this.states.values()) {
      if (s.deadline > now) continue;
      const at = s.deadline;
      if (s.period > 0) {
        s.lastUpdate = at;
        s.deadline = at + s.period * Math.max(1, Math.ceil((now - at) / s.period));
        if (s.deadline <= now) s.deadline += s.period;
      } else {
        s.deadline = Infinity;
        if (s.timerMode === B.TIMER_TSC_DEADLINE) s.tdtMsr = 0n;
      }
      const lvtt = s.get(APIC.LVTT);
      if (!(lvtt & B.LVT_MASKED) && s.enabled) this.setIrq(s.v, lvtt & B.VECTOR_MASK);
    }
  }

  // ---- registers ---------------------------------------------------------------------------

  /** vlapic_read_aligned. */
  private readReg(s: LapicState, off: number): number {
    switch (off) {
      case APIC.PROCPRI: return s.ppr();
      case APIC.TMCCT: return s.timerMode === B.TIMER_TSC_DEADLINE ? 0 : this.tmcct(s);
      case APIC.TMICT: return s.timerMode === B.TIMER_TSC_DEADLINE ? 0 : s.get(off);
      default: return s.get(off);
    }
  }

  /** vlapic_reg_write. */
  private writeReg(s: LapicState, off: number, val: number): void {
    val >>>= 0;
    switch (off) {
      case APIC.ID: s.set(off, val); break;
      case APIC.ESR: s.set(off, s.pendingEsr); s.pendingEsr = 0; break;
      case APIC.TASKPRI: s.set(off, val & 0xff); this.offer(s); break;
      case APIC.EOI: this.eoi(s); break;
      case APIC.LDR: s.set(off, val & B.LDR_MASK); break;
      case APIC.DFR: s.set(off, val | 0x0fffffff); break;
      case APIC.SPIV:
        s.set(off, val & 0x3ff);
        if (!(val & B.SPIV_APIC_ENABLED)) {
          s.swDisabled = true;
          for (let i = 0; i < LVT_NUM; i++) s.set(APIC.LVTT + 0x10 * i, s.get(APIC.LVTT + 0x10 * i) | B.LVT_MASKED);
          this.withdraw(s);
        } else {
          s.swDisabled = false;
          this.offer(s);
        }
        break;
      case APIC.ICR: {
        val &= ~B.SEND_PENDING;
        this.ipi(s, val, s.get(APIC.ICR2));
        s.set(off, val);
        break;
      }
      case APIC.ICR2: s.set(off, s.x2apic ? val : val & 0xff000000); break;
      case APIC.LVTT:
        if ((s.timerMode === B.TIMER_TSC_DEADLINE) !== ((val & B.TIMER_MODE_MASK) === B.TIMER_TSC_DEADLINE)) {
          s.set(APIC.TMICT, 0);
          s.tdtMsr = 0n;
        }
        this.updateTimer(s, val, false, s.timerDivisor);
        this.writeLvt(s, off, val);
        break;
      case APIC.LVTTHMR: case APIC.LVTPC: case APIC.LVT0: case APIC.LVT1: case APIC.LVTERR:
        this.writeLvt(s, off, val);
        break;
      case APIC.TMICT:
        if (s.timerMode === B.TIMER_TSC_DEADLINE) break;
        s.set(off, val);
        this.updateTimer(s, s.get(APIC.LVTT), true, s.timerDivisor);
        break;
      case APIC.TDCR: {
        const old = s.timerDivisor;
        this.setTdcr(s, val);
        this.updateTimer(s, s.get(APIC.LVTT), false, old);
        break;
      }
    }
  }

  /** An LVT write keeps its writable bits, and stays masked while the APIC is software-disabled. */
  private writeLvt(s: LapicState, off: number, val: number): void {
    if (s.swDisabled) val |= B.LVT_MASKED;
    s.set(off, val & LVT_WRITABLE[(off - APIC.LVTT) >> 4]!);
  }

  // ---- the bus: MMIO and MSRs --------------------------------------------------------------

  /** vlapic_mmio_read: any access fitting inside one 32-bit register; all ones once in x2APIC mode. */
  mmioRead(v: PlatformVcpu, gpa: Gpa, size: number): bigint {
    const s = this.state(v);
    if (!s.hwEnabled || s.x2apic) return (1n << BigInt(size * 8)) - 1n;
    const off = gpa - APIC_DEFAULT_PHYS_BASE, align = off & 0xf;
    if (align + size > 4 || off > APIC.TDCR + 3) return 0n;
    return BigInt((this.readReg(s, off & ~0xf) >>> (align * 8)) >>> 0) & ((1n << BigInt(size * 8)) - 1n);
  }

  /** vlapic_mmio_write: narrower stores merge into the register. */
  mmioWrite(v: PlatformVcpu, gpa: Gpa, size: number, value: bigint): void {
    const s = this.state(v);
    if (!s.hwEnabled || s.x2apic) return;
    const off0 = gpa - APIC_DEFAULT_PHYS_BASE, align = off0 & 0xf, off = off0 & ~0xf;
    if (align + size > 4 || off > APIC.TDCR) return;
    let val = Number(value & 0xffffffffn);
    if (size < 4) {
      const m = (size === 1 ? 0xff : 0xffff) << (align * 8);
      val = (this.readReg(s, off) & ~m) | ((val << (align * 8)) & m);
    }
    this.writeReg(s, off, val);
  }

  rdmsr(v: PlatformVcpu, msr: number): bigint | "gp" {
    const s = this.state(v);
    if (msr === MSR_APIC_BASE) return s.apicBase;
    if (msr === MSR_IA32_TSC_DEADLINE) return s.timerMode === B.TIMER_TSC_DEADLINE ? s.tdtMsr : 0n;
    // guest_rdmsr_x2apic
    const off = (msr - MSR_X2APIC_FIRST) << 4;
    if (!s.x2apic || !X2APIC_READABLE.has(off)) return "gp";
    const high = off === APIC.ICR ? BigInt(this.readReg(s, APIC.ICR2)) << 32n : 0n;
    return high | BigInt(this.readReg(s, off) >>> 0);
  }

  wrmsr(v: PlatformVcpu, msr: number, value: bigint): true | "gp" {
    const s = this.state(v);
    if (msr === MSR_APIC_BASE) return this.writeApicBase(s, value);
    if (msr === MSR_IA32_TSC_DEADLINE) { this.setTdt(s, value); return true; }
    // guest_wrmsr_x2apic
    if (!s.x2apic) return "gp";
    let off = (msr - MSR_X2APIC_FIRST) << 4;
    const lo = Number(value & 0xffffffffn), hi = value >> 32n;
    const fits = (m: number) => hi === 0n && (lo & ~m) === 0;
    switch (off) {
      case APIC.TASKPRI: if (!fits(B.TPRI_MASK)) return "gp"; break;
      case APIC.SPIV: if (!fits(B.VECTOR_MASK | B.SPIV_APIC_ENABLED | B.SPIV_FOCUS_DISABLED)) return "gp"; break;
      case APIC.LVTT: if (!fits(LVT_MASK | B.TIMER_MODE_MASK)) return "gp"; break;
      case APIC.LVTTHMR: case APIC.LVTPC: case APIC.CMCI: if (!fits(LVT_MASK | B.DM_MASK)) return "gp"; break;
      case APIC.LVT0: case APIC.LVT1: if (!fits(LINT_MASK)) return "gp"; break;
      case APIC.LVTERR: if (!fits(LVT_MASK)) return "gp"; break;
      case APIC.TMICT: if (hi !== 0n) return "gp"; break;
      case APIC.TDCR: if (!fits(B.TDR_DIV_MASK)) return "gp"; break;
      case APIC.ICR:
        if ((lo & ~(B.VECTOR_MASK | B.DM_MASK | B.DEST_LOGICAL | B.INT_ASSERT | B.INT_LEVELTRIG | B.SHORT_MASK)) !== 0) return "gp";
        s.set(APIC.ICR2, Number(hi & 0xffffffffn));
        break;
      case APIC.SELF_IPI:
        if (value & ~BigInt(B.VECTOR_MASK)) return "gp";
        off = APIC.ICR;
        this.writeReg(s, off, B.DEST_SELF | lo);
        return true;
      case APIC.EOI: case APIC.ESR: if (value !== 0n) return "gp"; break;
      default: return "gp";
    }
    this.writeReg(s, off, lo);
    return true;
  }

  /** guest_wrmsr_apic_base. */
  private writeApicBase(s: LapicState, val: bigint): true | "gp" {
    if (val & ~(APIC_BASE_ADDR_MASK | APIC_BASE_ENABLE | APIC_BASE_BSP | APIC_BASE_EXTD)) return "gp";
    // The xAPIC window stays at its default place (Xen refuses a move with #GP).
    if ((val & (APIC_BASE_EXTD | APIC_BASE_ENABLE)) === APIC_BASE_ENABLE && (val & APIC_BASE_ADDR_MASK) !== BigInt(APIC_DEFAULT_PHYS_BASE)) return "gp";
    if ((s.apicBase ^ val) & APIC_BASE_ENABLE) {
      if (val & APIC_BASE_EXTD) return "gp";
      if (val & APIC_BASE_ENABLE) { this.reset(s); }
    } else if (((s.apicBase ^ val) & APIC_BASE_EXTD) && !(s.hwEnabled && !s.x2apic)) return "gp";
    s.apicBase = val;
    if (s.x2apic) {
      // set_x2apic_id: the full ID and the LDR derived from it (cluster << 16 | 1 << (id & 15)).
      const id = this.host.apicId(s.v);
      s.set(APIC.ID, id);
      s.set(APIC.LDR, ((id & ~0xf) << 12) | (1 << (id & 0xf)));
    }
    if (!s.hwEnabled) this.withdraw(s);
    return true;
  }
}
