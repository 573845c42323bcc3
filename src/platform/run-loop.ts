/**
 * The vCPU run loop, shared by both hypervisors (xen/common/sched/core.c's role): pCPUs advance
 * in lockstep quanta of virtual time; in each quantum every pCPU runs what its scheduler picks,
 * for at most the rest of its slice, and hands each exit to the hypervisor. Scheduler ticks and
 * accounting happen at their exact virtual times, timers fire after each step of time, and when
 * every vCPU is idle time jumps to the next timer. Long runs check for a Jupyter interrupt
 * between quanta and stop at a consistent point (after a whole instruction).
 *
 * The hypervisor plugs in through `Personality`: what happens when a vCPU is scheduled in, before
 * each slice, and on each exit. Everything else (time, pCPUs, the scheduler core, timers, the
 * instruction count) is owned here.
 */
import type { Exit } from "../machine";
import { checkInterrupt, KeyboardInterrupt } from "../interrupt";
import { VirtualClock } from "./clock";
import { Pcpu, SchedUnit, Scheduler } from "./scheduler";
import { Timers } from "./timers";

export interface Personality<V extends SchedUnit> {
  /** Every vCPU the scheduler accounts (Xen: those of domUs). */
  units(): V[];
  /** A vCPU starts running on a pCPU at `t` (Xen publishes vcpu_time_info). */
  scheduledIn?(v: V, t: number): void;
  /** Before each slice of a running vCPU (Xen injects a pending event upcall). */
  beforeSlice?(v: V, t: number): void;
  /** An exit of `v` at virtual time `t`. */
  handleExit(v: V, x: Exit, t: number): void;
  /** The exit to report when the emulator itself failed on a guest's code. */
  emulationFailed(v: V, e: Error): Exit;
  /** Work between quanta (the toolstack acting on shut-down domains). */
  betweenQuanta?(): void;
  /** Set by an exit that must stop the whole run now (a breakpoint). */
  stopRequested(): boolean;
  /** `v` ran [start, end) on pCPU `pcpu` (for the timeline). */
  ran?(pcpu: number, v: V, start: number, end: number): void;
  /** Called between quanta every ~20 ms of wall time (live displays). */
  onSlice?(): void;
}

export interface CoreRunOptions {
  /** Virtual time to run, in ns (default: until `until` or every vCPU is idle). */
  ns?: number;
  /** Stop as soon as this returns true (checked between quanta). */
  until?: () => boolean;
  /** Stop after this many instructions in total (default 2e9 when `ns` is not given). */
  maxInstructions?: number;
  onSlice?: () => void;
}

export interface CoreRunResult {
  startNs: number;
  endNs: number;
  instructions: number;
  stoppedBy: "time" | "until" | "idle" | "instructions" | "breakpoint";
}

export class RunLoop<V extends SchedUnit> {
  readonly timers = new Timers();
  /** Instructions retired by all guests. */
  instructions = 0;
  private nextTick: number;
  private nextAcct: number;

  constructor(
    readonly clock: VirtualClock,
    readonly pcpus: Pcpu<V>[],
    readonly sched: Scheduler<V>,
    /** How far pCPUs may drift apart (virtual ns). */
    readonly quantumNs: number,
    private readonly host: Personality<V>,
  ) {
    this.nextTick = sched.tickNs;
    this.nextAcct = sched.tsliceNs;
  }

  get now(): number {
    return this.clock.now;
  }

  run(opts: CoreRunOptions = {}): CoreRunResult {
    const clock = this.clock, host = this.host;
    const start = clock.now;
    const end = opts.ns !== undefined ? start + opts.ns : Infinity;
    const maxInsn = opts.maxInstructions ?? (opts.ns === undefined ? 2e9 : Infinity);
    const insn0 = this.instructions;
    let lastCheck = Date.now();
    let stoppedBy: CoreRunResult["stoppedBy"] = "time";
    for (;;) {
      host.betweenQuanta?.();
      if (opts.until?.()) { stoppedBy = "until"; break; }
      if (clock.now >= end) { stoppedBy = "time"; break; }
      if (this.instructions - insn0 >= maxInsn) { stoppedBy = "instructions"; break; }
      if (Date.now() - lastCheck > 20) {
        lastCheck = Date.now();
        checkInterrupt();
        opts.onSlice?.();
      }
      const qend = Math.min(clock.now + this.quantumNs, end, this.nextTick);
      let ran = false;
      for (const p of this.pcpus) if (this.runPcpu(p, clock.now, qend)) ran = true;
      if (host.stopRequested()) { clock.now = qend; stoppedBy = "breakpoint"; break; }
      let nowNext = qend;
      if (!ran && !this.anyRunnable()) {
        // Everyone is blocked: jump to the next timer (or the end). Vcpus waiting for credit
        // come back at the next accounting.
        const t = Math.min(this.timers.next(), this.sched.waitsForAccounting() ? this.nextAcct : Infinity);
        if (t === Infinity && end === Infinity) { clock.now = Math.max(clock.now, qend); stoppedBy = "idle"; host.betweenQuanta?.(); break; }
        nowNext = Math.max(qend, Math.min(t, end));
      }
      this.advanceTo(nowNext);
    }
    return { startNs: start, endNs: clock.now, instructions: this.instructions - insn0, stoppedBy };
  }

