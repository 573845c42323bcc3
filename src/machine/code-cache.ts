/**
 * The process-wide compiled-code cache: a block's translation keyed by what it was made from.
 *
 * The generated JavaScript of a block depends only on the bytes decoded, the address they were
 * decoded at (RIPs and branch targets are constants in it), the linear address they were read
 * from (CS.base + RIP outside 64-bit mode: where the page ends), and the mode bits of the
 * decode-cache key (the code size, and whether it was compiled for single-stepping).
 * It does not depend on the machine frame
 * or on any machine's state: every per-run value comes in through the vCPU argument. So two
 * machines booting the same kernel (a second boot in one kernel process, a second domain running
 * the same kernel) can share one function object, and V8's feedback and optimized code for it
 * carry over instead of being rebuilt for each fresh `new Function`.
 *
 * A lookup is by (linear address, mode bits), then the RIP, then the exact bytes, compared in place against
 * guest memory: a hit is exactly the block a fresh compile would produce, with no hash to trust.
 * Each entry also has a content hash (FNV-1a over mode bits, addresses and bytes), which names it
 * in the cache file and lets a load reject a corrupt entry.
 *
 * A cache file is code: load only files this project wrote (the artifacts directory).
 *
 * Across processes, `save`/`load` write and read a source cache file (the inner function's text
 * and the facts the run loop needs: instruction count and addresses). A loaded entry is turned
 * back into a function with one `new Function` on its first hit, which saves iced's decode and
 * the emitters, but not V8's own compile and warm-up.
 */
import { readFileSync, writeFileSync, mkdirSync, renameSync } from "node:fs";
import { dirname } from "node:path";
import * as X from "./alu";
import * as V from "./vec";
import { mfn } from "./types";
import type { BlockFn } from "./codegen";
import type { Vcpu } from "./vcpu";

/** What a block compiles to, independent of the machine frame it was read from. */
export interface Translation {
  readonly va: number;
  /** Linear address of the first byte (va in 64-bit mode; CS.base + va otherwise). */
  readonly lin: number;
  /** The decode-cache key's mode bits (the key modulo 8 in vcpu.ts's encoding). */
  readonly mode: number;
  /** Exactly the bytes decoded, from `va` on (the last instruction may reach into the next page). */
  readonly bytes: Uint8Array;
  readonly hash: number;
  readonly n: number;
  /** Address of each instruction and one past the last. */
  readonly ips: readonly number[];
  readonly unimplemented: readonly string[];
  /** Made on the first hit for an entry loaded from a file. */
  fn: BlockFn | undefined;
  /** The inner function's source: kept only for entries loaded and not yet made into `fn`. */
  text: string | undefined;
}

/** Cache file format (bump when generated code or this layout changes meaning). */
export const CODE_CACHE_FORMAT = "xenlab-code-cache/2";

/** Entries kept before the oldest are dropped (a Linux boot to /init makes about 70,000). */
const DEFAULT_CAPACITY = 200_000;
/** Translations kept per (address, mode): different programs loaded at the same address. */
const PER_ADDRESS = 8;

export interface CodeCacheStats {
  entries: number;
  /** Lookups that found the block's bytes. */
  hits: number;
  /** Of the hits, entries loaded from a file and compiled from their saved text. */
  loadedHits: number;
  misses: number;
  /** Entries read by `load`. */
  loaded: number;
}

/** FNV-1a (32-bit) over the mode bits, the address and the bytes. */
export function contentHash(va: number, lin: number, mode: number, bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  const mix = (b: number): void => { h = Math.imul(h ^ (b & 0xff), 0x01000193); };
  mix(mode);
  // Each address as 8 little-endian bytes of its two's-complement form (va may be negative).
  for (const a of [va, lin]) {
    const lo = a % 0x100000000 >>> 0, hi = Math.floor(a / 0x100000000) >>> 0;
    for (let k = 0; k < 4; k++) mix(lo >>> (8 * k));
    for (let k = 0; k < 4; k++) mix(hi >>> (8 * k));
  }
  for (let k = 0; k < bytes.length; k++) mix(bytes[k]!);
  return h >>> 0;
}

/** True if guest memory at linear `lin` (through vCPU `c`'s exec translation) holds exactly `bytes`. */
function bytesMatch(c: Vcpu, lin: number, bytes: Uint8Array): boolean {
  let done = 0;
  while (done < bytes.length) {
    let phys: number;
    try {
      phys = c.fetchPhys(lin + done);
    } catch {
      return false; // the next page is not mapped now: a fresh compile would end earlier
    }
    const off = phys % 4096;
    const len = Math.min(bytes.length - done, 4096 - off);
    const page = c.machine.memory.view(mfn(Math.floor(phys / 4096)));
    for (let k = 0; k < len; k++) if (page.getUint8(off + k) !== bytes[done + k]) return false;
    done += len;
  }
  return true;
}

/** Mode bits are below 16 (vcpu.ts uses 3 of them). */
function indexKey(lin: number, mode: number): number {
  return lin * 16 + mode;
}

interface SavedEntry { va: number; lin: number; mode: number; bytes: string; hash: number; ips: number[]; unimplemented: string[]; text: string }

