/**
 * Crash safety at every kind of point, deterministically: the writer runs a workload of small
 * writes and flushes through a file layer that cuts it off at its k-th write, truncate or
 * fdatasync (k drawn at random per trial; 1,000 kills and 500 power losses). Two crash models:
 *   - a killed process (SIGKILL): every write that returned is in the page cache and survives;
 *     the write being made is torn after a random number of sectors;
 *   - a power loss: what was fdatasync'ed survives; of the writes since, any subset survives
 *     (each kept or dropped at random), since the disk may persist them in any order.
 * After each crash: `check` must find nothing that `check --repair` cannot fix without losing a
 * present byte (repair's `lost` list stays empty), the image must then check clean, and every
 * write made before the last completed flush must read back; a sector written after it holds its
 * old content or one of the later writes, nothing else.
 */
import { describe, expect, it } from "vitest";
import { BlockFile, FileHost, MemoryFile, MemoryFileHost, VhdDisk, checkVhd, createDifferencing, createVhd } from "../../src/vhd";
import { rng } from "./helpers";

const SECTOR = 512;
const DISK = 512 * 1024;
/** ≥ 1,000 kills (the bar); power losses are the stricter model, fewer of them keep the run short. */
const TRIALS = { kill: 1000, power: 500 };
const PARENT_TAG = 0xfffffffe;

class Crash extends Error {}

/** Sector content that names the op that wrote it and the sector it belongs to. */
function sectorData(tag: number, lba: number): Buffer {
  const b = Buffer.alloc(SECTOR);
  b.writeUInt32LE(tag >>> 0, 0);
  b.writeUInt32LE(lba, 4);
  let x = ((tag * 31 + lba * 7919) >>> 0) || 1;
  for (let o = 8; o < SECTOR; o += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b.writeUInt32LE(x >>> 0, o);
  }
  return b;
}

interface Op {
  start: number;
  n: number;
  flushAfter: boolean;
}

function ops(seed: number, count: number): Op[] {
  const r = rng(seed);
  return Array.from({ length: count }, () => {
    const n = 1 + Math.floor(r() * r() * 64);
    return { start: Math.floor(r() * (DISK / SECTOR - n)), n, flushAfter: r() < 0.3 };
  });
}

type Event = { kind: "write"; pos: number; data: Uint8Array } | { kind: "truncate"; length: number } | { kind: "sync" };

/**
 * A host whose one image file records every mutation and throws Crash at the `crashAt`-th
 * (1-based), applying `tornSectors` sectors of it first when it is a write.
 */
class CrashingHost implements FileHost {
  readonly events: Event[] = [];
  private count = 0;
  constructor(
    readonly inner: MemoryFileHost,
    private readonly image: string,
    private readonly crashAt: number,
    private readonly tornSectors: number,
  ) {}

  open(path: string, writable: boolean): BlockFile {
    const f = this.inner.open(path, writable);
    if (path !== this.image || !writable) return f;
    const host = this;
    const write = f.write.bind(f);
    const truncate = f.truncate.bind(f);
    f.write = (pos, data) => {
      if (++host.count === host.crashAt) {
        const torn = data.subarray(0, Math.min(data.length, host.tornSectors * SECTOR));
        if (torn.length) write(pos, torn);
        throw new Crash();
      }
      host.events.push({ kind: "write", pos, data: new Uint8Array(data) });
      write(pos, data);
    };
    f.truncate = (length) => {
      if (++host.count === host.crashAt) throw new Crash();
      host.events.push({ kind: "truncate", length });
      truncate(length);
    };
    f.sync = () => {
      if (++host.count === host.crashAt) throw new Crash();
      host.events.push({ kind: "sync" });
    };
    return f;
  }
  create(path: string): BlockFile {
    return this.inner.create(path);
  }
  exists(path: string): boolean {
    return this.inner.exists(path);
  }
  canonical(path: string): string {
    return this.inner.canonical(path);
  }
  rename(from: string, to: string): void {
    this.inner.rename(from, to);
  }
  remove(path: string): void {
    this.inner.remove(path);
  }
}

/** The file after a power loss: the state at the last sync, plus a random subset of what followed. */
function afterPowerLoss(initial: Uint8Array, events: Event[], r: () => number): Uint8Array {
  const lastSync = events.map((e) => e.kind).lastIndexOf("sync");
  const f = new MemoryFile("power-loss", initial);
  events.forEach((e, i) => {
    if (i > lastSync && r() < 0.5) return; // not yet on the disk when the power went
    if (e.kind === "write") f.write(e.pos, e.data);
    else if (e.kind === "truncate") f.truncate(e.length);
  });
  return new Uint8Array(f.bytes());
}

interface Outcome {
  failure?: string;
  repaired: boolean;
  flushedOps: number;
}