  /** Moves time to `t`: ticks and accounting at their exact times, timers in order. */
  advanceTo(t: number): void {
    const clock = this.clock;
    while (this.nextTick <= t || this.nextAcct <= t) {
      if (this.nextTick <= this.nextAcct) {
        clock.now = this.nextTick;
        this.timers.fire(clock.now);
        this.sched.tick();
        for (const p of this.pcpus) if (p.current && this.sched.shouldPreempt(p)) p.sliceEnd = clock.now;
        this.nextTick += this.sched.tickNs;
      } else {
        clock.now = this.nextAcct;
        this.sched.account(this.host.units());
        this.nextAcct += this.sched.tsliceNs;
      }
    }
    clock.now = t;
    this.timers.fire(t);
  }

  private anyRunnable(): boolean {
    for (const p of this.pcpus) if (p.current || this.sched.hasWork(p)) return true;
    return false;
  }

  /** Runs one pCPU from `t0` to `t1`; returns whether any guest instruction ran. */
  private runPcpu(p: Pcpu<V>, t0: number, t1: number): boolean {
    const { clock, sched, host } = this;
    let t = t0;
    let ran = false;
    while (t < t1) {
      let v = p.current;
      if (v && (t >= p.sliceEnd || sched.shouldPreempt(p))) {
        // Slice over (or a higher priority is waiting): back to the runqueue.
        p.current = undefined;
        v.setRunstate("runnable", t);
        sched.requeue(v);
        v = undefined;
      }
      if (!v) {
        v = sched.pick(p);
        if (!v) break;
        if (v.readyAt > t) {
          if (v.readyAt >= t1) { sched.requeue(v); break; }
          t = v.readyAt;
        }
        p.current = v;
        p.sliceEnd = t + sched.tsliceNs;
        v.pcpu = p.id;
        v.setRunstate("running", t);
        host.scheduledIn?.(v, t);
      }
      const cpu = v.cpu!;
      host.beforeSlice?.(v, t);
      const until = Math.min(t1, p.sliceEnd);
      const budget = clock.budgetFor(until - t);
      // The TSC follows virtual time, so every clock the guest reads agrees.
      cpu.tscOffset = clock.tscAt(t) - cpu.icount;
      const before = cpu.icount;
      let exit: Exit;
      try {
        exit = cpu.run(budget);
      } catch (e) {
        if (e instanceof KeyboardInterrupt) throw e;
        // The emulator itself failed on this guest's code: the hypervisor stops that guest.
        exit = host.emulationFailed(v, e as Error);
      }
      const n = cpu.icount - before;
      ran = ran || n > 0;
      this.instructions += n;
      // An exit that retired nothing (a fault being re-delivered) still costs an instruction's
      // time, so a guest stuck faulting cannot stall virtual time.
      const dt = clock.nsFor(Math.max(n, exit.kind === "budget" ? 0 : 1));
      t += dt;
      p.busyNs += dt;
      sched.burn(v, dt);
      if (n > 0) host.ran?.(p.id, v, t - dt, t);
      host.handleExit(v, exit, t);
      if (host.stopRequested()) {
        if (p.current === v) { p.current = undefined; v.setRunstate("runnable", t); sched.requeue(v); }
        return true;
      }
      if (p.current === v && v.runstate !== "running") p.current = undefined;
      if (v.runstate === "running" && p.current !== v) {
        v.setRunstate("runnable", t);
        sched.requeue(v, true);
      }
      if (n === 0 && exit.kind === "budget") break;
    }
    // A vCPU still running at the end of the quantum stays current: its slice continues.
    return ran;
  }
}
