/**
 * Grant tables, version 1 (xen/common/grant_table.c, public grant_table.h): the granting domain
 * writes grant_entry_v1 {flags, domid, frame} into its table frames; Xen validates a map or copy
 * request against the entry and sets GTF_reading/GTF_writing in `flags` while a mapping exists.
 *
 * This file owns every change to grant state, as grant_table.c does: checking an entry, mapping
 * it (into the mapper's P2M, or for a host backend), unmapping, and teardown when either side
 * dies. The rules that keep both domains whole:
 * - A mapping over a RAM page of the mapper's own displaces that page; the mapping remembers it
 *   (`displaced`) and unmap puts it back.
 * - The mapper dying releases its mappings first (gnttab_release_mappings), so its displaced
 *   pages are back in its P2M and freed with the rest of its memory.
 * - The granter dying does not free a frame another domain still maps (in Xen the mapping holds
 *   a page reference): `teardown` returns those frames; the last unmap frees them.
 */
import { FrameUse, Gfn, Machine, Mfn, DomId, P2mEntry, domId, gfn, PAGE_SIZE } from "../machine";
import { GNTST, GRANT_ENTRY_V1_SIZE, GTF_permit_access, GTF_readonly, GTF_reading, GTF_type_mask, GTF_writing, LAYOUT } from "./abi";
import { GrantHandle, GrantRef, grantHandle, grantRef } from "./types";

const E = LAYOUT.grant_entry_v1.f;
export const GRANT_ENTRIES_PER_FRAME = PAGE_SIZE / GRANT_ENTRY_V1_SIZE;

/** One active mapping the mapper holds (Xen's maptrack entry). */
export interface GrantMapping {
  readonly handle: GrantHandle;
  /** The domain that mapped the grant, and where (GFN in its physmap). */
  readonly mapper: DomId;
  readonly gfn: Gfn;
  readonly granter: DomId;
  readonly ref: GrantRef;
  readonly readonly: boolean;
  /** The machine frame mapped. */
  readonly mfn: Mfn;
  /** The mapper's own entry the mapping covers, put back by unmap. */
  readonly displaced: P2mEntry | undefined;
  /** The granter's table (it outlives the granter while mappings of its frames exist). */
  readonly from: GrantTable;
}

/** A mapping made by host code for a backend in dom0 (no P2M slot: blkback's ring and data pages). */
export interface HostGrantMapping {
  readonly from: GrantTable;
  readonly ref: GrantRef;
  readonly writable: boolean;
  readonly mfn: Mfn;
}

/** A grant entry v1 as read from the table (grant_entry_v1_t, public/grant_table.h). */
export interface GrantEntry {
  ref: GrantRef;
  flags: number;
  /** The domain allowed to map it. */
  domid: DomId;
  /** The granter's guest frame. */
  frame: Gfn;
}

/** A refused request: the GNTST_* status and why, in words. */
export interface GrantRefusal {
  status: number;
  reason: string;
}

export function isRefusal<T extends object>(x: T | GrantRefusal): x is GrantRefusal {
  return (x as GrantRefusal).status !== undefined;
}

/**
 * How a mapping reaches the mapper's physmap. On the Xen host, Xen writes the mapper's P2M; on
 * the Longhorn host the root maps the granter's frame with HvMapGpaPages (src/hyperv/xen-adapter.ts).
 */
export interface GrantPhysmap {
  map(at: Gfn, mfn: Mfn, writable: boolean): void;
  /** Ends a mapping at `at`: the mapper's own page that was there comes back, or nothing. */
  unmap(at: Gfn, displaced: P2mEntry | undefined): void;
}

export class GrantTable {
  readonly frames: Mfn[] = [];
  /** Mappings this domain holds of other domains' grants, by handle (Xen's maptrack). */
  private readonly maps = new Map<GrantHandle, GrantMapping>();
  private nextHandle = 0;
  /** How many mappings of each of this domain's grants exist (Xen's active entries). */
  private readonly pins = new Map<GrantRef, { readers: number; writers: number }>();
  /** Mappings of each of this domain's frames held by others (Xen's page references). */
  private readonly frameRefs = new Map<Mfn, number>();
  /** Set by teardown: the domain is gone; frames still mapped are freed by their last unmap. */
  private dead = false;

  private readonly physmap: GrantPhysmap;

  constructor(private readonly machine: Machine, readonly owner: DomId, readonly maxFrames: number, physmap?: GrantPhysmap) {
    const p2m = () => machine.p2m(owner);
    this.physmap = physmap ?? {
      map: (at, mfn, writable) => p2m().set(at, mfn, writable),
      unmap: (at, displaced) => { if (displaced) p2m().set(at, displaced.mfn, displaced.writable); else p2m().remove(at); },
    };
  }

