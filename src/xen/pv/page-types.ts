/**
 * The PV MMU's frame table (xen/arch/x86/mm.c): each machine frame's page type, type count,
 * validated and pinned bits (struct page_info's type_info), and the machine-to-phys table
 * (machine_to_phys_mapping, written by MMU_MACHPHYS_UPDATE). This file owns that state; every
 * change to it goes through getType / putType / pin / unpin here, and the entry checks that
 * decide them live beside them, as get_page_from_lNe and mod_lN_entry do in mm.c.
 *
 * The invariant the checks keep: every frame reachable from a validated table is owned by the
 * table's domain, an L1 entry maps a page-table frame only read-only, and a frame with a writable
 * mapping is never a page table. That is what lets a PV vCPU walk machine frames directly.
 */
import { DomId, FrameUse, Machine, Mfn, mfn } from "../../machine";
import { XEN_ERRNO, XenErrnoName } from "../abi";
import {
  BASE_ALLOWED, FASTPATH_FLAG_WHITELIST, L1_ALLOWED, PAGETABLE_ENTRIES, PGT, PageType, ROOT_PAGETABLE_FIRST_XEN_SLOT,
  ROOT_PAGETABLE_LAST_XEN_SLOT, _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_GLOBAL, _PAGE_GUEST_KERNEL, _PAGE_PRESENT, _PAGE_RW, _PAGE_USER,
} from "./abi";

export interface TypeInfo {
  type: PageType;
  /** Type references: validated tables and mappings that rely on the type (PGT_count_mask). */
  count: number;
  /** The entries were checked for this type (PGT_validated). */
  validated: boolean;
  /** The guest pinned it (PGT_pinned): one type reference held until MMUEXT_UNPIN_TABLE. */
  pinned: boolean;
}

/** A negative errno, as the hypercall returns it. */
const E = (e: XenErrnoName): number => -XEN_ERRNO[e];

/** get_pte_flags(): bits 11:0 and bits 63:52 as flag bits 23:12 (x86_64/page.h). */
export function pteFlags(e: bigint): number {
  return Number(e & 0xfffn) | (Number((e >> 52n) & 0xfffn) << 12);
}
/** The frame an entry names (bits 51:12, PADDR_MASK). */
export function pteMfn(e: bigint): number {
  return Number((e >> 12n) & 0xff_ffff_ffffn);
}
function withFlags(e: bigint, add: number): bigint {
  return e | BigInt(add & 0xfff) | (BigInt(add >>> 12) << 52n);
}

/** Which child type an entry of a table at this level needs (l2e → l1, ...). */
const CHILD: Record<number, PageType> = { [PGT.l2]: PGT.l1, [PGT.l3]: PGT.l2, [PGT.l4]: PGT.l3 };

export class PageTypes {
  private readonly info = new Map<number, TypeInfo>();
  /** machine_to_phys_mapping: mfn → the pfn the owning PV guest calls it (MMU_MACHPHYS_UPDATE). */
  private readonly m2p = new Map<number, number>();
  /** Called when a frame's type changes: stale translations must go (mm.c: a type change flushes TLBs). */
  onTypeChange: (() => void) | undefined;

  constructor(private readonly machine: Machine) {}

  typeOf(m: Mfn | number): Readonly<TypeInfo> {
    return this.info.get(m) ?? { type: PGT.none, count: 0, validated: false, pinned: false };
  }

  /** Frames with a non-zero type count or a pin (for views and tests). */
  typed(): { mfn: Mfn; info: Readonly<TypeInfo> }[] {
    return [...this.info.entries()].filter(([, t]) => t.count > 0 || t.pinned).sort((a, b) => a[0] - b[0]).map(([m, t]) => ({ mfn: mfn(m), info: { ...t } }));
  }

  machToPhys(m: Mfn): number | undefined {
    return this.m2p.get(m);
  }
  setMachToPhys(m: Mfn, pfn: number): void {
    this.m2p.set(m, pfn);
  }

  /** get_page_from_mfn: the frame exists and `d` owns it (a free or foreign frame is nobody's to use). */
  owns(d: DomId, m: number): boolean {
    if (!(m >= 0 && m < this.machine.memory.frameCount)) return false;
    const fi = this.machine.memory.info(mfn(m));
    return fi.use !== FrameUse.Free && fi.owner === d;
  }

  /** The 8-byte entry `slot` of table frame `m`. */
  entry(m: Mfn | number, slot: number): bigint {
    return this.machine.memory.view(mfn(m)).getBigUint64(slot * 8, true);
  }
  /** Writes an entry (UPDATE_ENTRY): the bytes change, and code decoded from them is dropped. */
  private setEntry(m: number, slot: number, v: bigint): void {
    this.machine.memory.view(mfn(m)).setBigUint64(slot * 8, BigInt.asUintN(64, v), true);
    this.machine.invalidateRange(m, slot * 8, 8);
  }

