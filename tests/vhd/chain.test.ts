/** Differencing chains: read through every parent, checked against libvhdi (pyvhdi set_parent). */
import { afterAll, describe, expect, it } from "vitest";
import { mkdirSync, readFileSync, realpathSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  HEADER_FIELD,
  MemoryFileHost,
  checkVhd,
  encodeFooter,
  VhdDisk,
  VhdFormatError,
  createDifferencing,
  createVhd,
  decodeHeader,
  encodeHeader,
  mapVhd,
} from "../../src/vhd";
import { pattern, pyvhdiRead, qemuVirtualSize, rng, run, tempDir } from "./helpers";

const t = tempDir("chain");
afterAll(t.cleanup);
const MiB = 1024 * 1024;

function readAll(d: VhdDisk): Buffer {
  const b = Buffer.alloc(d.size);
  d.read(0, b);
  return b;
}

describe("differencing chains", () => {
  it("a three-level chain with random writes reads the same through us, pyvhdi and a model", () => {
    const dir = join(t.dir, "three");
    mkdirSync(dir);
    const base = join(dir, "base.vhd");
    const mid = join(dir, "mid.vhd");
    const top = join(dir, "top.vhd");
    const size = 12 * MiB;
    const d0 = createVhd(base, { size, sizePolicy: "exact", blockSize: 512 * 1024 });
    const model = Buffer.alloc(size);
    const r = rng(42);
    const scribble = (d: VhdDisk, n: number) => {
      for (let i = 0; i < n; i++) {
        const len = 1 + Math.floor(r() * 300_000);
        const off = Math.floor(r() * (size - len));
        const data = pattern(i + n * 1000, len);
        d.write(off, data);
        data.copy(model, off);
      }
    };
    scribble(d0, 20);
    d0.close();
    const d1 = createDifferencing(mid, base);
    scribble(d1, 20);
    d1.close();
    const d2 = createDifferencing(top, mid);
    scribble(d2, 20);
    // sub-sector writes over parent data must keep the parent's neighbouring bytes
    d2.write(5 * MiB + 3, Buffer.from("xyz"));
    model.write("xyz", 5 * MiB + 3);
    d2.close();

    const d = VhdDisk.open(top, { readOnly: true });
    expect(d.chain().map((c) => c.path)).toEqual([top, mid, base]);
    expect(readAll(d).equals(model)).toBe(true);
    const extents = mapVhd(d);
    expect(new Set(extents.map((e) => e.depth))).toEqual(new Set([0, 1, 2]));
    d.close();
    const out = join(t.dir, "py3.raw");
    pyvhdiRead([top, mid, base], out);
    expect(readFileSync(out).equals(model)).toBe(true);
    // vhdiinfo sees the parent identity we wrote
    const info = run("vhdiinfo", [top]);
    expect(info).toContain("Differential");
    expect(info).toContain("Parent filename\t\t: mid.vhd");
  });

  it("finds a moved chain through the relative locator and rejects a parent with the wrong unique id", () => {
    const a = join(t.dir, "moveA");
    const b = join(t.dir, "moveB");
    mkdirSync(a);
    const p = join(a, "p.vhd");
    createVhd(p, { size: 4 * MiB }).close();
    const c = createDifferencing(join(a, "c.vhd"), p);
    c.write(0, Buffer.alloc(512, 1));
    c.close();
    renameSync(a, b);
    const moved = VhdDisk.open(join(b, "c.vhd"), { readOnly: true });
    expect(moved.parentFoundBy?.source).toBe("W2ru");
    moved.close();
    // replace the parent with an unrelated disk of the same name
    createVhd(join(b, "p.vhd"), { size: 4 * MiB }).close();
    let err: unknown;
    try {
      VhdDisk.open(join(b, "c.vhd"), { readOnly: true });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VhdFormatError);
    expect((err as VhdFormatError).field).toBe("header parent unique id");
    expect((err as VhdFormatError).offset).toBe(512 + 40);
  });

  it("detects a loop in a parent chain with a named error", () => {
    const host = new MemoryFileHost();
    createVhd("/m/a.vhd", { size: MiB, host, sizePolicy: "exact" }).close();
    createDifferencing("/m/b.vhd", "/m/a.vhd", { host }).close();
    createDifferencing("/m/c.vhd", "/m/b.vhd", { host }).close();
    // make a.vhd a differencing disk whose parent is c.vhd: a -> c -> b -> a
    const a = Buffer.from(host.files.get("/m/a.vhd")!);
    const c = Buffer.from(host.files.get("/m/c.vhd")!);
    const cHeader = decodeHeader(c.subarray(512, 1536));
    const cFooter = c.subarray(0, 512);
    const hdr = { ...cHeader, parentUniqueId: new Uint8Array(cFooter.subarray(68, 84)), parentUnicodeName: "c.vhd", parentLocators: cHeader.parentLocators.map((l) => ({ ...l, platformCode: 0, platformDataLength: 0, platformDataOffset: 0, platformDataSpace: 0 })) };
    hdr.tableOffset = decodeHeader(a.subarray(512, 1536)).tableOffset;
    hdr.maxTableEntries = decodeHeader(a.subarray(512, 1536)).maxTableEntries;
    const newA = Buffer.from(a);
    encodeHeader(hdr).copy(newA, 512);
    // footer: disk type 4, checksum fixed
    for (const at of [0, newA.length - 512]) {
      newA.writeUInt32BE(4, at + 60);
      newA.writeUInt32BE(0, at + 64);
      let sum = 0;
      for (let i = 0; i < 512; i++) sum += newA[at + i]!;
      newA.writeUInt32BE(~sum >>> 0, at + 64);
    }
    host.files.set("/m/a.vhd", newA);
    let err: unknown;
    try {
      VhdDisk.open("/m/c.vhd", { host, readOnly: true });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VhdFormatError);
    expect((err as VhdFormatError).message).toMatch(/loops back/);
  });

  it("verifies the parent time stamp when asked and accepts Windows' zero", () => {
    const dir = join(t.dir, "ts");
    mkdirSync(dir);
    const p = join(dir, "p.vhd");
    createVhd(p, { size: 2 * MiB, time: new Date("2006-11-07T00:00:00Z") }).close();
    const cpath = join(dir, "c.vhd");
    createDifferencing(cpath, p).close();
    const file = readFileSync(cpath);
    const h = decodeHeader(file.subarray(512, 1536));
    const bad = Buffer.from(file);
    encodeHeader({ ...h, parentTimestamp: h.parentTimestamp + 1 }).copy(bad, 512);
    writeFileSync(cpath, bad);
    expect(() => VhdDisk.open(cpath, { readOnly: true, strictParentTimestamp: true })).toThrow(VhdFormatError);
    const lenient = VhdDisk.open(cpath, { readOnly: true });
    expect(lenient.warnings.join()).toMatch(/time stamp/);
    lenient.close();
    encodeHeader({ ...h, parentTimestamp: 0 }).copy(bad, 512);
    writeFileSync(cpath, bad);
    const zero = VhdDisk.open(cpath, { readOnly: true, strictParentTimestamp: true });
    expect(zero.warnings).toEqual([]);
    zero.close();
    expect(HEADER_FIELD.parentTimestamp).toBe(56);
  });

  it("reads a differencing disk alone as qemu does (parent sectors as zeros)", () => {
    const p = join(t.dir, "alone-p.vhd");
    const d = createVhd(p, { size: 4 * MiB });
    d.write(0, Buffer.alloc(4096, 9));
    d.close();
    const c = createDifferencing(join(t.dir, "alone-c.vhd"), p);
    c.write(8192, Buffer.alloc(4096, 7));
    c.close();
    const alone = VhdDisk.open(join(t.dir, "alone-c.vhd"), { readOnly: true, noParent: true });
    const b = Buffer.alloc(16384);
    alone.read(0, b);
    expect([b[0], b[4095], b[8192], b[12287], b[12288]]).toEqual([0, 0, 7, 7, 0]);
    alone.close();
  });
});