  /** Grows the table to at least `n` frames; false if above max_grant_frames. */
  grow(n: number): boolean {
    if (n > this.maxFrames || this.dead) return false;
    while (this.frames.length < n) {
      const [m] = this.machine.memory.allocate(this.owner, 1, FrameUse.Shared);
      this.frames.push(m!);
    }
    return true;
  }

  get nrEntries(): number {
    return this.frames.length * GRANT_ENTRIES_PER_FRAME;
  }

  private at(ref: number): { view: DataView; o: number } | undefined {
    if (!(Number.isInteger(ref) && ref >= 0 && ref < this.nrEntries)) return undefined;
    const f = this.frames[Math.floor(ref / GRANT_ENTRIES_PER_FRAME)]!;
    return { view: this.machine.memory.view(f), o: (ref % GRANT_ENTRIES_PER_FRAME) * GRANT_ENTRY_V1_SIZE };
  }

  entry(ref: GrantRef): GrantEntry | undefined {
    const a = this.at(ref);
    if (!a) return undefined;
    return { ref, flags: a.view.getUint16(a.o + E.flags, true), domid: domId(a.view.getUint16(a.o + E.domid, true)), frame: gfn(a.view.getUint32(a.o + E.frame, true)) };
  }

  /**
   * Writes an entry as the granter would (domid and frame first, then flags), the way a guest
   * stores grant_entry_v1 in its table page.
   */
  setEntry(ref: GrantRef, domid: DomId, frame: Gfn, flags: number): void {
    const a = this.at(ref);
    if (!a) throw new RangeError(`grant ref ${ref} beyond the table (${this.nrEntries} entries)`);
    a.view.setUint16(a.o + E.domid, domid, true);
    a.view.setUint32(a.o + E.frame, frame >>> 0, true);
    a.view.setUint16(a.o + E.flags, flags, true);
  }

  /** Entries in use (flags type ≠ invalid), for views. */
  activeEntries(): GrantEntry[] {
    const out: GrantEntry[] = [];
    for (let r = 0; r < this.nrEntries; r++) {
      const e = this.entry(grantRef(r))!;
      if ((e.flags & GTF_type_mask) !== 0 || e.frame !== 0) out.push(e);
    }
    return out;
  }

  /** Mappings this domain holds of other domains' grants. */
  mappings(): readonly GrantMapping[] {
    return [...this.maps.values()];
  }

  mapping(handle: GrantHandle): GrantMapping | undefined {
    return this.maps.get(handle);
  }

  get mappingCount(): number {
    return this.maps.size;
  }

  /** Mapped guest frames that did not displace a page of this domain's own (for tot_pages). */
  get foreignOnlyMappings(): number {
    let n = 0;
    for (const m of this.maps.values()) if (!m.displaced) n++;
    return n;
  }

  /** Readers and writers of one of this domain's grants. */
  pinsOf(ref: GrantRef): { readers: number; writers: number } {
    return { ...(this.pins.get(ref) ?? { readers: 0, writers: 0 }) };
  }

  // =========================================================================================
  // Checking and pinning (the granter's side)
  // =========================================================================================

  /**
   * map_grant_ref's checks on the granter's entry: GTF_permit_access for `mapper`, GTF_readonly
   * forbidding a writable mapping, and a frame the granter has. Returns the machine frame.
   */
  check(ref: GrantRef, mapper: DomId, writable: boolean): { mfn: Mfn } | GrantRefusal {
    if (this.dead) return { status: GNTST.bad_domain, reason: `d${this.owner} is being destroyed` };
    if (!(Number.isInteger(ref) && ref >= 0 && ref < this.nrEntries)) return { status: GNTST.bad_gntref, reason: `grant ref ${ref} beyond d${this.owner}'s table (${this.nrEntries} entries)` };
    const e = this.entry(ref)!;
    if ((e.flags & GTF_type_mask) !== GTF_permit_access || e.domid !== mapper) {
      return { status: GNTST.permission_denied, reason: `grant ref ${ref} of d${this.owner} does not permit access to d${mapper} (flags 0x${e.flags.toString(16)}, domid ${e.domid})` };
    }
    if (writable && (e.flags & GTF_readonly)) return { status: GNTST.permission_denied, reason: `grant ref ${ref} of d${this.owner} is read-only` };
    const p = this.machine.p2m(this.owner).lookup(gfn(e.frame));
    if (!p) return { status: GNTST.bad_page, reason: `grant ref ${ref} names frame 0x${e.frame.toString(16)}, which d${this.owner} does not have` };
    return { mfn: p.mfn };
  }

  private pin(ref: GrantRef, frame: Mfn, readonly: boolean): void {
    const p = this.pins.get(ref) ?? { readers: 0, writers: 0 };
    if (readonly) p.readers++; else p.writers++;
    this.pins.set(ref, p);
    this.frameRefs.set(frame, (this.frameRefs.get(frame) ?? 0) + 1);
    this.updateBusyFlags(ref);
  }

