/**
 * Machine memory: sparse 4 KiB frames plus a frame table.
 *
 * A frame's bytes exist only once something touches it (allocation in the frame table costs no
 * bytes), so a 16 GiB host whose guests are idle costs a few typed arrays. The frame table records
 * for every machine frame who owns it and what it is used for, as Xen's `struct page_info` does
 * (owner + type, xen/arch/x86/include/asm/mm.h).
 */
import { FrameError } from "./errors";
import { DomId, Mfn, PAGE_SIZE, mfn } from "./types";

/** What a machine frame is used for (Xen's PGT_* page types, simplified). */
export enum FrameUse {
  Free = 0,
  /** Ordinary guest RAM (PGT_writable_page). */
  Ram = 1,
  /** Holds guest page tables (PGT_l1..l4_page_table). */
  PageTable = 2,
  /** Belongs to the hypervisor itself (DOMID_XEN). */
  Hypervisor = 3,
  /** Shared between domains (grant tables, shared_info, rings). */
  Shared = 4,
  /** Reserved / firmware. */
  Reserved = 5,
}

/** Owner value of a frame nobody owns (Xen's DOMID_INVALID, xen/include/public/xen.h). */
export const DOMID_INVALID = 0x7ff4 as DomId;

export interface FrameInfo {
  mfn: Mfn;
  owner: DomId;
  use: FrameUse;
  /** Bytes exist (the frame has been touched). */
  touched: boolean;
}

/** Consecutive machine frames with the same owner and use. */
export interface FrameRun {
  start: Mfn;
  count: number;
  owner: DomId;
  use: FrameUse;
}

export class MachineMemory {
  readonly frameCount: number;
  private readonly views: (DataView | undefined)[];
  private readonly owner: Uint16Array;
  private readonly use: Uint8Array;
  private nextFree = 0;
  /** Called before a frame is freed (the machine drops decoded code cached for it). */
  onFree: ((m: Mfn) => void) | undefined;
  private allocatedCount = 0;
  private touchedCount = 0;

  constructor(bytes: number) {
    if (!Number.isInteger(bytes) || bytes <= 0 || bytes % PAGE_SIZE !== 0) {
      throw new FrameError(-1, `machine size ${bytes} is not a positive multiple of ${PAGE_SIZE}`);
    }
    this.frameCount = bytes / PAGE_SIZE;
    this.views = new Array<DataView | undefined>(this.frameCount);
    this.owner = new Uint16Array(this.frameCount).fill(DOMID_INVALID);
    this.use = new Uint8Array(this.frameCount);
  }

  get bytes(): number {
    return this.frameCount * PAGE_SIZE;
  }
  /** Frames handed out by `allocate`. */
  get allocatedFrames(): number {
    return this.allocatedCount;
  }
  /** Frames whose bytes exist. */
  get touchedFrames(): number {
    return this.touchedCount;
  }

  private check(m: number): void {
    if (!Number.isInteger(m) || m < 0 || m >= this.frameCount) {
      throw new FrameError(m, `outside machine memory (0..${this.frameCount - 1})`);
    }
  }

  /** The bytes of a frame, created zero-filled on first touch. */
  view(m: Mfn): DataView {
    const v = this.views[m];
    if (v !== undefined) return v;
    this.check(m);
    const nv = new DataView(new ArrayBuffer(PAGE_SIZE));
    this.views[m] = nv;
    this.touchedCount++;
    return nv;
  }

  isTouched(m: Mfn): boolean {
    return this.views[m] !== undefined;
  }

  /** Allocates `count` frames (not necessarily contiguous) to `owner`. No bytes are created. */
  allocate(owner: DomId, count: number, use: FrameUse = FrameUse.Ram): Mfn[] {
    if (count > this.frameCount - this.allocatedCount) {
      throw new FrameError(-1, `out of machine memory: ${count} frames requested, ${this.frameCount - this.allocatedCount} free`);
    }
    const out: Mfn[] = [];
    while (out.length < count) {
      if (this.use[this.nextFree] === FrameUse.Free) {
        this.use[this.nextFree] = use;
        this.owner[this.nextFree] = owner;
        out.push(mfn(this.nextFree));
        this.allocatedCount++;
      }
      this.nextFree = (this.nextFree + 1) % this.frameCount;
    }
    return out;
  }

  /** Allocates a specific frame (e.g. for a fixed layout); fails if it is in use. */
  claim(m: Mfn, owner: DomId, use: FrameUse): void {
    this.check(m);
    if (this.use[m] !== FrameUse.Free) throw new FrameError(m, `already in use (${FrameUse[this.use[m]!]})`);
    this.use[m] = use;
    this.owner[m] = owner;
    this.allocatedCount++;
  }

  /** Returns a frame to the free pool and drops its bytes (the next owner sees zeros). */
  free(m: Mfn): void {
    this.check(m);
    if (this.use[m] === FrameUse.Free) throw new FrameError(m, "freed twice");
    this.onFree?.(m);
    this.use[m] = FrameUse.Free;
    this.owner[m] = DOMID_INVALID;
    if (this.views[m] !== undefined) {
      this.views[m] = undefined;
      this.touchedCount--;
    }
    this.allocatedCount--;
  }

  setUse(m: Mfn, use: FrameUse, owner?: DomId): void {
    this.check(m);
    this.use[m] = use;
    if (owner !== undefined) this.owner[m] = owner;
  }

  info(m: Mfn): FrameInfo {
    this.check(m);
    return { mfn: m, owner: this.owner[m] as DomId, use: this.use[m] as FrameUse, touched: this.views[m] !== undefined };
  }

  /**
   * The frame table as runs of frames with the same owner and use, in machine order: what a
   * memory map draws. Scans the typed arrays directly (4 M frames in a few ms, no per-frame object).
   */
  runs(first = 0, end = this.frameCount): FrameRun[] {
    const out: FrameRun[] = [];
    const owner = this.owner;
    const use = this.use;
    let start = Math.max(0, first);
    const stop = Math.min(end, this.frameCount);
    while (start < stop) {
      const o = owner[start]!;
      const u = use[start]!;
      let i = start + 1;
      while (i < stop && owner[i] === o && use[i] === u) i++;
      out.push({ start: mfn(start), count: i - start, owner: o as DomId, use: u as FrameUse });
      start = i;
    }
    return out;
  }

  /** Frames owned by a domain, in machine order. */
  framesOf(owner: DomId): Mfn[] {
    const out: Mfn[] = [];
    for (let i = 0; i < this.frameCount; i++) if (this.owner[i] === owner && this.use[i] !== FrameUse.Free) out.push(mfn(i));
    return out;
  }
}