describe("foreign layouts and parent paths", () => {
  it("a Windows-style differencing disk (reference §1.1: BAT at 8 KiB, W2ku/W2ru in UTF-16LE with byte-sized data spaces, a full Windows path in the header, parent time stamp 0) reads through its parent like pyvhdi reads it", () => {
    const dir = join(t.dir, "win");
    mkdirSync(dir);
    const parentPath = join(dir, "fat-parent.vhd");
    const p = createVhd(parentPath, { size: 4 * MiB, sizePolicy: "chs" });
    p.write(0, pattern(77, p.size));
    const size = p.size;
    const parentId = Buffer.from(p.footer.uniqueId);
    p.close();
    const bs = 2 * MiB;
    const file = Buffer.alloc(81920 + bs + 512);
    const footer = encodeFooter({
      cookie: "conectix", features: 2, formatVersion: 0x10000, dataOffset: 512n, timestamp: 0x20000000,
      creatorApplication: "win ", creatorVersion: 0x000a0000, creatorHostOs: 0x5769326b, originalSize: size,
      currentSize: size, geometry: { cylinders: 120, heads: 4, sectorsPerTrack: 17 }, diskType: 4,
      checksum: 0, uniqueId: new Uint8Array(16).fill(0x33), savedState: 0, hidden: 0, reservedNonZero: 0,
    });
    const w2ku = Buffer.from("C:\\Users\\xen\\fat-parent.vhd", "utf16le");
    const w2ru = Buffer.from(".\\fat-parent.vhd", "utf16le");
    const locators = decodeHeader(Buffer.alloc(1024)).parentLocators;
    Object.assign(locators[0]!, { platformCode: 0x57326b75, platformDataSpace: 4096, platformDataLength: w2ku.length, platformDataOffset: 4096 });
    Object.assign(locators[1]!, { platformCode: 0x57327275, platformDataSpace: 65536, platformDataLength: w2ru.length, platformDataOffset: 12288 });
    const header = encodeHeader({
      cookie: "cxsparse", dataOffset: 0xffffffffffffffffn, tableOffset: 8192, headerVersion: 0x10000, maxTableEntries: Math.ceil(size / bs),
      blockSize: bs, checksum: 0, parentUniqueId: new Uint8Array(parentId), parentTimestamp: 0, reserved1: 0,
      parentUnicodeName: "C:\\Users\\xen\\fat-parent.vhd", parentLocators: locators, reservedNonZero: 0,
    });
    footer.copy(file, 0);
    header.copy(file, 512);
    w2ku.copy(file, 4096);
    w2ru.copy(file, 12288);
    file.fill(0xff, 8192, 8192 + 512);
    file.writeUInt32BE(81408 / 512, 8192 + 4); // block 1: bitmap at 81408, data at 81920 (4 KiB aligned)
    file.fill(0xff, 81408 + 16, 81408 + 24); // sectors 128..191 of block 1 are the child's
    const childData = pattern(78, 64 * 512);
    childData.copy(file, 81920 + 128 * 512);
    footer.copy(file, 81920 + bs);
    const childPath = join(dir, "fat-differential.vhd");
    writeFileSync(childPath, file);

    const model = Buffer.from(pattern(77, size));
    childData.copy(model, bs + 128 * 512);
    const d = VhdDisk.open(childPath, { readOnly: true, strictParentTimestamp: true });
    expect(d.parentFoundBy?.source).toBe("W2ru");
    expect(readAll(d).equals(model)).toBe(true);
    d.close();
    const out = join(dir, "py.raw");
    pyvhdiRead([childPath, parentPath], out);
    expect(readFileSync(out).equals(model)).toBe(true);
    const rep = checkVhd(childPath);
    expect(rep.findings.filter((f) => f.severity !== "warning")).toEqual([]);
    // and our writes into it keep working, read the same by libvhdi
    const w = VhdDisk.open(childPath);
    w.write(100_000, pattern(79, 9000));
    w.close();
    pattern(79, 9000).copy(model, 100_000);
    pyvhdiRead([childPath, parentPath], out);
    expect(readFileSync(out).equals(model)).toBe(true);
    expect(checkVhd(childPath).result).toBe(0);
  });

  it("falls back to the absolute locator when the child moves away from its parent", () => {
    const a = join(t.dir, "absA");
    const b = join(t.dir, "absB");
    mkdirSync(a);
    mkdirSync(b);
    const p = join(a, "p.vhd");
    createVhd(p, { size: 2 * MiB }).close();
    createDifferencing(join(a, "c.vhd"), p).close();
    renameSync(join(a, "c.vhd"), join(b, "c.vhd"));
    const d = VhdDisk.open(join(b, "c.vhd"), { readOnly: true });
    expect(d.parentFoundBy?.source).toBe("W2ku");
    expect(d.parent?.path).toBe(realpathSync(p));
    d.close();
  });

  it("creates and uses a 2040 GiB disk as sparse host files", () => {
    const big = 2040 * 1024 * MiB;
    for (const type of ["dynamic", "fixed"] as const) {
      const path = join(t.dir, `huge-${type}.vhd`);
      const d = createVhd(path, { type, size: big, sizePolicy: "exact" });
      d.write(big - 4096, pattern(80, 4096));
      d.close();
      expect(qemuVirtualSize(path)).toBe(big);
      const r = VhdDisk.open(path, { readOnly: true });
      const got = Buffer.alloc(4096);
      r.read(big - 4096, got);
      r.close();
      expect(got.equals(pattern(80, 4096))).toBe(true);
      expect(statSync(path).blocks * 512).toBeLessThan(64 * MiB);
    }
    expect(() => createVhd(join(t.dir, "too-big.vhd"), { size: big + 512, sizePolicy: "exact" })).toThrow(/2040 GiB/);
  });
});

describe("bitmap cache", () => {
  it("evicts only clean bitmaps: 8192 blocks of 512 bytes, written, flushed in the middle, reread", () => {
    const host = new MemoryFileHost();
    const size = 4 * MiB;
    const p = createVhd("/b/p.vhd", { size, blockSize: 512, sizePolicy: "exact", host });
    const model = Buffer.from(pattern(90, size));
    p.write(0, model);
    p.close();
    const c = createDifferencing("/b/c.vhd", "/b/p.vhd", { host });
    const r = rng(91);
    for (let i = 0; i < 3000; i++) {
      const off = Math.floor(r() * (size - 3000));
      const data = pattern(1000 + i, 1 + Math.floor(r() * 3000));
      c.write(off, data);
      data.copy(model, off);
      if (i === 1500) c.flush();
    }
    const mid = Buffer.alloc(size);
    c.read(0, mid);
    expect(mid.equals(model)).toBe(true);
    c.close();
    const back = VhdDisk.open("/b/c.vhd", { host, readOnly: true });
    expect(readAll(back).equals(model)).toBe(true);
    back.close();
    expect(checkVhd("/b/c.vhd", { host }).result).toBe(0);
  });
});
