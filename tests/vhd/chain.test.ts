/** Differencing chains: read through every parent, checked against libvhdi (pyvhdi set_parent). */
import { afterAll, describe, expect, it } from "vitest";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  HEADER_FIELD,
  MemoryFileHost,
  VhdDisk,
  VhdFormatError,
  createDifferencing,
  createVhd,
  decodeHeader,
  encodeHeader,
  mapVhd,
} from "../../src/vhd";
import { pattern, pyvhdiRead, rng, run, tempDir } from "./helpers";

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
