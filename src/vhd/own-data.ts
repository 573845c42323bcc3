import { forEachRun } from "./bitmap";
import { BAT_UNUSED, DiskType, SECTOR } from "./constants";
import { Progress } from "./progress";
import { VhdDisk } from "./vhd-disk";

/**
 * Calls `fn(virtualOffset, bytes)` for every run of sectors stored in this file itself (not its
 * parent): whole blocks of a dynamic disk, bitmap runs of a differencing disk. Runs are clipped
 * to the disk's size and read in pieces of at most one block. `onProgress` counts BAT entries.
 */
export function forEachOwnRun(d: VhdDisk, fn: (virtualOffset: number, data: Buffer) => void, onProgress?: Progress): void {
  const bs = d.blockSize;
  const spb = bs / SECTOR;
  for (let b = 0; b < d.bat.length; b++) {
    onProgress?.(b, d.bat.length);
    if (d.bat[b] === BAT_UNUSED) continue;
    const base = b * bs;
    if (base >= d.size) break;
    const dataPos = d.blockDataOffset(b)!;
    const limitSectors = Math.min(spb, Math.ceil((d.size - base) / SECTOR));
    const emit = (s: number, e: number) => {
      const len = Math.min(e * SECTOR, d.size - base) - s * SECTOR;
      if (len <= 0) return;
      const buf = Buffer.alloc(len);
      const n = d.file.read(dataPos + s * SECTOR, buf);
      if (n < len) buf.fill(0, n);
      fn(base + s * SECTOR, buf);
    };
    if (d.type === DiskType.Dynamic) emit(0, limitSectors);
    else forEachRun(d.sectorBitmap(b)!, 0, limitSectors, (s, e, set) => set && emit(s, e));
  }
  onProgress?.(d.bat.length, d.bat.length);
}
