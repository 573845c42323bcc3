/**
 * Bad input: tens of thousands of mutated images (footer, header, BAT, bitmaps, locators,
 * truncations, parent-chain loops) must give a VhdFormatError naming a field, never another
 * exception, a hang, or a write outside the structures the disk owns.
 */
import { afterAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  BlockFile,
  MemoryFileHost,
  VhdDisk,
  VhdFormatError,
  checkVhd,
  createDifferencing,
  createVhd,
  mapVhd,
  vhdInfo,
} from "../../src/vhd";
import { pattern, rng, run, tempDir } from "./helpers";

const ITERATIONS = 10_000;
const t = tempDir("fuzz");
afterAll(t.cleanup);

function checksum(b: Buffer, at: number, len: number, field: number): void {
  b.writeUInt32BE(0, at + field);
  let s = 0;
  for (let i = 0; i < len; i++) s += b[at + i]!;
  b.writeUInt32BE(~s >>> 0, at + field);
}

/** Recomputes footer (both copies) and header checksums so that field checks, not checksums, are hit. */
function fixChecksums(b: Buffer): void {
  if (b.length < 512) return;
  const end = b.length - 512;
  if (b.toString("latin1", end, end + 8) === "conectix") checksum(b, end, 512, 64);
  if (b.toString("latin1", 0, 8) === "conectix") checksum(b, 0, 512, 64);
  if (b.length >= 1536 && b.toString("latin1", 512, 520) === "cxsparse") checksum(b, 512, 1024, 36);
}

const INTERESTING = [0, 1, 2, 3, 4, 5, 0x1ff, 0x200, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x10000, 0x1000, 0x200000];

/** Footer, header, locator and BAT field offsets (spec) that mutations target. */
const FOOTER_FIELDS = [8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 58, 60, 84, 85];
const HEADER_FIELDS = [0, 8, 12, 16, 20, 24, 28, 32, 40, 56, 60, 64];
const LOCATOR_FIELDS = [0, 4, 8, 12, 16, 20];

function mutate(base: Buffer, r: () => number): { data: Buffer; what: string } {
  let b = Buffer.from(base);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  const value = () => (r() < 0.6 ? pick(INTERESTING) : Math.floor(r() * 0x100000000)) >>> 0;
  const kind = Math.floor(r() * 9);
  let what = "";
  switch (kind) {
    case 0: {
      const n = 1 + Math.floor(r() * 8);
      for (let i = 0; i < n; i++) b[Math.floor(r() * Math.min(b.length, 8192))] = Math.floor(r() * 256);
      what = `${n} random bytes in the first 8 KiB`;
      break;
    }
    case 1: {
      const f = pick(FOOTER_FIELDS);
      const at = r() < 0.5 ? b.length - 512 : 0;
      if (f === 58 || f >= 84) b[at + f] = Math.floor(r() * 256);
      else b.writeUInt32BE(value(), at + f);
      what = `footer field @${f} of the ${at ? "footer" : "copy"}`;
      break;
    }
    case 2: {
      const f = pick(HEADER_FIELDS);
      if (b.length >= 1536) b.writeUInt32BE(value(), 512 + f);
      what = `header field @${f}`;
      break;
    }
    case 3: {
      const l = Math.floor(r() * 8);
      const f = pick(LOCATOR_FIELDS);
      if (b.length >= 1536) b.writeUInt32BE(value(), 512 + 576 + l * 24 + f);
      what = `locator ${l} field @${f}`;
      break;
    }
    case 4: {
      // BAT entries: random, duplicated, pointing into metadata or past the end
      const n = 1 + Math.floor(r() * 4);
      for (let i = 0; i < n && b.length >= 1536 + 64; i++) {
        const e = Math.floor(r() * 16);
        const choices = [value(), 0, 1, 3, 4, Math.floor(b.length / 512), Math.floor(b.length / 512) - 1, b.readUInt32BE(1536 + Math.floor(r() * 16) * 4)];
        b.writeUInt32BE(pick(choices) >>> 0, 1536 + e * 4);
      }
      what = `${n} BAT entries`;
      break;
    }
    case 5: {
      const len = Math.floor(r() * b.length);
      b = b.subarray(0, r() < 0.5 ? len : len - (len % 512) + pick([0, 1, 511]));
      what = `truncated to ${b.length}`;
      break;
    }
    case 6: {
      const extra = Buffer.from(pattern(Math.floor(r() * 1000), Math.floor(r() * 3000)));
      b = Buffer.concat([b, extra]);
      what = `${extra.length} garbage bytes appended`;
      break;
    }
    case 7: {
      // bitmap / data bytes somewhere past the metadata
      const n = 1 + Math.floor(r() * 16);
      for (let i = 0; i < n; i++) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
      what = `${n} random bytes anywhere`;
      break;
    }
    case 8: {
      // the footer copied over the header or the BAT, or structures swapped
      const src = pick([0, 512, 1536, b.length - 512]);
      const dst = pick([0, 512, 1024, 1536, b.length - 512]);
      if (src + 512 <= b.length && dst + 512 <= b.length) b.copy(b, dst, src, src + 512);
      what = `sector @${src} copied to @${dst}`;
      break;
    }
  }
  if (r() < 0.7) fixChecksums(b);
  return { data: b, what };
}