  /**
   * _get_page_type / get_page_and_type_from_mfn: one more type reference of `type` on a frame `d`
   * owns. The first reference of a new type validates the frame (promote_lN_table); a frame
   * holding references of another type refuses (-EINVAL).
   */
  getType(d: DomId, m: number, type: PageType): number {
    if (!this.owns(d, m)) return E("EINVAL");
    let t = this.info.get(m);
    if (!t) { t = { type: PGT.none, count: 0, validated: false, pinned: false }; this.info.set(m, t); }
    if (t.count === 0) {
      if (t.type !== type) {
        t.type = type;
        t.validated = false;
        this.markUse(m, type);
        this.onTypeChange?.();
      }
    } else if (t.type !== type) return E("EINVAL");
    t.count++;
    if (!t.validated) {
      // The count is already 1 while the entries are checked (mm.c's "validate locked" state): a
      // table that names itself as a table of another level meets its own type and is refused.
      if (type !== PGT.writable && type !== PGT.none) {
        const rc = this.promote(d, m, type);
        if (rc < 0) {
          t.count--;
          t.type = PGT.none;
          this.markUse(m, PGT.none);
          return rc;
        }
      }
      t.validated = true;
    }
    return 0;
  }

  /** The frame table's coarse use follows the type, so the memory views show page-table frames. */
  private markUse(m: number, type: PageType): void {
    const mem = this.machine.memory, use = mem.info(mfn(m)).use;
    if (type !== PGT.writable && type !== PGT.none) { if (use === FrameUse.Ram) mem.setUse(mfn(m), FrameUse.PageTable); }
    else if (use === FrameUse.PageTable) mem.setUse(mfn(m), FrameUse.Ram);
  }

  /** _put_page_type: the last reference of a table type drops its entries' references (demote). */
  putType(m: number): void {
    const t = this.info.get(m);
    if (!t || t.count === 0) throw new Error(`mfn 0x${m.toString(16)}: type reference dropped that was never taken`);
    t.count--;
    if (t.count === 0 && t.type !== PGT.writable && t.type !== PGT.none && t.validated) {
      t.validated = false;
      this.demote(m, t.type);
    }
  }

  /** MMUEXT_PIN_Lx_TABLE: a type reference the guest holds; pinning twice is -EINVAL. */
  pin(d: DomId, m: number, type: PageType): number {
    const rc = this.getType(d, m, type);
    if (rc < 0) return rc;
    const t = this.info.get(m)!;
    if (t.pinned) {
      this.putType(m);
      return E("EINVAL");
    }
    t.pinned = true;
    return 0;
  }

  /** MMUEXT_UNPIN_TABLE: a frame `d` does not own, or one not pinned, is -EINVAL. */
  unpin(d: DomId, m: number): number {
    if (!this.owns(d, m)) return E("EINVAL");
    const t = this.info.get(m);
    if (!t?.pinned) return E("EINVAL");
    t.pinned = false;
    this.putType(m);
    return 0;
  }

  /** Forgets every frame of a dying domain (domain_relinquish_resources): its tables go with it. */
  release(frames: readonly Mfn[]): void {
    for (const m of frames) {
      this.info.delete(m);
      this.m2p.delete(m);
    }
  }

  // ---- entries -------------------------------------------------------------------------------

  /**
   * get_page_from_l1e: an L1 entry may map a frame the domain owns; writable only if the frame
   * can take the writable type (not a page table). A frame beyond RAM is MMIO, which a domain
   * without I/O-memory permission may not map (-EPERM).
   */
  private getL1e(d: DomId, e: bigint): number {
    const f = pteFlags(e);
    if (f & ~L1_ALLOWED) return E("EINVAL");
    const m = pteMfn(e);
    if (m >= this.machine.memory.frameCount) return E("EPERM");
    if (!this.owns(d, m)) return E("EBUSY"); // mm.c could_not_pin: real_pg_owner != pg_owner
    if (f & _PAGE_RW && this.getType(d, m, PGT.writable) < 0) return E("EBUSY");
    return 0;
  }
  private putL1e(e: bigint): void {
    if (!(pteFlags(e) & _PAGE_PRESENT) || !(pteFlags(e) & _PAGE_RW)) return;
    const m = pteMfn(e);
    if (this.info.get(m)?.type === PGT.writable) this.putType(m);
  }

