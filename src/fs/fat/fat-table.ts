import { BlockDevice } from "../../vhd/block-device";
import { FsError } from "../errors";
import { readAt } from "../partition";
import { BootSector } from "./boot-sector";

/** Cluster numbers as stored in the FAT and directory entries (data clusters start at 2). */
export type Cluster = number & { readonly __brand: "Cluster" };

export const FIRST_CLUSTER = 2 as Cluster;

/**
 * The File Allocation Table, held in memory as the bytes of the active FAT. Writes mark sectors
 * dirty; `commit` copies them to every FAT (fatgen103: all FATs are kept identical unless FAT32
 * mirroring is switched off in BPB_ExtFlags, in which case only the active one is written).
 */
export class FatTable {
  private readonly bytes: Uint8Array;
  private readonly dirty = new Set<number>();
  /** Highest valid cluster number. */
  readonly maxCluster: number;
  private readonly eocMin: number;
  private readonly eoc: number;
  private readonly bad: number;
  private freeCount: number;
  private nextFreeHint: number;

  constructor(
    private readonly dev: BlockDevice,
    readonly bs: BootSector,
  ) {
    const activeFat = this.mirrored ? 0 : bs.extFlags & 0x0f;
    if (activeFat >= bs.numFats) throw new FsError("ECORRUPT", `active FAT ${activeFat} of ${bs.numFats}`, { field: "fat.BPB_ExtFlags" });
    this.bytes = readAt(dev, this.fatOffset(activeFat), bs.fatSectors * bs.bytesPerSector, "fat.table");
    this.maxCluster = bs.clusterCount + 1;
    // End-of-chain and bad-cluster markers (fatgen103 section 4).
    this.eocMin = bs.type === "fat12" ? 0xff8 : bs.type === "fat16" ? 0xfff8 : 0x0ffffff8;
    this.eoc = bs.type === "fat12" ? 0xfff : bs.type === "fat16" ? 0xffff : 0x0fffffff;
    this.bad = this.eocMin - 1;
    let free = 0;
    for (let c = 2; c <= this.maxCluster; c++) if (this.get(c) === 0) free++;
    this.freeCount = free;
    this.nextFreeHint = 2;
  }

  /** Mirrored FATs (after the active one) whose bytes differ from it: fsck.fat's "FATs differ". */
  differingCopies(): number[] {
    if (!this.mirrored) return [];
    const out: number[] = [];
    const len = this.bs.fatSectors * this.bs.bytesPerSector;
    for (let n = 1; n < this.bs.numFats; n++) {
      const copy = readAt(this.dev, this.fatOffset(n), len, `fat.table[${n}]`);
      if (Buffer.compare(copy, this.bytes) !== 0) out.push(n);
    }
    return out;
  }

  /**
   * The "clean shutdown" bit in FAT[1] (fatgen103 section 4: ClnShutBitMask 0x8000 for FAT16,
   * 0x08000000 for FAT32): clear means the volume was not unmounted cleanly. FAT12 has none.
   */
  get uncleanShutdown(): boolean {
    if (this.bs.type === "fat16") return (this.get(1) & 0x8000) === 0;
    if (this.bs.type === "fat32") return (this.get(1) & 0x08000000) === 0;
    return false;
  }

  get mirrored(): boolean {
    return (this.bs.extFlags & 0x80) === 0;
  }

  get free(): number {
    return this.freeCount;
  }

  get nextFree(): number {
    return this.nextFreeHint;
  }

  private fatOffset(n: number): number {
    return (this.bs.reservedSectors + n * this.bs.fatSectors) * this.bs.bytesPerSector;
  }

