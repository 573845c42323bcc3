/**
 * qemu-img's cache modes (`-t` for the image written, `-T` for images read), with the meaning
 * qemu's block layer gives them (qemu docs "-drive cache=", block.c bdrv_parse_cache_mode):
 *
 *   mode          page cache (O_DIRECT?)   flush requests   a flush after every write
 *   writeback     used                     honoured         no        (XenLab's default)
 *   writethrough  used                     honoured         yes
 *   none          bypassed (O_DIRECT)      honoured         no
 *   directsync    bypassed (O_DIRECT)      honoured         yes
 *   unsafe        used                     ignored          no        (qemu-img convert's default)
 *
 * A flush is fdatasync(2), as qemu's file-posix driver does it. Reads are only affected by
 * O_DIRECT. O_DIRECT needs offsets, lengths and memory aligned to the device's logical block;
 * Node cannot allocate aligned memory, so a bounce buffer is found inside a larger ArrayBuffer by
 * asking the kernel (the first offset at which an O_DIRECT read is not refused), and the
 * unaligned head and tail of a request go through a second, buffered descriptor on the same
 * file. They never share a page with the direct part (the alignment used is the page size), so
 * the kernel keeps both views coherent.
 */
import { closeSync, constants, fdatasyncSync, fstatSync, ftruncateSync, openSync, readSync, unlinkSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { BlockFile, FdFile, FileHost, SyncPolicy, nodeFileHost } from "./block-file";
import { VhdUsageError } from "./errors";

export type CacheMode = "writeback" | "writethrough" | "none" | "directsync" | "unsafe";
export const CACHE_MODES: readonly CacheMode[] = ["writeback", "writethrough", "none", "directsync", "unsafe"];

export function parseCacheMode(text: string, option: string): CacheMode {
  if ((CACHE_MODES as readonly string[]).includes(text)) return text as CacheMode;
  throw new VhdUsageError(`${option} ${text}: the cache mode must be one of ${CACHE_MODES.join(", ")}`);
}

export interface CachePolicy extends SyncPolicy {
  direct: boolean;
}

export function cachePolicy(mode: CacheMode): CachePolicy {
  return {
    direct: mode === "none" || mode === "directsync",
    flushAfterWrite: mode === "writethrough" || mode === "directsync",
    ignoreFlush: mode === "unsafe",
  };
}

/**
 * A FileHost whose files written follow `write` and whose files only read follow `read`.
 * `flushes: false` drops flush requests but keeps O_DIRECT: for a file whose writer flushes it
 * once itself at the end (convert's layout step).
 */
export function cacheFileHost(write: CacheMode, read: CacheMode = "writeback", flushes = true): FileHost {
  if (write === "writeback" && read === "writeback" && flushes) return nodeFileHost;
  const openWith = (path: string, flags: number, mode: CacheMode, writable: boolean): BlockFile => {
    const p = { ...cachePolicy(mode), ...(flushes ? {} : { ignoreFlush: true, flushAfterWrite: false }) };
    if (p.direct) return new DirectFile(path, flags, writable, p);
    return new FdFile(path, openSync(path, flags), writable, p);
  };
  const { O_RDONLY, O_RDWR, O_CREAT, O_TRUNC } = constants;
  return {
    open: (path, writable) => openWith(path, writable ? O_RDWR : O_RDONLY, writable ? write : read, writable),
    create: (path) => openWith(path, O_RDWR | O_CREAT | O_TRUNC, write, true),
    exists: nodeFileHost.exists,
    canonical: nodeFileHost.canonical,
    rename: nodeFileHost.rename,
    remove: nodeFileHost.remove,
  };
}

/** Page size: every direct request starts and ends on it, so no page is shared with the buffered descriptor. */
const ALIGN = 4096;
const BOUNCE = 4 << 20;
let bounceWindow: Uint8Array | undefined;

/**
 * The aligned bounce buffer, found once per process: the first offset in a larger ArrayBuffer at
 * which an O_DIRECT write is accepted, tried on a scratch file beside `name` (a write, because
 * ext4 accepts any alignment for a read of a hole or at end of file).
 */
function bounce(name: string): Uint8Array {
  if (bounceWindow) return bounceWindow;
  const backing = new ArrayBuffer(BOUNCE + ALIGN);
  // beside the file (same file system) if its directory is writable, else in the temp directory
  let scratch = "";
  let fd = -1;
  for (const dir of [dirname(name), tmpdir()]) {
    scratch = join(dir, `.xenlab-odirect-probe-${process.pid}`);
    try {
      fd = openSync(scratch, constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC | constants.O_DIRECT);
      break;
    } catch {
      // read-only directory, or a file system without O_DIRECT: try the next place
    }
  }
  if (fd < 0) throw new VhdUsageError(`${name}: found no writable O_DIRECT-capable directory to align direct I/O buffers with`);
  try {
    for (let off = 0; off < ALIGN; off += 16) {
      try {
        writeSync(fd, new Uint8Array(backing, off, ALIGN), 0, ALIGN, 0);
        bounceWindow = new Uint8Array(backing, off, BOUNCE);
        return bounceWindow;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EINVAL") throw e;
      }
    }
  } finally {
    closeSync(fd);
    unlinkSync(scratch);
  }
  throw new Error("no O_DIRECT-aligned window found in a page-sized range of memory");
}

/** A file opened with O_DIRECT (cache modes none and directsync). */
class DirectFile implements BlockFile {
  private direct: number | undefined;
  private buffered: number;
  private cachedSize: number;

  constructor(
    readonly name: string,
    flags: number,
    readonly writable: boolean,
    private readonly policy: CachePolicy,
  ) {
    try {
      this.direct = openSync(name, flags | constants.O_DIRECT);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EINVAL") throw new VhdUsageError(`${name}: the file system refuses O_DIRECT, which cache mode none/directsync needs (use writeback or writethrough)`);
      throw e;
    }
    this.buffered = openSync(name, flags & ~(constants.O_CREAT | constants.O_TRUNC));
    this.cachedSize = fstatSync(this.direct).size;
  }

  get descriptor(): number | undefined {
    return this.direct === undefined ? undefined : this.buffered;
  }

  size(): number {
    return this.cachedSize;
  }

  read(pos: number, buf: Uint8Array): number {
    const end = Math.min(pos + buf.length, this.cachedSize);
    let done = 0;
    this.split(pos, end, (at, len, direct) => {
      const into = buf.subarray(at - pos, at - pos + len);
      if (!direct) {
        done += readFull(this.buffered, into, at);
        return;
      }
      const b = bounce(this.name);
      for (let k = 0; k < len; k += BOUNCE) {
        const n = Math.min(BOUNCE, len - k);
        const got = readFull(this.fd(), b.subarray(0, n), at + k);
        into.set(b.subarray(0, got), k);
        done += got;
      }
    });
    return done;
  }

  write(pos: number, data: Uint8Array): void {
    if (!this.writable) throw new Error(`${this.name} is open read-only`);
    this.split(pos, pos + data.length, (at, len, direct) => {
      const from = data.subarray(at - pos, at - pos + len);
      if (!direct) return writeFull(this.buffered, from, at);
      const b = bounce(this.name);
      for (let k = 0; k < len; k += BOUNCE) {
        const n = Math.min(BOUNCE, len - k);
        b.set(from.subarray(k, k + n));
        writeFull(this.fd(), b.subarray(0, n), at + k);
      }
    });
    if (pos + data.length > this.cachedSize) this.cachedSize = pos + data.length;
    if (this.policy.flushAfterWrite) fdatasyncSync(this.fd());
  }

  truncate(length: number): void {
    ftruncateSync(this.fd(), length);
    this.cachedSize = length;
    if (this.policy.flushAfterWrite) fdatasyncSync(this.fd());
  }

  sync(): void {
    if (this.writable && !this.policy.ignoreFlush) fdatasyncSync(this.fd());
  }

  close(): void {
    if (this.direct === undefined) return;
    closeSync(this.direct);
    closeSync(this.buffered);
    this.direct = undefined;
  }

  /** Calls `fn` for the unaligned head, the aligned middle (direct) and the unaligned tail of [start, end). */
  private split(start: number, end: number, fn: (at: number, len: number, direct: boolean) => void): void {
    if (end <= start) return;
    const a0 = Math.ceil(start / ALIGN) * ALIGN;
    const a1 = Math.floor(end / ALIGN) * ALIGN;
    if (a1 <= a0) return fn(start, end - start, false);
    if (a0 > start) fn(start, a0 - start, false);
    fn(a0, a1 - a0, true);
    if (end > a1) fn(a1, end - a1, false);
  }

  private fd(): number {
    if (this.direct === undefined) throw new Error(`${this.name} is closed`);
    return this.direct;
  }
}

function readFull(fd: number, buf: Uint8Array, pos: number): number {
  let done = 0;
  while (done < buf.length) {
    const n = readSync(fd, buf, done, buf.length - done, pos + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

function writeFull(fd: number, data: Uint8Array, pos: number): void {
  for (let done = 0; done < data.length; ) done += writeSync(fd, data, done, data.length - done, pos + done);
}
