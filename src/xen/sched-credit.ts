/**
 * The credit scheduler (xen/common/sched/credit.c), in virtual time: per-pCPU runqueues ordered
 * by priority (BOOST > UNDER > OVER), a 30 ms time slice, a 10 ms tick that burns the running
 * vCPU's credit and demotes BOOST, and accounting every slice that shares
 * CSCHED_CREDITS_PER_TSLICE × nr_pcpus credits among active domains by weight, clipped by cap.
 */
import { Pcpu as PlatformPcpu, Scheduler } from "../platform";
import { CSCHED_PRI, XenVcpu } from "./xen-vcpu";

/** credit.c constants. */
export const CSCHED_CREDITS_PER_MSEC = 10;
export const CSCHED_TICKS_PER_TSLICE = 3;
export const CSCHED_DEFAULT_TSLICE_MS = 30;
export const CSCHED_DEFAULT_WEIGHT = 256;
export const CSCHED_CREDITS_PER_TSLICE = CSCHED_CREDITS_PER_MSEC * CSCHED_DEFAULT_TSLICE_MS;
/** Xen's default ratelimit (sched_ratelimit_us) and vcpu migration delay, shown by xl sched-credit. */
export const SCHED_DEFAULT_RATELIMIT_US = 1000;
export const MS = 1_000_000;

/** A pCPU running Xen vCPUs (the platform's pCPU). */
export class Pcpu extends PlatformPcpu<XenVcpu> {}

export interface SchedDomainParams {
  weight: number;
  cap: number;
}

export class CreditScheduler implements Scheduler<XenVcpu> {
  readonly name = "credit";
  readonly tsliceNs = CSCHED_DEFAULT_TSLICE_MS * MS;
  readonly tickNs = (CSCHED_DEFAULT_TSLICE_MS / CSCHED_TICKS_PER_TSLICE) * MS;
  /** Accounting and tick counts (for views). */
  accountings = 0;
  ticks = 0;
  migrations = 0;

  constructor(readonly pcpus: PlatformPcpu<XenVcpu>[], private readonly params: (v: XenVcpu) => SchedDomainParams) {}

  private runqInsert(p: PlatformPcpu<XenVcpu>, v: XenVcpu): void {
    // Ordered by priority, FIFO within a priority (credit.c runq_insert).
    let i = 0;
    while (i < p.runq.length && p.runq[i]!.pri >= v.pri) i++;
    p.runq.splice(i, 0, v);
    v.pcpu = p.id;
  }

  /** Picks a pCPU for a vCPU becoming runnable: an idle allowed pCPU if any, else its last one. */
  private placeFor(v: XenVcpu): PlatformPcpu<XenVcpu> {
    const last = this.pcpus[v.pcpu];
    const idle = (p: PlatformPcpu<XenVcpu>) => p.current === undefined && p.runq.length === 0;
    if (last && v.allowedOn(last.id) && idle(last)) return last;
    for (let k = 1; k <= this.pcpus.length; k++) {
      const p = this.pcpus[(v.pcpu + k) % this.pcpus.length]!;
      if (v.allowedOn(p.id) && idle(p)) { if (p !== last) this.migrations++; return p; }
    }
    if (last && v.allowedOn(last.id)) return last;
    let best: PlatformPcpu<XenVcpu> | undefined;
    for (const p of this.pcpus) if (v.allowedOn(p.id) && (!best || p.runq.length < best.runq.length)) best = p;
    return best ?? this.pcpus[0]!;
  }

  /** A vCPU becomes runnable (wake or unpause): BOOST if it has credit (csched_unit_wake). */
  wake(v: XenVcpu, boost: boolean): void {
    if (boost && v.pri === CSCHED_PRI.UNDER && !v.parked) v.pri = CSCHED_PRI.BOOST;
    this.runqInsert(this.placeFor(v), v);
  }

  /** Puts a descheduled but still runnable vCPU back on its queue (after a slice or a yield). */
  requeue(v: XenVcpu, yielded = false): void {
    const p = this.pcpus[v.pcpu] && v.allowedOn(v.pcpu) ? this.pcpus[v.pcpu]! : this.placeFor(v);
    if (yielded) {
      // SCHEDOP_yield: behind every vCPU of the same priority.
      p.runq.push(v);
      p.runq.sort((a, b) => b.pri - a.pri);
      v.pcpu = p.id;
    } else this.runqInsert(p, v);
  }

  remove(v: XenVcpu): void {
    for (const p of this.pcpus) {
      const i = p.runq.indexOf(v);
      if (i >= 0) p.runq.splice(i, 1);
      if (p.current === v) p.current = undefined;
    }
  }

