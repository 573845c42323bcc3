import { forEachRun } from "./bitmap";
import { BAT_UNUSED, DiskType, SECTOR } from "./constants";
import { VhdDisk } from "./vhd-disk";

/** A run of the virtual disk and where its bytes live. */
export interface Extent {
  start: number;
  length: number;
  /** The file of the chain holding the data, or undefined for unallocated space (reads as zeros). */
  file: string | undefined;
  /** 0 = the disk itself, 1 = its parent... */
  depth: number;
  /** Byte offset in `file` (undefined when unallocated). */
  fileOffset: number | undefined;
}

/**
 * Which file of the chain holds each byte (qemu-img map, with the chain made explicit). Dynamic
 * blocks are mapped whole; differencing blocks sector by sector through their bitmaps.
 */
export function mapVhd(disk: VhdDisk): Extent[] {
  const out: Extent[] = [];
  const push = (e: Extent) => {
    const last = out[out.length - 1];
    if (
      last &&
      last.file === e.file &&
      last.depth === e.depth &&
      last.start + last.length === e.start &&
      (last.fileOffset === undefined ? e.fileOffset === undefined : e.fileOffset === last.fileOffset + last.length)
    ) {
      last.length += e.length;
    } else {
      out.push(e);
    }
  };
  mapRange(disk, 0, 0, disk.size, push);
  return out;
}

function mapRange(d: VhdDisk | undefined, depth: number, start: number, end: number, push: (e: Extent) => void): void {
  if (start >= end) return;
  if (!d || start >= d.size) {
    push({ start, length: end - start, file: undefined, depth, fileOffset: undefined });
    return;
  }
  if (end > d.size) {
    mapRange(d, depth, start, d.size, push);
    push({ start: d.size, length: end - d.size, file: undefined, depth, fileOffset: undefined });
    return;
  }
  if (d.type === DiskType.Fixed) {
    push({ start, length: end - start, file: d.path, depth, fileOffset: start });
    return;
  }
  const bs = d.blockSize;
  for (let pos = start; pos < end; ) {
    const b = Math.floor(pos / bs);
    const blockEnd = Math.min((b + 1) * bs, end);
    const entry = d.bat[b]!;
    if (entry === BAT_UNUSED) {
      if (d.parent) mapRange(d.parent, depth + 1, pos, blockEnd, push);
      else push({ start: pos, length: blockEnd - pos, file: undefined, depth, fileOffset: undefined });
    } else if (d.type === DiskType.Dynamic) {
      push({ start: pos, length: blockEnd - pos, file: d.path, depth, fileOffset: d.blockDataOffset(b)! + (pos - b * bs) });
    } else {
      const bm = d.sectorBitmap(b)!;
      const base = b * bs;
      forEachRun(bm, Math.floor((pos - base) / SECTOR), Math.ceil((blockEnd - base) / SECTOR), (s, e, set) => {
        const a = Math.max(base + s * SECTOR, pos);
        const z = Math.min(base + e * SECTOR, blockEnd);
        if (set) push({ start: a, length: z - a, file: d.path, depth, fileOffset: d.blockDataOffset(b)! + (a - base) });
        else if (d.parent) mapRange(d.parent, depth + 1, a, z, push);
        else push({ start: a, length: z - a, file: undefined, depth, fileOffset: undefined });
      });
    }
    pos = blockEnd;
  }
}

/** True if any file of the chain stores data for [start, end) (convert skips the rest). */
export function rangeAllocated(d: VhdDisk | undefined, start: number, end: number): boolean {
  if (!d || start >= d.size) return false;
  if (d.type === DiskType.Fixed) return true;
  const bs = d.blockSize;
  const last = Math.min(Math.ceil(Math.min(end, d.size) / bs), d.bat.length);
  for (let b = Math.floor(start / bs); b < last; b++) {
    if (d.bat[b] !== BAT_UNUSED) return true;
  }
  return rangeAllocated(d.parent, start, end);
}
