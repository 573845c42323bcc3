/**
 * Log-dirty mode for a translated domain, as Xen's HAP does it (xen/arch/x86/mm/hap/hap.c
 * hap_enable_log_dirty, p2m_change_entry_type_global to p2m_ram_logdirty): every RAM page of the
 * domain becomes read-only in its P2M; the first write to one (the guest's store, the page
 * walker's A/D update, or Xen's own copy_to_guest) is offered to `fault` through the P2M's
 * writeFault hook, which marks the page in the dirty bitmap (paging_mark_dirty) and makes it
 * writable again, and the write goes on. Xen takes a nested page fault exit for the guest's
 * stores; here the MMU calls the hook inline, to the same effect without the exit. `clean()` is XEN_DOMCTL_SHADOW_OP_CLEAN: the dirty set since the last
 * call, with those pages write-protected again.
 */
import { FrameUse, type DomId, type Gfn, type Machine } from "../machine";

export class LogDirty {
  private dirty = new Set<Gfn>();
  /** Pages made read-only for logging (and not written since). */
  private readonly guarded = new Set<Gfn>();

  constructor(private readonly machine: Machine, private readonly domid: DomId) {
    const p2m = machine.p2m(domid);
    if (p2m.writeFault) throw new Error(`domain ${domid} is already in log-dirty mode`);
    for (const e of p2m.entries()) this.guard(e.gfn);
    p2m.writeFault = (g) => this.fault(g);
  }

  /** The domain's own writable RAM at `g` becomes read-only (grant and Xen pages stay as they are). */
  private guard(g: Gfn): void {
    const p2m = this.machine.p2m(this.domid);
    const e = p2m.lookup(g);
    if (!e || !e.writable) return;
    const info = this.machine.memory.info(e.mfn);
    if (info.owner !== this.domid || info.use !== FrameUse.Ram) return;
    p2m.set(g, e.mfn, false);
    this.guarded.add(g);
  }

  /** A write to guest frame `g`: true when it was log-dirty's (marked and made writable). */
  fault(k: Gfn): boolean {
    if (!this.guarded.delete(k)) return false;
    const e = this.machine.p2m(this.domid).lookup(k);
    if (e) this.machine.p2m(this.domid).set(k, e.mfn, true);
    this.dirty.add(k);
    return true;
  }

  /** SHADOW_OP_PEEK: the pages written since the last clean. */
  peek(): ReadonlySet<Gfn> { return this.dirty; }

  /** SHADOW_OP_CLEAN: returns the dirty set and write-protects those pages again. */
  clean(): Set<Gfn> {
    const out = this.dirty;
    this.dirty = new Set();
    for (const g of out) this.guard(g);
    return out;
  }

  /** Leaves log-dirty mode: every page still guarded is writable again. */
  disable(): void {
    const p2m = this.machine.p2m(this.domid);
    p2m.writeFault = undefined;
    for (const g of this.guarded) {
      const e = p2m.lookup(g);
      if (e) p2m.set(g, e.mfn, true);
    }
    this.guarded.clear();
  }
}