  private unpin(ref: GrantRef, frame: Mfn, readonly: boolean): void {
    const p = this.pins.get(ref);
    if (p) {
      if (readonly) p.readers--; else p.writers--;
      if (p.readers + p.writers === 0) this.pins.delete(ref);
      this.updateBusyFlags(ref);
    }
    const n = (this.frameRefs.get(frame) ?? 1) - 1;
    if (n > 0) { this.frameRefs.set(frame, n); return; }
    this.frameRefs.delete(frame);
    // The granter is gone and this was the last reference: the frame goes back to the heap.
    if (this.dead) this.machine.memory.free(frame);
  }

  /** Xen's own update of GTF_reading/GTF_writing while a grant is mapped. */
  private updateBusyFlags(ref: GrantRef): void {
    const a = this.at(ref);
    if (!a) return;
    const p = this.pins.get(ref);
    let f = a.view.getUint16(a.o + E.flags, true) & ~(GTF_reading | GTF_writing);
    if (p && p.readers + p.writers > 0) f |= GTF_reading;
    if (p && p.writers > 0) f |= GTF_writing;
    a.view.setUint16(a.o + E.flags, f, true);
  }

  // =========================================================================================
  // Mapping and unmapping (the mapper's side)
  // =========================================================================================

  /**
   * GNTTABOP_map_grant_ref with GNTMAP_host_map for a translated guest: maps `from`'s grant `ref`
   * at the page of guest-physical `hostAddr` in this domain's P2M (status order as grant_table.c).
   */
  map(from: GrantTable | undefined, ref: GrantRef, hostAddr: number, readonly: boolean): GrantMapping | GrantRefusal {
    if (!from || from === this) return { status: GNTST.bad_domain, reason: "no such granting domain" };
    const c = from.check(ref, this.owner, !readonly);
    if (isRefusal(c)) return c;
    if (!(hostAddr >= 0 && hostAddr % PAGE_SIZE === 0)) return { status: GNTST.bad_virt_addr, reason: `host_addr 0x${hostAddr.toString(16)} is not page-aligned` };
    const at = gfn(hostAddr / PAGE_SIZE);
    const displaced = this.machine.p2m(this.owner).lookup(at);
    this.physmap.map(at, c.mfn, !readonly);
    from.pin(ref, c.mfn, readonly);
    const m: GrantMapping = { handle: grantHandle(this.nextHandle++), mapper: this.owner, gfn: at, granter: from.owner, ref, readonly, mfn: c.mfn, displaced, from };
    this.maps.set(m.handle, m);
    return m;
  }

  /** GNTTABOP_unmap_grant_ref: `hostAddr` 0 or the mapped page's address; the displaced page returns. */
  unmap(handle: GrantHandle, hostAddr: number): number {
    const m = this.maps.get(handle);
    if (!m) return GNTST.bad_handle;
    if (hostAddr !== 0 && hostAddr / PAGE_SIZE !== m.gfn) return GNTST.bad_virt_addr;
    this.drop(m);
    return GNTST.okay;
  }

  private drop(m: GrantMapping): void {
    this.maps.delete(m.handle);
    this.physmap.unmap(m.gfn, m.displaced);
    m.from.unpin(m.ref, m.mfn, m.readonly);
  }

  /** A backend in dom0 maps `ref` for host code (blkback); `backend` is the domain it acts for. */
  mapForHost(ref: GrantRef, backend: DomId, writable: boolean): HostGrantMapping | GrantRefusal {
    const c = this.check(ref, backend, writable);
    if (isRefusal(c)) return c;
    this.pin(ref, c.mfn, !writable);
    if (writable) this.machine.invalidateFrame(c.mfn);
    return { from: this, ref, writable, mfn: c.mfn };
  }

  /** Ends a host mapping (the frame may be freed now if the granter died meanwhile). */
  static unmapForHost(m: HostGrantMapping): void {
    m.from.unpin(m.ref, m.mfn, !m.writable);
  }

  // =========================================================================================
  // Teardown
  // =========================================================================================

  /**
   * Domain destruction (gnttab_release_mappings, then the table itself): drops every mapping this
   * domain holds (its displaced pages come back into its P2M), frees the table frames, and returns
   * the frames of this domain's that other domains still map: the caller must not free those.
   */
  teardown(): ReadonlySet<Mfn> {
    for (const m of [...this.maps.values()]) this.drop(m);
    this.dead = true;
    for (const f of this.frames) this.machine.memory.free(f);
    this.frames.length = 0;
    this.pins.clear();
    return new Set(this.frameRefs.keys());
  }
}
