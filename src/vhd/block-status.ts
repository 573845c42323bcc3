import { BlockDevice, SECTOR_SIZE } from "./block-device";
import { BlockFile, FileHost, nodeFileHost } from "./block-file";
import { BAT_UNUSED, DiskType } from "./constants";
import { DataExtent, dataExtents } from "./file-extents";
import { SizeCalc } from "./footer";
import { ImageFormat, probeFormat } from "./image";
import { rangeAllocated } from "./map";
import { VhdDisk } from "./vhd-disk";

/**
 * qemu's block status (include/block/block-common.h BDRV_BLOCK_*, qemu 7.2), what `qemu-img
 * compare -s` compares: two images are strictly equal only if every range has the same flags.
 */
export const BDRV_BLOCK_DATA = 0x01;
export const BDRV_BLOCK_ZERO = 0x02;
export const BDRV_BLOCK_OFFSET_VALID = 0x04;
export const BDRV_BLOCK_ALLOCATED = 0x10;
export const BDRV_BLOCK_EOF = 0x20;

export interface BlockStatus {
  flags: number;
  /** Bytes from the asked offset that share these flags. */
  pnum: number;
}

/** An image opened for comparison: its virtual size as qemu counts it, reads, and block status. */
export interface StatusImage {
  readonly path: string;
  readonly format: ImageFormat;
  readonly size: number;
  read(offset: number, buf: Uint8Array): void;
  /** The status at `offset` for at most `bytes` bytes (bytes > 0, offset < size). */
  status(offset: number, bytes: number): BlockStatus;
  close(): void;
}

export interface StatusOpenOptions {
  format?: ImageFormat | "auto";
  host?: FileHost;
  sizeCalc?: SizeCalc;
  /**
   * Learn the host file's holes (SEEK_DATA) for raw and fixed images. Only strict comparison
   * needs them; otherwise the file counts as all data (qemu's answer when lseek cannot tell).
   */
  holes?: boolean;
}

export function openStatusImage(path: string, o: StatusOpenOptions = {}): StatusImage {
  const host = o.host ?? nodeFileHost;
  const format = !o.format || o.format === "auto" ? probeFormat(path, host) : o.format;
  if (format === "raw") return rawStatusImage(path, host.open(path, false), o.holes ?? false);
  const disk = VhdDisk.open(path, { readOnly: true, host, sizeMode: o.sizeCalc });
  return disk.type === DiskType.Fixed ? fixedStatusImage(disk, o.holes ?? false) : sparseStatusImage(disk);
}

function withEof(offset: number, s: BlockStatus, size: number): BlockStatus {
  // block/io.c bdrv_co_block_status: a range that reaches the end of the image says so
  return offset + s.pnum === size ? { flags: s.flags | BDRV_BLOCK_EOF, pnum: s.pnum } : s;
}

/**
 * block/file-posix.c raw_co_block_status over the host file's extents: data up to the next hole,
 * a hole up to the next data, the rest of the request when only a hole is left. Every answer is
 * ALLOCATED (block/io.c adds it to DATA or ZERO) and OFFSET_VALID (the file maps itself).
 */
function fileStatus(extents: DataExtent[] | undefined, offset: number, bytes: number): BlockStatus {
  const base = BDRV_BLOCK_OFFSET_VALID | BDRV_BLOCK_ALLOCATED;
  if (!extents) return { flags: base | BDRV_BLOCK_DATA, pnum: bytes };
  for (const e of extents) {
    if (e.end <= offset) continue;
    if (e.start <= offset) return { flags: base | BDRV_BLOCK_DATA, pnum: Math.min(bytes, e.end - offset) };
    return { flags: base | BDRV_BLOCK_ZERO, pnum: Math.min(bytes, e.start - offset) };
  }
  return { flags: base | BDRV_BLOCK_ZERO, pnum: bytes };
}

function rawStatusImage(path: string, file: BlockFile, holes: boolean): StatusImage {
  const extents = holes && file.descriptor !== undefined ? dataExtents(file.descriptor) : undefined;
  // bdrv_getlength counts whole sectors: a 1000-byte raw file is a 1024-byte disk
  const size = Math.ceil(file.size() / SECTOR_SIZE) * SECTOR_SIZE;
  return {
    path,
    format: "raw",
    size,
    read(offset, buf) {
      const n = file.read(offset, buf);
      buf.fill(0, n);
    },
    status: (offset, bytes) => withEof(offset, fileStatus(extents, offset, bytes), size),
    close: () => file.close(),
  };
}

/**
 * block/vpc.c: a fixed disk answers DATA | OFFSET_VALID | RECURSE for the whole request, and
 * block/io.c then asks the file: where the file has a hole the range is DATA | ZERO, cut at the
 * file's extent (what `qemu-img map` shows as "zero": true, "data": true).
 */
function fixedStatusImage(disk: VhdDisk, holes: boolean): StatusImage {
  const extents = holes && disk.file.descriptor !== undefined ? dataExtents(disk.file.descriptor) : undefined;
  return deviceImage(disk, (offset, bytes) => {
    const f = fileStatus(extents, offset, bytes);
    return { flags: BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID | BDRV_BLOCK_ALLOCATED | (f.flags & BDRV_BLOCK_ZERO), pnum: f.pnum };
  });
}

/**
 * block/vpc.c vpc_co_block_status for dynamic disks: an allocated block is DATA for that block
 * alone (a bitmap sits between two blocks), unallocated blocks are one ZERO run up to the next
 * allocated one. qemu ignores a differencing disk's parent; we read the chain, so a block stored
 * in any file of it is DATA (what the chain's reader sees there is that file's data).
 */
function sparseStatusImage(disk: VhdDisk): StatusImage {
  const bs = disk.blockSize;
  const stored = (b: number) => disk.bat[b] !== BAT_UNUSED || rangeAllocated(disk.parent, b * bs, (b + 1) * bs);
  return deviceImage(disk, (offset, bytes) => {
    let b = Math.floor(offset / bs);
    if (stored(b)) return { flags: BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID | BDRV_BLOCK_ALLOCATED, pnum: Math.min(bytes, (b + 1) * bs - offset) };
    let end = (b + 1) * bs;
    while (end < offset + bytes && !stored(++b)) end = (b + 1) * bs;
    return { flags: BDRV_BLOCK_ZERO | BDRV_BLOCK_ALLOCATED, pnum: Math.min(bytes, end - offset) };
  });
}

function deviceImage(disk: VhdDisk, status: (offset: number, bytes: number) => BlockStatus): StatusImage {
  return {
    path: disk.path,
    format: "vpc",
    size: disk.size,
    read: (offset, buf) => (disk as BlockDevice).read(offset, buf),
    status: (offset, bytes) => withEof(offset, status(offset, bytes), disk.size),
    close: () => disk.close(),
  };
}
