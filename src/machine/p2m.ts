/**
 * The P2M: a domain's guest-physical → machine frame map, the software equivalent of EPT/NPT
 * (Xen's p2m, xen/arch/x86/mm/p2m.c). Entries may be read-only, as for grant-mapped or
 * write-protected frames; an access without an entry, or a write to a read-only entry, is a VM
 * exit for the vCPU that made it.
 */
import { Gfn, Mfn, gfn, mfn } from "./types";

export interface P2mEntry {
  gfn: Gfn;
  mfn: Mfn;
  writable: boolean;
}

export class P2m {
  /** gfn → mfn*2 + writable. */
  private readonly map = new Map<number, number>();
  /** Bumped on every change or removal so vCPUs can drop cached translations. */
  epoch = 0;
  /** Called after every change (the machine bumps its TLB epoch). */
  onChange: (() => void) | undefined;
  /**
   * Log-dirty mode's hook (Xen's paging_mark_dirty, xen/arch/x86/mm/paging.c): offered a write to
   * a read-only entry, it logs the page and makes the entry writable, and says whether it did. The
   * vCPU's own stores, the page walker's A/D updates and the host's copies into guest memory
   * (copy_to_guest) all come here, so every write to a logged page is seen, and a page that is
   * read-only for another reason (a read-only grant mapping) stays a fault.
   */
  writeFault: ((g: Gfn) => boolean) | undefined;

  /** Maps (or remaps) a guest frame. */
  set(g: Gfn, m: Mfn, writable = true): void {
    this.map.set(g, m * 2 + (writable ? 1 : 0));
    this.changed();
  }

  /** Maps `count` consecutive guest frames starting at `g` onto the given machine frames. */
  setRange(g: Gfn, frames: readonly Mfn[], writable = true): void {
    for (let i = 0; i < frames.length; i++) this.map.set(g + i, frames[i]! * 2 + (writable ? 1 : 0));
    this.changed();
  }

  remove(g: Gfn): boolean {
    const had = this.map.delete(g);
    if (had) this.changed();
    return had;
  }

  /** The raw entry for a write: a read-only entry `writeFault` took is writable now. */
  rawForWrite(g: number): number {
    const e = this.raw(g);
    if (e >= 0 && (e & 1) === 0 && this.writeFault?.(gfn(g))) return this.raw(g);
    return e;
  }

  /** The raw entry (mfn*2 + writable) or -1: the fast path for the MMU. */
  raw(g: number): number {
    const e = this.map.get(g);
    return e === undefined ? -1 : e;
  }

  lookup(g: Gfn): P2mEntry | undefined {
    const e = this.map.get(g);
    if (e === undefined) return undefined;
    return { gfn: g, mfn: mfn(Math.floor(e / 2)), writable: (e & 1) === 1 };
  }

  get size(): number {
    return this.map.size;
  }

  entries(): P2mEntry[] {
    const out: P2mEntry[] = [];
    for (const [g, e] of [...this.map.entries()].sort((a, b) => a[0] - b[0])) {
      out.push({ gfn: gfn(g), mfn: mfn(Math.floor(e / 2)), writable: (e & 1) === 1 });
    }
    return out;
  }

  private changed(): void {
    this.epoch++;
    this.onChange?.();
  }
}

/**
 * No second stage: guest-physical is machine-physical. A PV vCPU runs on page tables that hold
 * machine frame numbers (the hypervisor validated every entry: xen/arch/x86/mm.c), so its walk
 * and its leaves name machine frames directly, as the hardware MMU does for a PV guest.
 */
export class MachineFrames extends P2m {
  constructor(private readonly frameCount: number) {
    super();
  }
  override set(): void {
    throw new Error("machine frames are not remapped: a PV guest changes its page tables instead");
  }
  override setRange(): void {
    this.set();
  }
  override remove(): boolean {
    this.set();
    return false;
  }
  override raw(g: number): number {
    return g >= 0 && g < this.frameCount ? g * 2 + 1 : -1;
  }
  override lookup(g: Gfn): P2mEntry | undefined {
    return g >= 0 && g < this.frameCount ? { gfn: g, mfn: mfn(g), writable: true } : undefined;
  }
  override get size(): number {
    return this.frameCount;
  }
  override entries(): P2mEntry[] {
    throw new Error("the machine-frame identity has one entry per machine frame: ask the frame table instead");
  }
}
