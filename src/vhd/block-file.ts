import { closeSync, existsSync, fdatasyncSync, fstatSync, ftruncateSync, openSync, readSync, realpathSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { resolve } from "node:path";

/**
 * The host file a VHD lives in: positional reads and writes, size, truncate and a durability
 * barrier. A file descriptor in normal use; memory for tests and fuzzing (thousands of images
 * without touching the disk).
 */
export interface BlockFile {
  readonly name: string;
  readonly writable: boolean;
  size(): number;
  /** Reads up to `buf.length` bytes at `pos`; returns how many were read (short at end of file). */
  read(pos: number, buf: Uint8Array): number;
  write(pos: number, data: Uint8Array): void;
  truncate(length: number): void;
  /** fdatasync: every write before it is on stable storage. */
  sync(): void;
  close(): void;
  /** The open file description's fd, where image locks go (image-lock.ts); absent for memory files. */
  readonly descriptor?: number;
}

/** How a disk finds and opens files (its own and its parents'). */
export interface FileHost {
  open(path: string, writable: boolean): BlockFile;
  create(path: string): BlockFile;
  exists(path: string): boolean;
  /** A canonical name, used to detect loops in parent chains. */
  canonical(path: string): string;
  /** Replaces `to` with `from` atomically (rename(2)): how a rewritten image takes its place. */
  rename(from: string, to: string): void;
  remove(path: string): void;
}

/** When a file reaches stable storage (cache-mode.ts maps qemu's cache modes onto this). */
export interface SyncPolicy {
  /** fdatasync after every write (writethrough, directsync). */
  flushAfterWrite: boolean;
  /** sync() does nothing (unsafe). */
  ignoreFlush: boolean;
}

const WRITEBACK: SyncPolicy = { flushAfterWrite: false, ignoreFlush: false };

export class FdFile implements BlockFile {
  private fd: number | undefined;
  private cachedSize: number;

  constructor(
    readonly name: string,
    fd: number,
    readonly writable: boolean,
    private readonly policy: SyncPolicy = WRITEBACK,
  ) {
    this.fd = fd;
    this.cachedSize = fstatSync(fd).size;
  }

  get descriptor(): number | undefined {
    return this.fd;
  }

  size(): number {
    return this.cachedSize;
  }

  read(pos: number, buf: Uint8Array): number {
    let done = 0;
    while (done < buf.length) {
      const n = readSync(this.handle(), buf, done, buf.length - done, pos + done);
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  write(pos: number, data: Uint8Array): void {
    if (!this.writable) throw new Error(`${this.name} is open read-only`);
    let done = 0;
    while (done < data.length) done += writeSync(this.handle(), data, done, data.length - done, pos + done);
    if (pos + data.length > this.cachedSize) this.cachedSize = pos + data.length;
    if (this.policy.flushAfterWrite) fdatasyncSync(this.handle());
  }

  truncate(length: number): void {
    ftruncateSync(this.handle(), length);
    this.cachedSize = length;
    if (this.policy.flushAfterWrite) fdatasyncSync(this.handle());
  }

  sync(): void {
    if (this.writable && !this.policy.ignoreFlush) fdatasyncSync(this.handle());
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private handle(): number {
    if (this.fd === undefined) throw new Error(`${this.name} is closed`);
    return this.fd;
  }
}

export const nodeFileHost: FileHost = {
  open: (path, writable) => new FdFile(path, openSync(path, writable ? "r+" : "r"), writable),
  create: (path) => new FdFile(path, openSync(path, "w+"), true),
  exists: (path) => existsSync(path),
  rename: (from, to) => renameSync(from, to),
  remove: (path) => unlinkSync(path),
  canonical: (path) => {
    try {
      return realpathSync(path);
    } catch {
      return resolve(path);
    }
  },
};

/** A file held in memory, growing as written (sparse regions read as zeros). */
export class MemoryFile implements BlockFile {
  private data: Uint8Array;
  private length: number;

  constructor(
    readonly name: string,
    initial: Uint8Array = new Uint8Array(0),
    readonly writable = true,
  ) {
    this.data = new Uint8Array(initial);
    this.length = initial.length;
  }

  size(): number {
    return this.length;
  }

  bytes(): Uint8Array {
    return this.data.subarray(0, this.length);
  }

  read(pos: number, buf: Uint8Array): number {
    if (pos >= this.length) return 0;
    const n = Math.min(buf.length, this.length - pos);
    buf.set(this.data.subarray(pos, pos + n));
    return n;
  }

  write(pos: number, data: Uint8Array): void {
    if (!this.writable) throw new Error(`${this.name} is open read-only`);
    this.ensure(pos + data.length);
    this.data.set(data, pos);
    this.length = Math.max(this.length, pos + data.length);
  }

  truncate(length: number): void {
    this.ensure(length);
    this.data.fill(0, length);
    this.length = length;
  }

  sync(): void {}
  close(): void {}

  private ensure(n: number): void {
    if (n <= this.data.length) return;
    const grown = new Uint8Array(Math.max(n, this.data.length * 2));
    grown.set(this.data.subarray(0, this.length));
    this.data = grown;
  }
}

/** A FileHost over named in-memory files (tests, fuzzing, parent-loop drills). */
export class MemoryFileHost implements FileHost {
  readonly files = new Map<string, Uint8Array>();

  open(path: string, writable: boolean): BlockFile {
    const data = this.files.get(path);
    if (!data) throw Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" });
    const file = new MemoryFile(path, data, writable);
    if (writable) {
      const host = this;
      const origWrite = file.write.bind(file);
      const origTrunc = file.truncate.bind(file);
      file.write = (pos, d) => {
        origWrite(pos, d);
        host.files.set(path, file.bytes());
      };
      file.truncate = (len) => {
        origTrunc(len);
        host.files.set(path, file.bytes());
      };
    }
    return file;
  }

  create(path: string): BlockFile {
    this.files.set(path, new Uint8Array(0));
    return this.open(path, true);
  }

  exists(path: string): boolean {
    return this.files.has(path);
  }

  rename(from: string, to: string): void {
    const data = this.files.get(from);
    if (!data) throw Object.assign(new Error(`ENOENT: ${from}`), { code: "ENOENT" });
    this.files.set(to, data);
    this.files.delete(from);
  }

  remove(path: string): void {
    this.files.delete(path);
  }

  canonical(path: string): string {
    return resolve(path);
  }
}

/** Reads exactly `length` bytes at `pos`, zero-filling past end of file. */
export function readAt(file: BlockFile, pos: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  file.read(pos, buf);
  return buf;
}