  /**
   * Next vCPU for a pCPU (csched_schedule + csched_load_balance): the head of the local queue if
   * it is UNDER or better, else work stolen from a peer's queue with a higher priority.
   */
  pick(p: PlatformPcpu<XenVcpu>): XenVcpu | undefined {
    // A parked (capped, out of credit) vCPU waits for the next accounting.
    const eligible = (v: XenVcpu) => !v.parked;
    let localIdx = p.runq.findIndex(eligible);
    const local = localIdx >= 0 ? p.runq[localIdx] : undefined;
    if (!local || local.pri <= CSCHED_PRI.OVER) {
      let steal: { q: PlatformPcpu<XenVcpu>; i: number } | undefined;
      const floor = local?.pri ?? CSCHED_PRI.IDLE;
      for (let k = 1; k < this.pcpus.length; k++) {
        const q = this.pcpus[(p.id + k) % this.pcpus.length]!;
        // Queues are ordered by priority: a peer whose head is no better has nothing to steal.
        const head = q.runq[0];
        if (head === undefined || head.pri <= floor || (steal && head.pri <= steal.q.runq[steal.i]!.pri)) continue;
        const i = q.runq.findIndex((v) => eligible(v) && v.allowedOn(p.id) && v.pri > floor);
        if (i >= 0 && (!steal || q.runq[i]!.pri > steal.q.runq[steal.i]!.pri)) steal = { q, i };
      }
      if (steal) {
        const [v] = steal.q.runq.splice(steal.i, 1);
        v!.pcpu = p.id;
        this.migrations++;
        return v;
      }
    }
    if (!local) return undefined;
    p.runq.splice(localIdx, 1);
    localIdx = -1;
    return local;
  }

  hasWork(p: PlatformPcpu<XenVcpu>): boolean {
    return p.runq.some((v) => !v.parked);
  }

  waitsForAccounting(): boolean {
    return this.pcpus.some((p) => p.runq.some((v) => v.parked));
  }

  /** Whether a queued vCPU should preempt the running one (tickle on wake / at ticks). */
  shouldPreempt(p: PlatformPcpu<XenVcpu>): boolean {
    const cur = p.current;
    if (!cur) return false;
    const head = p.runq[0];
    return head !== undefined && head.pri > cur.pri;
  }

  /** Burns credit for time run (csched_vcpu_acct/burn_credits: 10 credits per ms). */
  burn(v: XenVcpu, ns: number): void {
    v.credit -= (ns * CSCHED_CREDITS_PER_MSEC) / MS;
    if (!v.active) v.active = true;
    const { cap } = this.params(v);
    if (v.credit < 0 && v.pri !== CSCHED_PRI.BOOST) v.pri = CSCHED_PRI.OVER;
    if (cap > 0 && v.credit < -((cap * CSCHED_CREDITS_PER_TSLICE + 99) / 100)) v.parked = true;
  }

  /** The 10 ms tick on every pCPU: the running vCPU leaves BOOST (csched_tick → csched_vcpu_acct). */
  tick(): void {
    this.ticks++;
    for (const p of this.pcpus) {
      const v = p.current;
      if (v && v.pri === CSCHED_PRI.BOOST) v.pri = CSCHED_PRI.UNDER;
    }
  }

  /** Accounting (csched_acct): share credits among active vCPUs by domain weight, honour caps. */
  account(all: XenVcpu[]): void {
    this.accountings++;
    const creditTotal = CSCHED_CREDITS_PER_TSLICE * this.pcpus.length;
    const byDom = new Map<unknown, XenVcpu[]>();
    for (const v of all) {
      if (!v.active) continue;
      const list = byDom.get(v.domain) ?? [];
      list.push(v);
      byDom.set(v.domain, list);
    }
    let weightTotal = 0;
    for (const vs of byDom.values()) weightTotal += this.params(vs[0]!).weight * vs.length;
    if (weightTotal === 0) return;
    for (const vs of byDom.values()) {
      const { weight, cap } = this.params(vs[0]!);
      let fair = Math.ceil((creditTotal * weight * vs.length) / weightTotal);
      if (cap > 0) fair = Math.min(fair, Math.ceil((cap * CSCHED_CREDITS_PER_TSLICE) / 100) * vs.length);
      const perVcpu = Math.ceil(fair / vs.length);
      for (const v of vs) {
        v.credit += perVcpu;
        if (v.credit < 0) {
          v.pri = CSCHED_PRI.OVER;
          if (cap > 0 && v.credit < -((cap * CSCHED_CREDITS_PER_TSLICE + 99) / 100)) v.parked = true;
          if (v.credit < -CSCHED_CREDITS_PER_TSLICE) v.credit = -CSCHED_CREDITS_PER_TSLICE;
        } else {
          if (v.pri !== CSCHED_PRI.BOOST) v.pri = CSCHED_PRI.UNDER;
          v.parked = false;
          if (v.credit > CSCHED_CREDITS_PER_TSLICE) {
            // Too much credit: stop accounting it and halve (credit.c csched_acct).
            v.active = false;
            v.credit /= 2;
          }
        }
      }
    }
    // Re-sort queues by the new priorities.
    for (const p of this.pcpus) p.runq.sort((a, b) => b.pri - a.pri);
  }
}
