/**
 * Hyper-V's VP scheduler as a policy for the platform's run loop (src/platform/run-loop.ts):
 * child partitions' VPs share the logical processors round-robin, a quantum each, in the order
 * they last ran (partition then VP order on ties). There is no credit or priority: the root
 * schedules children evenly, as Hyper-V 1.0's default policy does. A halted VP with an
 * interrupt pending (and IF=1, or halted in SCHEDOP_block) becomes runnable when next looked at.
 */
import { RFLAGS_IF } from "../abi/x86";
import { Pcpu, Scheduler } from "../platform";
import type { HypervHost } from "./host";
import type { VirtualProcessor } from "./partition";

/** The scheduler tick (it has nothing to do per tick; the loop still bounds quanta by it). */
const TICK_NS = 10_000_000;

export class VpScheduler implements Scheduler<VirtualProcessor> {
  readonly name = "hyperv";
  readonly tickNs = TICK_NS;

  constructor(private readonly host: HypervHost, private readonly lps: readonly Pcpu<VirtualProcessor>[], readonly tsliceNs: number) {}

  private onLp(vp: VirtualProcessor): boolean {
    for (const p of this.lps) if (p.current === vp) return true;
    return false;
  }

  /** Child VPs in partition then VP order, waking halted ones whose interrupt is pending. */
  private candidates(): VirtualProcessor[] {
    const out: VirtualProcessor[] = [];
    for (const p of [...this.host.partitions.values()].sort((a, b) => a.id - b.id)) {
      if (p.kind === "root") continue; // the root's work is this kernel's
      for (const vp of p.vps) {
        if (vp.state === "halted" && vp.cpu.pendingInterrupts.length > 0 && (vp.wakeOnEvent || vp.cpu.getFlags() & RFLAGS_IF)) { vp.state = "running"; vp.wakeOnEvent = false; }
        if (vp.state === "running" && !this.onLp(vp)) out.push(vp);
      }
    }
    return out;
  }

  wake(): void {}

  requeue(v: VirtualProcessor): void {
    v.yieldRequested = false;
  }

  remove(): void {}

  pick(p: Pcpu<VirtualProcessor>): VirtualProcessor | undefined {
    let best: VirtualProcessor | undefined;
    for (const vp of this.candidates()) if (!best || vp.lastScheduledOut < best.lastScheduledOut) best = vp;
    if (best) best.pcpu = p.id;
    return best;
  }

  /** A VP that asked to give up its slice (HvNotifyLongSpinWait) is preempted at once. */
  shouldPreempt(p: Pcpu<VirtualProcessor>): boolean {
    return p.current?.yieldRequested === true;
  }

  burn(v: VirtualProcessor, ns: number): void {
    v.runtimeNs += ns;
  }

  tick(): void {}

  account(): void {}

  hasWork(): boolean {
    return this.candidates().length > 0;
  }

  waitsForAccounting(): boolean {
    return false;
  }
}