  get(cluster: number): number {
    const b = this.bytes;
    switch (this.bs.type) {
      case "fat12": {
        const off = cluster + (cluster >> 1);
        const v = b[off]! | (b[off + 1]! << 8);
        return cluster & 1 ? v >> 4 : v & 0xfff;
      }
      case "fat16":
        return b[cluster * 2]! | (b[cluster * 2 + 1]! << 8);
      case "fat32": {
        const o = cluster * 4;
        return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | ((b[o + 3]! & 0x0f) << 24)) >>> 0;
      }
    }
  }

  /** Starts recording changes so that a failed operation (ENOSPC halfway) can be undone. */
  begin(): void {
    this.undo = [];
    this.undoHint = this.nextFreeHint;
  }

  /** Restores every entry changed since `begin` (newest first), so nothing leaks into the next commit. */
  rollback(): void {
    const log = this.undo ?? [];
    this.undo = undefined;
    for (let i = log.length - 1; i >= 0; i--) this.set(log[i]![0], log[i]![1]);
    this.nextFreeHint = this.undoHint;
  }

  private undo: Array<[number, number]> | undefined;
  private undoHint = 2;

  set(cluster: number, value: number): void {
    const b = this.bytes;
    const before = this.get(cluster);
    this.undo?.push([cluster, before]);
    switch (this.bs.type) {
      case "fat12": {
        const off = cluster + (cluster >> 1);
        if (cluster & 1) {
          b[off] = (b[off]! & 0x0f) | ((value << 4) & 0xf0);
          b[off + 1] = (value >> 4) & 0xff;
        } else {
          b[off] = value & 0xff;
          b[off + 1] = (b[off + 1]! & 0xf0) | ((value >> 8) & 0x0f);
        }
        this.markDirty(off);
        this.markDirty(off + 1);
        break;
      }
      case "fat16":
        b[cluster * 2] = value & 0xff;
        b[cluster * 2 + 1] = (value >> 8) & 0xff;
        this.markDirty(cluster * 2);
        break;
      case "fat32": {
        const o = cluster * 4;
        // The top 4 bits are reserved and must be preserved (fatgen103 section 4).
        b[o] = value & 0xff;
        b[o + 1] = (value >>> 8) & 0xff;
        b[o + 2] = (value >>> 16) & 0xff;
        b[o + 3] = (b[o + 3]! & 0xf0) | ((value >>> 24) & 0x0f);
        this.markDirty(o);
        break;
      }
    }
    if (before === 0 && value !== 0) this.freeCount--;
    if (before !== 0 && value === 0) this.freeCount++;
  }

  private markDirty(byteOffset: number): void {
    this.dirty.add(Math.floor(byteOffset / this.bs.bytesPerSector));
  }

  isEndOfChain(v: number): boolean {
    return v >= this.eocMin;
  }

  /** The clusters of a chain starting at `first`, checked: in range, not free, no loops. */
  chain(first: number, what: string): Cluster[] {
    const out: Cluster[] = [];
    if (first === 0) return out;
    let c = first;
    const seen = new Set<number>();
    for (;;) {
      if (c < 2 || c > this.maxCluster) {
        throw new FsError("ECORRUPT", `cluster chain of ${what} reaches cluster ${c}, outside 2..${this.maxCluster}`, { field: "fat.entry", path: what });
      }
      if (seen.has(c)) throw new FsError("ECORRUPT", `cluster chain of ${what} loops at cluster ${c}`, { field: "fat.entry", path: what });
      seen.add(c);
      out.push(c as Cluster);
      const next = this.get(c);
      if (this.isEndOfChain(next)) return out;
      if (next === 0 || next === this.bad) {
        throw new FsError("ECORRUPT", `cluster chain of ${what} hits a ${next === 0 ? "free" : "bad"} cluster after ${c}`, { field: "fat.entry", path: what });
      }
      c = next;
    }
  }

  /** Allocates `n` clusters linked into one chain (ENOSPC if the volume is full). */
  allocate(n: number): Cluster[] {
    if (n === 0) return [];
    if (n > this.freeCount) throw new FsError("ENOSPC", `need ${n} clusters, ${this.freeCount} free`);
    const out: Cluster[] = [];
    let c = this.nextFreeHint >= 2 && this.nextFreeHint <= this.maxCluster ? this.nextFreeHint : 2;
    for (let scanned = 0; out.length < n && scanned < this.maxCluster; scanned++) {
      if (this.get(c) === 0) out.push(c as Cluster);
      c = c >= this.maxCluster ? 2 : c + 1;
    }
    if (out.length < n) throw new FsError("ENOSPC", `need ${n} clusters, found ${out.length}`);
    for (let i = 0; i < out.length; i++) this.set(out[i]!, i + 1 < out.length ? out[i + 1]! : this.eoc);
    this.nextFreeHint = c;
    return out;
  }

  /** Appends one cluster to the end of a chain. */
  extend(last: Cluster): Cluster {
    const [c] = this.allocate(1) as [Cluster];
    this.set(last, c);
    return c;
  }

  freeChain(clusters: readonly Cluster[]): void {
    for (const c of clusters) this.set(c, 0);
  }

  /** Writes the dirty sectors to every (mirrored) FAT. */
  commit(): void {
    this.undo = undefined;
    if (this.dirty.size === 0) return;
    const ss = this.bs.bytesPerSector;
    const fats = this.mirrored ? [...Array(this.bs.numFats).keys()] : [this.bs.extFlags & 0x0f];
    for (const s of [...this.dirty].sort((a, b) => a - b)) {
      const data = this.bytes.subarray(s * ss, (s + 1) * ss);
      for (const f of fats) this.dev.write(this.fatOffset(f) + s * ss, data);
    }
    this.dirty.clear();
  }
}
