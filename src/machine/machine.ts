/**
 * The machine: machine memory, each domain's P2M, the shared decode cache, and the vCPUs.
 *
 * Decoded code is cached per machine frame (so every vCPU and domain mapping the same code shares
 * it) and dropped when the frame is written through any path: a guest store, the host writing guest
 * memory, or a page-table A/D update. That is what makes self-modifying code work.
 */
import { FrameUse, MachineMemory } from "./memory";
import { P2m } from "./p2m";
import { DomId, Gfn, Gpa, Mfn, PAGE_SIZE, gfn, mfn } from "./types";
import { GuestPhysError, MachineError } from "./errors";
import { CodeCache, sharedCodeCache } from "./code-cache";

/** A compiled basic block (see codegen.ts); the machine only needs validity and its bytes. */
export interface CachedBlock {
  valid: boolean;
  frames: number[];
  /** The bytes decoded from each frame: [start, end) offsets in `frames[k]` at 2k and 2k+1. */
  spans: number[];
  key: number;
}

/** A code frame's bytes in 32 chunks of 128: a store outside every chunk holding code skips the scan. */
const CHUNK_SHIFT = 7;

/** Bit mask of the chunks that bytes [start, end) of a frame touch (end > start). */
function chunkBits(start: number, end: number): number {
  const a = start >>> CHUNK_SHIFT, b = (end - 1) >>> CHUNK_SHIFT;
  return b - a >= 31 ? -1 : (((1 << (b - a + 1)) - 1) << a) | 0;
}

export class Machine {
  readonly memory: MachineMemory;
  private readonly p2ms = new Map<number, P2m>();
  /** Bumped whenever cached translations may be stale (P2M change). */
  epoch = 0;
  /** Bumped when a frame becomes code: vCPUs drop their write-TLB entries (writes must see it). */
  codeEpoch = 0;
  /** Decoded blocks by key (machine address * 8 + code size * 2 + single-step; vcpu.ts lookupBlock). */
  readonly code = new Map<number, CachedBlock>();
  /** Blocks decoded from each machine frame. */
  private readonly frameBlocks = new Map<number, CachedBlock[]>();
  /** 1 for frames holding decoded code: writes to them take the slow path. */
  readonly codeFrames: Uint8Array;
  /** Per code frame, the 128-byte chunks its blocks were decoded from (see chunkBits). */
  private readonly codeChunks: Int32Array;
  /**
   * Translations by content (code-cache.ts): shared by every machine of the process unless set to
   * a private cache, or to undefined to compile every block afresh.
   */
  codeCache: CodeCache | undefined = sharedCodeCache;
  /** Keep each compiled block's JavaScript source on the block (debugging the interpreter). */
  keepSource = false;
  /** Count of decode-cache invalidations (self-modifying code, loaders). */
  invalidations = 0;

  constructor(memoryMiB: number) {
    if (!(memoryMiB > 0) || !Number.isInteger(memoryMiB)) throw new MachineError(`memory size ${memoryMiB} MiB must be a positive integer`);
    this.memory = new MachineMemory(memoryMiB * 1024 * 1024);
    this.codeFrames = new Uint8Array(this.memory.frameCount);
    this.codeChunks = new Int32Array(this.memory.frameCount);
    this.memory.onFree = (m) => {
      this.invalidateFrame(m);
      this.epoch++; // no vCPU may keep a translation to a freed frame
    };
  }

  /** Breakpoint addresses of all vCPUs: compiled blocks end before any of them (blocks are shared). */
  readonly breakAddrs = new Map<number, number>();

  /** The P2M of a domain, created empty on first use. */
  p2m(dom: DomId): P2m {
    let p = this.p2ms.get(dom);
    if (!p) {
      p = new P2m();
      p.onChange = () => this.epoch++;
      this.p2ms.set(dom, p);
    }
    return p;
  }

  /** Allocates `pages` machine frames to `dom` and maps them at guest frames `firstGfn...`. */
  populate(dom: DomId, firstGfn: Gfn, pages: number, use: FrameUse = FrameUse.Ram): Mfn[] {
    const frames = this.memory.allocate(dom, pages, use);
    this.p2m(dom).setRange(firstGfn, frames);
    return frames;
  }

  /** A byte-level accessor for one domain's guest-physical memory (host side: loaders, hypervisor). */
  guest(dom: DomId): GuestPhysical {
    return new GuestPhysical(this, this.p2m(dom));
  }

  // ---- decode cache bookkeeping -------------------------------------------------------------

  registerBlock(b: CachedBlock): void {
    const old = this.code.get(b.key);
    if (old) old.valid = false;
    this.code.set(b.key, b);
    for (let k = 0; k < b.frames.length; k++) {
      const f = b.frames[k]!;
      this.codeChunks[f]! |= chunkBits(b.spans[2 * k]!, b.spans[2 * k + 1]!);
      let list = this.frameBlocks.get(f);
      if (!list) {
        list = [];
        this.frameBlocks.set(f, list);
      }
      list.push(b);
      if (this.codeFrames[f] === 0) {
        this.codeFrames[f] = 1;
        this.codeEpoch++; // write-TLB entries for this frame must go
      }
    }
  }