  /** get_page_from_l2e/l3e/l4e: flags, then a type reference of the next level down on the child. */
  private getUpper(d: DomId, level: PageType, e: bigint): number {
    if (pteFlags(e) & ~BASE_ALLOWED) return E("EINVAL");
    return this.getType(d, pteMfn(e), CHILD[level]!);
  }

  private getEntry(d: DomId, level: PageType, e: bigint): number {
    return level === PGT.l1 ? this.getL1e(d, e) : this.getUpper(d, level, e);
  }
  private putEntry(level: PageType, e: bigint): void {
    if (!(pteFlags(e) & _PAGE_PRESENT)) return;
    if (level === PGT.l1) this.putL1e(e);
    else this.putType(pteMfn(e));
  }

  /**
   * adjust_guest_lNe (xen/arch/x86/pv/mm.h): a 64-bit PV kernel runs in ring 3, so its mappings
   * are user mappings; L1 kernel pages are marked _PAGE_GUEST_KERNEL, user pages GLOBAL, and
   * L4 entries accessed.
   */
  private adjust(level: PageType, e: bigint): bigint {
    const f = pteFlags(e);
    if (!(f & _PAGE_PRESENT)) return e;
    if (level === PGT.l1) {
      if (!(f & _PAGE_USER)) e = withFlags(e, _PAGE_GUEST_KERNEL | _PAGE_USER);
      if (!(pteFlags(e) & _PAGE_GUEST_KERNEL)) e = withFlags(e, _PAGE_GLOBAL | _PAGE_USER);
      return e;
    }
    return withFlags(e, level === PGT.l4 ? _PAGE_ACCESSED | _PAGE_USER : _PAGE_USER);
  }

  /** is_guest_l4_slot: Xen's own slots of a 64-bit PV L4. */
  static guestSlot(level: PageType, slot: number): boolean {
    return level !== PGT.l4 || slot < ROOT_PAGETABLE_FIRST_XEN_SLOT || slot > ROOT_PAGETABLE_LAST_XEN_SLOT;
  }

  /** promote_lN_table: every present entry takes its reference, or the ones taken are given back. */
  private promote(d: DomId, m: number, level: PageType): number {
    for (let i = 0; i < PAGETABLE_ENTRIES; i++) {
      if (!PageTypes.guestSlot(level, i)) continue;
      const e = this.entry(m, i);
      if (!(pteFlags(e) & _PAGE_PRESENT)) continue;
      const rc = this.getEntry(d, level, e);
      if (rc < 0) {
        while (i-- > 0) if (PageTypes.guestSlot(level, i)) this.putEntry(level, this.entry(m, i));
        return rc;
      }
      this.setEntry(m, i, this.adjust(level, e));
    }
    return 0;
  }

  /** demote_lN_table / free_l1_table: the table's entries give their references back. */
  private demote(m: number, level: PageType): void {
    for (let i = 0; i < PAGETABLE_ENTRIES; i++) if (PageTypes.guestSlot(level, i)) this.putEntry(level, this.entry(m, i));
  }

  /**
   * mod_l1_entry .. mod_l4_entry: the checked update of one entry of a validated table `m` of
   * domain `d`. The new entry's references are taken before the old entry's are dropped;
   * `preserveAd` ORs in the accessed/dirty bits the entry has now (MMU_PT_UPDATE_PRESERVE_AD).
   */
  modEntry(d: DomId, m: number, slot: number, nv: bigint, preserveAd = false): number {
    const level = this.info.get(m)!.type;
    if (!PageTypes.guestSlot(level, slot)) return E("EINVAL"); // mod_l4_entry: "L4 update in Xen-private area"
    const old = this.entry(m, slot);
    const write = (v: bigint): void => this.setEntry(m, slot, preserveAd ? v | (old & BigInt(_PAGE_ACCESSED | _PAGE_DIRTY)) : v);
    if (pteFlags(nv) & _PAGE_PRESENT) {
      if (pteFlags(nv) & ~(level === PGT.l1 ? L1_ALLOWED : BASE_ALLOWED)) return E("EINVAL");
      nv = this.adjust(level, nv);
      // Fast path: same frame, same present/RW bits: no reference changes (l1e_has_changed).
      const changed = pteMfn(old) !== pteMfn(nv) || ((pteFlags(old) ^ pteFlags(nv)) & ~FASTPATH_FLAG_WHITELIST) !== 0;
      if (!changed) { write(nv); return 0; }
      const rc = this.getEntry(d, level, nv);
      if (rc < 0) return rc;
      write(nv);
    } else write(nv);
    this.putEntry(level, old);
    return 0;
  }
}