function trial(seed: number, model: "kill" | "power", diff: boolean, parentImage: Uint8Array | undefined): Outcome {
  const r = rng(seed * 7 + 1);
  const base = new MemoryFileHost();
  const path = "/crash/t.vhd";
  if (diff) {
    base.files.set("/crash/parent.vhd", parentImage!);
    createDifferencing(path, "/crash/parent.vhd", { host: base }).close();
  } else {
    createVhd(path, { size: DISK, sizePolicy: "exact", blockSize: [4096, 16384, 65536, 1 << 19][seed % 4], host: base }).close();
  }
  const initial = new Uint8Array(base.files.get(path)!);
  const workload = ops(seed, 120);
  const host = new CrashingHost(base, path, 1 + Math.floor(r() * r() * 500), Math.floor(r() * 8));
  let flushed = 0;
  let issued = 0;
  try {
    const d = VhdDisk.open(path, { host });
    for (const [i, op] of workload.entries()) {
      issued = i + 1;
      const buf = Buffer.alloc(op.n * SECTOR);
      for (let s = 0; s < op.n; s++) sectorData(i + 1, op.start + s).copy(buf, s * SECTOR);
      d.write(op.start * SECTOR, buf);
      if (op.flushAfter) {
        d.flush();
        flushed = i + 1;
      }
    }
    d.flush();
    flushed = workload.length;
  } catch (e) {
    if (!(e instanceof Crash)) throw e;
  }
  if (model === "power") base.files.set(path, afterPowerLoss(initial, host.events, r));

  const check = checkVhd(path, { host: base });
  let repaired = false;
  if (check.result !== 0) {
    const fixed = checkVhd(path, { host: base, repair: true });
    if (fixed.lost.length) return { failure: `repair dropped written bytes: ${JSON.stringify(fixed.lost)} (${fixed.repairs.join("; ")})`, repaired, flushedOps: flushed };
    const again = checkVhd(path, { host: base });
    if (again.result !== 0) return { failure: `after repair check says ${again.result}: ${again.findings.map((f) => f.message).join("; ")}`, repaired, flushedOps: flushed };
    repaired = true;
  }
  // what each sector must hold: the last flushed write, or one of the writes after it
  const expected = new Int32Array(DISK / SECTOR).fill(-1);
  const later = new Map<number, Set<number>>();
  for (let i = 0; i < issued; i++) {
    const op = workload[i]!;
    for (let s = op.start; s < op.start + op.n; s++) {
      if (i < flushed) expected[s] = i;
      else later.set(s, (later.get(s) ?? new Set()).add(i + 1));
    }
  }
  const d = VhdDisk.open(path, { host: base, readOnly: true });
  const all = Buffer.alloc(DISK);
  d.read(0, all);
  d.close();
  for (let s = 0; s < DISK / SECTOR; s++) {
    const got = all.subarray(s * SECTOR, (s + 1) * SECTOR);
    const old = expected[s]! >= 0 ? sectorData(expected[s]! + 1, s) : diff ? sectorData(PARENT_TAG, s) : Buffer.alloc(SECTOR);
    if (got.equals(old)) continue;
    const tag = got.readUInt32LE(0);
    if (later.get(s)?.has(tag) && got.equals(sectorData(tag, s))) continue;
    return { failure: `sector ${s}: holds tag ${tag.toString(16)}, expected op ${expected[s]} (flushed ${flushed} of ${issued} issued)`, repaired, flushedOps: flushed };
  }
  return { repaired, flushedOps: flushed };
}

describe("crash at random writes, truncates and flushes", () => {
  const parent = new MemoryFileHost();
  createVhd("/crash/parent.vhd", { size: DISK, sizePolicy: "exact", blockSize: 65536, host: parent }).close();
  const p = VhdDisk.open("/crash/parent.vhd", { host: parent });
  const fill = Buffer.alloc(DISK);
  for (let s = 0; s < DISK / SECTOR; s++) sectorData(PARENT_TAG, s).copy(fill, s * SECTOR);
  p.write(0, fill);
  p.close();
  const parentImage = parent.files.get("/crash/parent.vhd")!;

  for (const model of ["kill", "power"] as const) {
    it(`${TRIALS[model]} ${model === "kill" ? "killed writers (torn last write)" : "power losses (any subset of unsynced writes)"}: repair never drops a present byte, every flushed write reads back`, () => {
      const failures: string[] = [];
      let repaired = 0;
      let withFlush = 0;
      for (let k = 0; k < TRIALS[model]; k++) {
        const diff = k % 3 === 2;
        const o = trial(50_000 + k + (model === "power" ? 1_000_000 : 0), model, diff, parentImage);
        if (o.failure) failures.push(`trial ${k} (${diff ? "differencing" : "dynamic"}): ${o.failure}`);
        if (o.repaired) repaired++;
        if (o.flushedOps > 0) withFlush++;
      }
      expect(failures.slice(0, 5)).toEqual([]);
      // the cuts must land at varied points: some images need repair, most kept flushed writes
      expect(repaired).toBeGreaterThan(0);
      expect(withFlush).toBeGreaterThan(TRIALS[model] / 2);
    }, 300_000);
  }
});
