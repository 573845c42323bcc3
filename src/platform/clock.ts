/**
 * Virtual time, shared by both hypervisors. Time moves only while guests run: cpuMHz guest
 * instructions are one virtual microsecond, and the TSC ticks at cpuMHz. Everything that
 * depends on time (timers, the scheduler, event delivery) reads this clock, which keeps every
 * run deterministic.
 */
export class VirtualClock {
  /** Virtual ns since boot. */
  now = 0;

  constructor(readonly cpuMHz: number) {
    if (!(cpuMHz > 0)) throw new RangeError(`cpuMHz ${cpuMHz} must be positive`);
  }

  /** Virtual ns per instruction. */
  get nsPerInstruction(): number {
    return 1000 / this.cpuMHz;
  }

  /** Virtual ns that `n` instructions take. */
  nsFor(instructions: number): number {
    return (instructions * 1000) / this.cpuMHz;
  }

  /** Instructions that fit in `ns` virtual ns (at least one, so every slice makes progress). */
  budgetFor(ns: number): number {
    return Math.max(1, Math.floor((ns * this.cpuMHz) / 1000));
  }

  /** TSC at a virtual time. */
  tscAt(ns: number): number {
    return Math.floor((ns * this.cpuMHz) / 1000);
  }

  get tscHz(): number {
    return this.cpuMHz * 1e6;
  }

  /**
   * The pvclock scale for this TSC (Xen's set_time_scale, xen/arch/x86/time.c; the same fields
   * in Hyper-V's Xen adapter): ns = ((tsc << shift) * mul) >> 32, with mul fitting in 32 bits.
   */
  timeScale(): { mul: number; shift: number } {
    let shift = 0;
    let ticksPerSec = this.tscHz;
    while (ticksPerSec > 2e9) { ticksPerSec /= 2; shift--; }
    while (ticksPerSec <= 1e9) { ticksPerSec *= 2; shift++; }
    const mul = Math.floor((1e9 * 2 ** 32) / ticksPerSec);
    return { mul, shift };
  }
}