export class CodeCache {
  private readonly index = new Map<number, Translation[]>();
  private count = 0;
  hits = 0;
  loadedHits = 0;
  misses = 0;
  loaded = 0;

  constructor(readonly capacity = DEFAULT_CAPACITY) {}

  /** The translation of the block at `va` if one was made from the same bytes, else undefined. */
  find(c: Vcpu, va: number, lin: number, mode: number): Translation | undefined {
    const list = this.index.get(indexKey(lin, mode));
    if (list !== undefined) {
      for (const t of list) {
        if (t.va !== va || !bytesMatch(c, lin, t.bytes)) continue;
        if (t.fn === undefined) {
          t.fn = makeFunction(t.text!);
          t.text = undefined;
          this.loadedHits++;
        }
        this.hits++;
        return t;
      }
    }
    this.misses++;
    return undefined;
  }

  /** Remembers a fresh translation. */
  add(t: Translation): void {
    const k = indexKey(t.lin, t.mode);
    let list = this.index.get(k);
    if (list === undefined) {
      list = [];
      this.index.set(k, list);
    } else {
      const same = list.findIndex((o) => o.hash === t.hash && sameBytes(o.bytes, t.bytes));
      if (same >= 0) { list[same] = t; return; }
      if (list.length >= PER_ADDRESS) { list.shift(); this.count--; }
    }
    list.push(t);
    this.count++;
    // Over capacity: drop the addresses inserted first (Map iteration is insertion order).
    if (this.count > this.capacity) {
      for (const [key, old] of this.index) {
        this.index.delete(key);
        this.count -= old.length;
        if (this.count <= this.capacity * 0.9) break;
      }
    }
  }

  get size(): number {
    return this.count;
  }

  stats(): CodeCacheStats {
    return { entries: this.count, hits: this.hits, loadedHits: this.loadedHits, misses: this.misses, loaded: this.loaded };
  }

  clear(): void {
    this.index.clear();
    this.count = 0;
    this.hits = this.loadedHits = this.misses = this.loaded = 0;
  }

  /**
   * Writes every entry to `path` (JSON lines: a header, then one entry a line), through a
   * temporary file renamed into place so a reader never sees half a file. Returns the count.
   */
  save(path: string): number {
    const lines = [JSON.stringify({ format: CODE_CACHE_FORMAT, entries: this.count })];
    for (const list of this.index.values()) {
      for (const t of list) {
        const text = t.text ?? t.fn!.toString();
        const e: SavedEntry = { va: t.va, lin: t.lin, mode: t.mode, bytes: Buffer.from(t.bytes).toString("base64"), hash: t.hash, ips: [...t.ips], unimplemented: [...t.unimplemented], text };
        lines.push(JSON.stringify(e));
      }
    }
    mkdirSync(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, lines.join("\n") + "\n");
    renameSync(tmp, path);
    return lines.length - 1;
  }

  /**
   * Reads a file written by `save`, adding its entries (their functions are made on first use).
   * A file of another format, or an entry whose hash does not match its bytes, is refused with
   * an error naming the file and line; nothing is added from a refused file.
   */
  load(path: string): number {
    const lines = readFileSync(path, "utf8").split("\n").filter((l) => l.length > 0);
    const head = parseLine(path, lines[0], 1) as { format?: unknown };
    if (head.format !== CODE_CACHE_FORMAT) throw new Error(`${path}: not a code cache of format ${CODE_CACHE_FORMAT} (header says ${JSON.stringify(head.format)})`);
    const entries: Translation[] = [];
    for (let k = 1; k < lines.length; k++) {
      const e = parseLine(path, lines[k], k + 1) as SavedEntry;
      const bytes = new Uint8Array(Buffer.from(String(e.bytes), "base64"));
      const ok = typeof e.va === "number" && typeof e.lin === "number" && Number.isInteger(e.mode) && e.mode >= 0 && e.mode < 16 && typeof e.text === "string" && Array.isArray(e.ips) && e.ips.length >= 2 && e.text.startsWith("function ");
      if (!ok || contentHash(e.va, e.lin, e.mode, bytes) !== e.hash) throw new Error(`${path}:${k + 1}: entry does not match its content hash (corrupt cache file)`);
      entries.push({ va: e.va, lin: e.lin, mode: e.mode, bytes, hash: e.hash, n: e.ips.length - 1, ips: e.ips, unimplemented: e.unimplemented ?? [], fn: undefined, text: e.text });
    }
    for (const t of entries) this.add(t);
    this.loaded += entries.length;
    return entries.length;
  }
}

function parseLine(path: string, line: string | undefined, no: number): unknown {
  try {
    return JSON.parse(line ?? "");
  } catch {
    throw new Error(`${path}:${no}: not a JSON line (corrupt cache file)`);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}

/** One block function from its source text (`function blk_…(c,R,H,lim){…}`). */
export function makeFunction(text: string): BlockFn {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function("X", "V", `return ${text};`)(X, V) as BlockFn;
}

/** The cache every machine in this process shares (see Machine.codeCache). */
export const sharedCodeCache = new CodeCache();