  /** Drops every block decoded from machine frame `m`. Returns true if there were any. */
  invalidateFrame(m: number): boolean {
    if (this.codeFrames[m] === 0) return false;
    this.codeFrames[m] = 0;
    this.codeChunks[m] = 0;
    const list = this.frameBlocks.get(m);
    this.frameBlocks.delete(m);
    if (list) {
      for (const b of list) {
        b.valid = false;
        if (this.code.get(b.key) === b) this.code.delete(b.key);
      }
    }
    this.invalidations++;
    return true;
  }

  /**
   * A store of `len` bytes at offset `off` of machine frame `m`: drops only the blocks decoded
   * from those bytes (a kernel patching one call site, or writing data that shares a page with
   * code, keeps the rest of the page compiled). Returns true if any block was dropped.
   */
  invalidateRange(m: number, off: number, len: number): boolean {
    if (this.codeFrames[m] === 0 || (this.codeChunks[m]! & chunkBits(off, off + len)) === 0) return false;
    const list = this.frameBlocks.get(m);
    if (list === undefined) return this.invalidateFrame(m);
    const end = off + len;
    let dropped = false, chunks = 0, kept = 0;
    for (const b of list) {
      if (!b.valid) continue; // dropped through another frame or recompiled: forget it here too
      const k = b.frames.indexOf(m);
      const s = b.spans[2 * k]!, e = b.spans[2 * k + 1]!;
      if (s < end && off < e) {
        b.valid = false;
        if (this.code.get(b.key) === b) this.code.delete(b.key);
        dropped = true;
        continue;
      }
      list[kept++] = b;
      chunks |= chunkBits(s, e);
    }
    list.length = kept;
    this.codeChunks[m] = chunks;
    if (kept === 0) {
      this.codeFrames[m] = 0;
      this.frameBlocks.delete(m);
    }
    if (dropped) this.invalidations++;
    return dropped;
  }

  /** Drops the whole decode cache (e.g. when breakpoints change block boundaries). */
  flushCode(): void {
    for (const b of this.code.values()) b.valid = false;
    this.code.clear();
    this.frameBlocks.clear();
    this.codeFrames.fill(0);
    this.codeChunks.fill(0);
    this.epoch++;
  }
}

/**
 * Guest-physical memory of one domain as the host sees it: little-endian typed accessors for
 * struct fields at offsets, byte copies, all through the P2M. A missing P2M entry is a
 * GuestPhysError (the host asked for something the guest does not have).
 */
export class GuestPhysical {
  constructor(readonly machine: Machine, readonly p2m: P2m) {}

  private frame(a: number, write: boolean): { view: DataView; off: number; m: number } {
    if (!(a >= 0) || !Number.isInteger(a)) throw new GuestPhysError(a, "not a guest-physical address");
    const g = Math.floor(a / PAGE_SIZE);
    // The host writes past a read-only entry (a backend's or Xen's own copy), but a logged page
    // is marked dirty first (P2m.writeFault).
    const e = write ? this.p2m.rawForWrite(g) : this.p2m.raw(g);
    if (e < 0) throw new GuestPhysError(a, "no P2M entry");
    const m = Math.floor(e / 2);
    if (write) this.machine.invalidateFrame(m);
    return { view: this.machine.memory.view(mfn(m)), off: a - g * PAGE_SIZE, m };
  }

  /** Machine frame backing guest frame `g`, if mapped. */
  mfnOf(g: Gfn): Mfn | undefined {
    return this.p2m.lookup(g)?.mfn;
  }

  read(a: Gpa | number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { view, off } = this.frame(a + done, false);
      const n = Math.min(length - done, PAGE_SIZE - off);
      out.set(new Uint8Array(view.buffer, view.byteOffset + off, n), done);
      done += n;
    }
    return out;
  }

  write(a: Gpa | number, data: Uint8Array): void {
    let done = 0;
    while (done < data.length) {
      const { view, off } = this.frame(a + done, true);
      const n = Math.min(data.length - done, PAGE_SIZE - off);
      new Uint8Array(view.buffer, view.byteOffset + off, n).set(data.subarray(done, done + n));
      done += n;
    }
  }

  fill(a: Gpa | number, length: number, byte = 0): void {
    this.write(a, new Uint8Array(length).fill(byte));
  }

  u8(a: number): number { return this.read(a, 1)[0]!; }
  u16(a: number): number { const b = this.read(a, 2); return b[0]! | (b[1]! << 8); }
  u32(a: number): number { const b = this.read(a, 4); return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0; }
  u64(a: number): bigint { return BigInt(this.u32(a)) | (BigInt(this.u32(a + 4)) << 32n); }

  setU8(a: number, v: number): void { this.write(a, Uint8Array.of(v & 0xff)); }
  setU16(a: number, v: number): void { this.write(a, Uint8Array.of(v & 0xff, (v >>> 8) & 0xff)); }
  setU32(a: number, v: number): void {
    this.write(a, Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff));
  }
  setU64(a: number, v: bigint | number): void {
    const x = BigInt.asUintN(64, BigInt(v));
    this.setU32(a, Number(x & 0xffffffffn));
    this.setU32(a + 4, Number(x >> 32n));
  }

  /** Guest frame number of a guest-physical address. */
  static gfnOf(a: number): Gfn {
    return gfn(Math.floor(a / PAGE_SIZE));
  }
}