/** A file that records every write, to prove that none lands outside what the disk owns. */
function recording(file: BlockFile, log: Array<[number, number]>): BlockFile {
  const write = file.write.bind(file);
  file.write = (pos, data) => {
    log.push([pos, data.length]);
    write(pos, data);
  };
  return file;
}

describe("mutation fuzzing", () => {
  it(`${ITERATIONS} mutated images give typed errors only, and writes stay inside the disk's structures`, () => {
    const host = new MemoryFileHost();
    // base images: ours (dynamic, fixed, differencing) and one made by qemu-img + qemu-io
    const dyn = createVhd("/f/dyn.vhd", { size: 1 << 20, blockSize: 65536, sizePolicy: "exact", host });
    dyn.write(0, pattern(1, 70000));
    dyn.write(500_000, pattern(2, 3000));
    dyn.close();
    const fixed = createVhd("/f/fixed.vhd", { type: "fixed", size: 64 * 1024, host });
    fixed.write(1000, pattern(3, 5000));
    fixed.close();
    const parent = createVhd("/f/p.vhd", { size: 1 << 20, blockSize: 65536, sizePolicy: "exact", host });
    parent.write(0, pattern(4, 1 << 20));
    parent.close();
    const child = createDifferencing("/f/child.vhd", "/f/p.vhd", { host });
    child.write(4096, pattern(5, 100_000));
    child.close();
    const q = join(t.dir, "q.vhd");
    run("qemu-img", ["create", "-q", "-f", "vpc", "-o", "force_size=on", q, "1M"]);
    run("qemu-io", ["-f", "vpc", "-c", "write -P 0x5a 0 8k", "-c", "write -P 0xa5 1000k 4k", q]);
    host.files.set("/f/qemu.vhd", readFileSync(q));
    const bases = ["/f/dyn.vhd", "/f/fixed.vhd", "/f/child.vhd", "/f/qemu.vhd"].map((p) => ({ path: p, data: Buffer.from(host.files.get(p)!) }));

    const r = rng(0x5eed);
    const failures: string[] = [];
    const stats = { opened: 0, rejected: 0, fields: new Map<string, number>(), writesChecked: 0 };
    const buf = Buffer.alloc(65536);
    for (let i = 0; i < ITERATIONS && failures.length < 10; i++) {
      const base = bases[i % bases.length]!;
      const { data, what } = mutate(base.data, r);
      const path = "/f/m.vhd";
      host.files.set(path, data);
      try {
        let d: VhdDisk;
        try {
          d = VhdDisk.open(path, { host, readOnly: true });
        } catch (e) {
          if (!(e instanceof VhdFormatError)) throw e;
          if (!e.field || !Number.isInteger(e.offset)) throw new Error(`VhdFormatError without field/offset: ${e.message}`);
          stats.rejected++;
          stats.fields.set(e.field.replace(/\d+/g, "N"), (stats.fields.get(e.field.replace(/\d+/g, "N")) ?? 0) + 1);
          checkVhd(path, { host }); // check must report, not throw, on the same file
          continue;
        }
        stats.opened++;
        // read the first MiB and a few random places, map it, render it, describe it
        for (let off = 0; off < Math.min(d.size, 1 << 20); off += buf.length) d.read(off, buf.subarray(0, Math.min(buf.length, d.size - off)));
        for (let k = 0; k < 4; k++) {
          const off = Math.floor(r() * Math.max(0, d.size - 4096));
          d.read(off, buf.subarray(0, Math.min(4096, d.size)));
        }
        if (d.size <= 1 << 30) mapVhd(d);
        vhdInfo(d);
        if (d.size <= 1 << 30) d.toMimeBundle();
        d.close();
        checkVhd(path, { host });
        // write through a read-write open and prove every file write lands where the disk may write
        const log: Array<[number, number]> = [];
        const file = recording(host.open(path, true), log);
        let w: VhdDisk;
        try {
          w = VhdDisk.openFile(path, file, { host });
        } catch (e) {
          // read-only opens tolerate a lost footer (the copy at 0); read-write ones ask for repair
          if (!(e instanceof VhdFormatError)) throw e;
          continue;
        }
        const allowed: Array<[number, number]> = [];
        if (w.header) {
          allowed.push([w.header.tableOffset, w.header.tableOffset + w.header.maxTableEntries * 4]);
          for (let b = 0; b < w.bat.length; b++) {
            const at = w.blockDataOffset(b);
            if (at !== undefined) allowed.push([at - w.bitmapSize, at + w.blockSize]);
          }
          allowed.push([w.footerPosition, Number.MAX_SAFE_INTEGER]);
        } else {
          allowed.push([0, w.size]);
        }
        const off = Math.floor(r() * Math.max(0, w.size - 9000));
        const payload = pattern(i, Math.min(9000, w.size - off));
        w.write(off, payload);
        w.flush();
        w.close();
        for (const [pos, len] of log) {
          if (!allowed.some(([a, z]) => pos >= a && pos + len <= z)) throw new Error(`write of ${len} bytes at ${pos} outside the disk's structures`);
        }
        const back = VhdDisk.open(path, { host, readOnly: true });
        const got = Buffer.alloc(payload.length);
        back.read(off, got);
        back.close();
        if (!got.equals(payload)) throw new Error(`data written at ${off} did not read back`);
        stats.writesChecked++;
      } catch (e) {
        failures.push(`#${i} ${base.path} ${what}: ${(e as Error).stack?.split("\n").slice(0, 3).join(" | ")}`);
      }
    }
    expect(failures).toEqual([]);
    // the mutations must reach the field checks, not only the checksums
    expect(stats.rejected).toBeGreaterThan(ITERATIONS / 3);
    expect(stats.opened).toBeGreaterThan(ITERATIONS / 20);
    expect(stats.fields.size).toBeGreaterThan(12);
    console.log(`fuzz: ${JSON.stringify({ ...stats, fields: Object.fromEntries(stats.fields) })}`);
  }, 300_000); // 10,000 images took 239 s at a load average of 27 on 2 cores (120 s timed out)

  it("parent-chain loops (self, two-cycle) are named errors", () => {
    const host = new MemoryFileHost();
    createVhd("/l/p.vhd", { size: 1 << 20, host, sizePolicy: "exact" }).close();
    createDifferencing("/l/a.vhd", "/l/p.vhd", { host }).close();
    const a = Buffer.from(host.files.get("/l/a.vhd")!);
    // point a.vhd's parent at itself: unique id and header name
    a.copy(a, 512 + 40, 68, 84);
    const name = Buffer.from("a.vhd", "utf16le").swap16();
    a.fill(0, 512 + 64, 512 + 576);
    name.copy(a, 512 + 64);
    a.fill(0, 512 + 576, 512 + 768); // no locators: the header name is all that is left
    fixChecksums(a);
    host.files.set("/l/a.vhd", a);
    expect(() => VhdDisk.open("/l/a.vhd", { host, readOnly: true })).toThrow(/loops back/);
    const rep = checkVhd("/l/a.vhd", { host });
    expect(rep.result).toBe(2);
    expect(rep.findings.some((f) => f.field === "header parent unique id")).toBe(true);
  });
});
