/**
 * Grant tables, version 1 (xen/common/grant_table.c, public grant_table.h): the granting domain
 * writes grant_entry_v1 {flags, domid, frame} into its table frames; Xen validates a map or copy
 * request against the entry and sets GTF_reading/GTF_writing in `flags` while a mapping exists.
 */
import { FrameUse, Machine, Mfn, DomId } from "../machine";
import { GRANT_ENTRY_V1_SIZE, GTF_reading, GTF_writing, LAYOUT } from "./abi";

const E = LAYOUT.grant_entry_v1.f;
export const GRANT_ENTRIES_PER_FRAME = 4096 / GRANT_ENTRY_V1_SIZE;

/** One active mapping (Xen's maptrack entry). */
export interface GrantMapping {
  handle: number;
  /** The domain that mapped the grant, and where (GFN in its physmap). */
  mapper: number;
  gfn: number;
  granter: number;
  ref: number;
  readonly: boolean;
  /** The machine frame mapped. */
  mfn: Mfn;
}

export interface GrantEntry {
  ref: number;
  flags: number;
  domid: number;
  frame: number;
}

export class GrantTable {
  readonly frames: Mfn[] = [];
  /** Mappings this domain holds of other domains' grants, by handle (Xen's maptrack). */
  readonly maptrack = new Map<number, GrantMapping>();
  private nextHandle = 0;

  constructor(private readonly machine: Machine, readonly owner: DomId, readonly maxFrames: number) {}

  /** Grows the table to at least `n` frames; false if above max_grant_frames. */
  grow(n: number): boolean {
    if (n > this.maxFrames) return false;
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
    if (!(ref >= 0 && ref < this.nrEntries)) return undefined;
    const f = this.frames[Math.floor(ref / GRANT_ENTRIES_PER_FRAME)]!;
    return { view: this.machine.memory.view(f), o: (ref % GRANT_ENTRIES_PER_FRAME) * GRANT_ENTRY_V1_SIZE };
  }

  entry(ref: number): GrantEntry | undefined {
    const a = this.at(ref);
    if (!a) return undefined;
    return { ref, flags: a.view.getUint16(a.o + E.flags, true), domid: a.view.getUint16(a.o + E.domid, true), frame: a.view.getUint32(a.o + E.frame, true) };
  }

  /** Writes an entry as the granter would (domid and frame first, then flags). */
  setEntry(ref: number, domid: number, frame: number, flags: number): void {
    const a = this.at(ref);
    if (!a) throw new RangeError(`grant ref ${ref} beyond the table (${this.nrEntries} entries)`);
    a.view.setUint16(a.o + E.domid, domid, true);
    a.view.setUint32(a.o + E.frame, frame >>> 0, true);
    a.view.setUint16(a.o + E.flags, flags, true);
  }

  /** How many mappings of each of this domain's grants exist (Xen's active entries). */
  readonly pins = new Map<number, { readers: number; writers: number }>();

  /** Xen's own update of GTF_reading/GTF_writing while a grant is mapped. */
  private updateBusyFlags(ref: number): void {
    const a = this.at(ref);
    if (!a) return;
    const p = this.pins.get(ref);
    let f = a.view.getUint16(a.o + E.flags, true) & ~(GTF_reading | GTF_writing);
    if (p && p.readers + p.writers > 0) f |= GTF_reading;
    if (p && p.writers > 0) f |= GTF_writing;
    a.view.setUint16(a.o + E.flags, f, true);
  }

  /** Called on the granter's table when another domain maps one of its grants. */
  pin(ref: number, readonly: boolean): void {
    const p = this.pins.get(ref) ?? { readers: 0, writers: 0 };
    if (readonly) p.readers++; else p.writers++;
    this.pins.set(ref, p);
    this.updateBusyFlags(ref);
  }

  unpin(ref: number, readonly: boolean): void {
    const p = this.pins.get(ref);
    if (!p) return;
    if (readonly) p.readers--; else p.writers--;
    if (p.readers + p.writers === 0) this.pins.delete(ref);
    this.updateBusyFlags(ref);
  }

  /** Called on the mapper's table: records a mapping it holds and returns the handle. */
  addMapping(m: Omit<GrantMapping, "handle">): GrantMapping {
    const full = { ...m, handle: this.nextHandle++ };
    this.maptrack.set(full.handle, full);
    return full;
  }

  removeMapping(handle: number): GrantMapping | undefined {
    const m = this.maptrack.get(handle);
    if (!m) return undefined;
    this.maptrack.delete(handle);
    return m;
  }

  /** Entries in use (flags type ≠ invalid), for views. */
  activeEntries(): GrantEntry[] {
    const out: GrantEntry[] = [];
    for (let r = 0; r < this.nrEntries; r++) {
      const e = this.entry(r)!;
      if ((e.flags & 3) !== 0 || e.frame !== 0) out.push(e);
    }
    return out;
  }

  /** Frees the table frames (domain destruction). */
  release(): void {
    for (const f of this.frames) this.machine.memory.free(f);
    this.frames.length = 0;
    this.maptrack.clear();
  }
}
