/**
 * What the vCPU's dispatch has done, as plain data for the `%cpu stats` view: blocks run and how
 * each was found (chained from the previous block, looked up in the decode cache, compiled),
 * the decode cache and its invalidations (code-page writes), TLB flushes, and exits and guest
 * faults by kind. The counters live on the vCPU (dispatch, exits) and the machine (decode cache).
 */
import type { Vcpu } from "./vcpu";

/** Counters the run loop keeps (only on its slow paths: a chained block costs nothing extra). */
export class DispatchCounters {
  /** Blocks found in the machine's decode cache by address (the previous block had no link). */
  lookups = 0;
  /** Blocks compiled (decode cache misses). */
  compiled = 0;
  /** Of those, whose code came from the code cache (the same bytes compiled before; code-cache.ts). */
  reused = 0;
  /** Exits returned by `run`, by kind. */
  readonly exits = new Map<string, number>();
  /** Guest exceptions raised by instructions (delivered through the IDT), by vector name. */
  readonly faults = new Map<string, number>();

  countExit(kind: string): void {
    this.exits.set(kind, (this.exits.get(kind) ?? 0) + 1);
  }
  countFault(vector: string): void {
    this.faults.set(vector, (this.faults.get(vector) ?? 0) + 1);
  }
}

export interface CpuStats {
  vcpu: number;
  instructions: number;
  /** Blocks run (each a call of a compiled block function). */
  blocks: number;
  /** Of those, entered through the previous block's link (no lookup). */
  chained: number;
  lookups: number;
  compiled: number;
  /** Of the compiled, taken from the process's code cache instead of decoded and emitted. */
  reused: number;
  /** Blocks in the machine's decode cache now, and frames holding code. */
  cachedBlocks: number;
  codeFrames: number;
  /** Code-frame invalidations (self-modifying code, loaders, page-table A/D writes to code). */
  invalidations: number;
  tlbFlushes: number;
  exits: Record<string, number>;
  faults: Record<string, number>;
}

export function cpuStats(v: Vcpu): CpuStats {
  const d = v.dispatch;
  const blocks = v.trace.total;
  let codeFrames = 0;
  for (const f of v.machine.codeFrames) codeFrames += f;
  return {
    vcpu: v.id,
    instructions: v.icount,
    blocks,
    chained: Math.max(0, blocks - d.lookups),
    lookups: d.lookups,
    compiled: d.compiled,
    reused: d.reused,
    cachedBlocks: v.machine.code.size,
    codeFrames,
    invalidations: v.machine.invalidations,
    tlbFlushes: v.tlbFlushes,
    exits: Object.fromEntries(d.exits),
    faults: Object.fromEntries(d.faults),
  };
}
