/**
 * Timers: every subsystem that keeps deadlines in virtual time (Xen's singleshot/periodic vCPU
 * timers and poll timeouts, Hyper-V's synthetic timers, later the local APIC timer) registers a
 * source here. The run loop asks for the earliest deadline when every vCPU is idle (time jumps
 * there) and fires expired sources after each step of time, in registration order.
 */
export interface TimerSource {
  /** Who owns it (for errors and views). */
  readonly name: string;
  /** The earliest armed deadline (virtual ns), or Infinity. */
  next(): number;
  /** Fires everything due at or before `now`. */
  fire(now: number): void;
}

export class Timers {
  private readonly sources: TimerSource[] = [];

  add(s: TimerSource): void {
    if (this.sources.some((o) => o.name === s.name)) throw new Error(`timer source "${s.name}" is already registered`);
    this.sources.push(s);
  }

  next(): number {
    let t = Infinity;
    for (const s of this.sources) t = Math.min(t, s.next());
    return t;
  }

  fire(now: number): void {
    for (const s of this.sources) s.fire(now);
  }
}
