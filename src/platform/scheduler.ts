/**
 * The scheduler as an ops table plugged into the run loop (xen/common/sched/core.c with
 * struct scheduler: the core owns pCPUs, time and the run loop; a policy only decides who runs).
 * Xen's credit scheduler (src/xen/sched-credit.ts) and Hyper-V's VP scheduler
 * (src/hyperv/vp-scheduler.ts) implement it.
 */
import type { Vcpu } from "../machine";

/** Xen's runstates (public/vcpu.h RUNSTATE_*), used for every schedulable vCPU. */
export type UnitRunstate = "running" | "runnable" | "blocked" | "offline";

/** What the core needs of a schedulable vCPU (Xen's struct sched_unit). */
export interface SchedUnit {
  /** The machine vCPU it runs. */
  readonly cpu: Vcpu | undefined;
  /** The pCPU it last ran on or is queued on. */
  pcpu: number;
  readonly runstate: UnitRunstate;
  setRunstate(s: UnitRunstate, now: number): void;
  /** Earliest virtual time it may start running (when it became runnable). */
  readyAt: number;
}

/** A physical CPU of the host: what it runs now and its queue (struct sched_resource). */
export class Pcpu<V extends SchedUnit = SchedUnit> {
  current: V | undefined;
  readonly runq: V[] = [];
  /** When the current vCPU's slice ends (virtual ns). */
  sliceEnd = 0;
  /** Virtual ns spent running guests. */
  busyNs = 0;
  constructor(readonly id: number) {}
}

export interface Scheduler<V extends SchedUnit> {
  /** As `xl info` names it ("credit", "hyperv"). */
  readonly name: string;
  /** Time slice, and the accounting period (virtual ns). */
  readonly tsliceNs: number;
  /** The scheduler tick (virtual ns). */
  readonly tickNs: number;
  /** A vCPU becomes runnable (wake, unpause, bring-up); `boost` for a wake from blocking. */
  wake(v: V, boost: boolean): void;
  /** A descheduled but still runnable vCPU goes back on a queue (slice over, or yielded). */
  requeue(v: V, yielded?: boolean): void;
  /** Takes a vCPU off every queue (block, pause, shutdown, destroy). */
  remove(v: V): void;
  /** The next vCPU for a pCPU, taken off its queue; undefined when nothing may run there. */
  pick(p: Pcpu<V>): V | undefined;
  /** Whether a queued vCPU should preempt the one running on `p`. */
  shouldPreempt(p: Pcpu<V>): boolean;
  /** Charges `ns` of run time to a vCPU. */
  burn(v: V, ns: number): void;
  /** The periodic tick on every pCPU. */
  tick(): void;
  /** Accounting every slice, over every schedulable vCPU. */
  account(all: V[]): void;
  /** Whether `p` has work it may run now. */
  hasWork(p: Pcpu<V>): boolean;
  /** Whether queued vCPUs wait for the next accounting (capped): idle time must stop there. */
  waitsForAccounting(): boolean;
}
