import { SECTOR_SIZE } from "./block-device";
import { BDRV_BLOCK_ALLOCATED, BDRV_BLOCK_ZERO, StatusImage } from "./block-status";

/**
 * qemu-img compare over two opened images (block-status.ts), with its rules and its messages:
 *   - the common part is compared range by range; ranges that are ZERO in both are skipped, the
 *     others are read and compared sector by sector, and the first differing 512-byte sector is
 *     reported ("Content mismatch at offset N!");
 *   - if the sizes differ, "Warning: Image size mismatch!" and the larger image's extra part must
 *     read as zeros (its first non-zero sector is reported);
 *   - strict (-s): different sizes, or any range whose block status differs, is a mismatch.
 * result 0 = identical, 1 = different (qemu-img's exit codes; 2 and 4 are the caller's, for an
 * image that cannot be opened or read).
 */
export interface CompareResult {
  result: 0 | 1;
  /** What qemu-img prints on stdout, in order (the caller drops it for -q). */
  messages: string[];
  /** The first offset found different, if any. */
  offset?: number;
}

export interface CompareOptions {
  strict?: boolean;
  onProgress?: (done: number, total: number) => void;
}

/** qemu-img.c IO_BUF_SIZE: the most one comparison step reads. */
const IO_BUF_SIZE = 2 << 20;

/** Byte index of the first sector of `buf` holding a non-zero byte, or -1 (qemu-img's find_nonzero). */
export function firstNonZeroSector(buf: Uint8Array): number {
  for (let i = 0; i < buf.length; i += SECTOR_SIZE) {
    const end = Math.min(i + SECTOR_SIZE, buf.length);
    for (let j = i; j < end; j++) if (buf[j] !== 0) return i;
  }
  return -1;
}

/** Byte index of the first sector where `a` and `b` differ, or -1. */
export function firstDifferentSector(a: Uint8Array, b: Uint8Array): number {
  const fast = Buffer.from(a.buffer, a.byteOffset, a.length);
  const other = Buffer.from(b.buffer, b.byteOffset, b.length);
  if (fast.equals(other)) return -1;
  for (let i = 0; i < a.length; i += SECTOR_SIZE) {
    const end = Math.min(i + SECTOR_SIZE, a.length);
    if (fast.compare(other, i, end, i, end) !== 0) return i;
  }
  return -1;
}

export function compareImages(a: StatusImage, b: StatusImage, o: CompareOptions = {}): CompareResult {
  const messages: string[] = [];
  const differ = (offset: number, why: string): CompareResult => {
    messages.push(why);
    return { result: 1, messages, offset };
  };
  const common = Math.min(a.size, b.size);
  const total = Math.max(a.size, b.size);
  const progress = (at: number) => o.onProgress?.(at, total);
  progress(0);
  if (o.strict && a.size !== b.size) return differ(common, "Strict mode: Image size mismatch!");
  const bufA = Buffer.allocUnsafe(IO_BUF_SIZE);
  const bufB = Buffer.allocUnsafe(IO_BUF_SIZE);

  let offset = 0;
  while (offset < common) {
    // each image is asked up to its own end, as qemu asks (so EOF flags are each image's own)
    const sa = a.status(offset, a.size - offset);
    const sb = b.status(offset, b.size - offset);
    let chunk = Math.min(sa.pnum, sb.pnum, common - offset);
    if (o.strict && sa.flags !== sb.flags) return differ(offset, `Strict mode: Offset ${offset} block status mismatch!`);
    const zeroA = (sa.flags & BDRV_BLOCK_ZERO) !== 0;
    const zeroB = (sb.flags & BDRV_BLOCK_ZERO) !== 0;
    if (!(zeroA && zeroB)) {
      chunk = Math.min(chunk, IO_BUF_SIZE);
      const allocA = (sa.flags & BDRV_BLOCK_ALLOCATED) !== 0;
      const allocB = (sb.flags & BDRV_BLOCK_ALLOCATED) !== 0;
      if (allocA === allocB) {
        a.read(offset, bufA.subarray(0, chunk));
        b.read(offset, bufB.subarray(0, chunk));
        const at = firstDifferentSector(bufA.subarray(0, chunk), bufB.subarray(0, chunk));
        if (at >= 0) return differ(offset + at, `Content mismatch at offset ${offset + at}!`);
      } else {
        // the one not allocated here reads as zeros: the other must too
        const img = allocA ? a : b;
        img.read(offset, bufA.subarray(0, chunk));
        const at = firstNonZeroSector(bufA.subarray(0, chunk));
        if (at >= 0) return differ(offset + at, `Content mismatch at offset ${offset + at}!`);
      }
    }
    offset += chunk;
    progress(offset);
  }

  if (a.size !== b.size) {
    messages.push("Warning: Image size mismatch!");
    const over = a.size > b.size ? a : b;
    while (offset < total) {
      const s = over.status(offset, total - offset);
      let chunk = s.pnum;
      if (s.flags & BDRV_BLOCK_ALLOCATED && !(s.flags & BDRV_BLOCK_ZERO)) {
        chunk = Math.min(chunk, IO_BUF_SIZE);
        over.read(offset, bufA.subarray(0, chunk));
        const at = firstNonZeroSector(bufA.subarray(0, chunk));
        if (at >= 0) return differ(offset + at, `Content mismatch at offset ${offset + at}!`);
      }
      offset += chunk;
      progress(offset);
    }
  }
  messages.push("Images are identical.");
  return { result: 0, messages };
}
