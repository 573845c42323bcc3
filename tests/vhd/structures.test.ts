/**
 * The on-disk structures: every field at its spec offset, checksums, and errors that name the
 * field and its offset. Known-good bytes come from qemu-img (an independent writer).
 */
import { afterAll, describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  DiskType,
  MemoryFileHost,
  VhdDisk,
  VhdFormatError,
  checkVhd,
  createVhd,
  decodeFooter,
  decodeHeader,
  encodeFooter,
  encodeHeader,
  parseFooter,
  vhdInfo,
} from "../../src/vhd";
import { qemuVirtualSize, run, tempDir, vhdiinfoMediaSize } from "./helpers";

const t = tempDir("structs");
afterAll(t.cleanup);

function formatError(fn: () => unknown): VhdFormatError {
  try {
    fn();
  } catch (e) {
    if (e instanceof VhdFormatError) return e;
    throw e;
  }
  throw new Error("no error");
}

describe("footer and dynamic header", () => {
  const q = join(t.dir, "q.vhd");
  run("qemu-img", ["create", "-q", "-f", "vpc", q, "100M"]);
  const bytes = readFileSync(q);
  const tail = bytes.subarray(bytes.length - 512);

  it("decodes qemu-img's footer field by field", () => {
    const f = parseFooter(tail, bytes.length - 512);
    expect(f.cookie).toBe("conectix");
    expect(f.features).toBe(2);
    expect(f.formatVersion).toBe(0x00010000);
    expect(f.dataOffset).toBe(512n);
    expect(f.creatorApplication).toBe("qemu");
    expect(f.creatorVersion).toBe(0x00050003);
    expect(f.creatorHostOs).toBe(0x5769326b);
    expect(f.currentSize).toBe(104865792);
    expect(f.geometry).toEqual({ cylinders: 1004, heads: 12, sectorsPerTrack: 17 });
    expect(f.diskType).toBe(DiskType.Dynamic);
    // the copy at offset 0 is byte-identical
    expect(bytes.subarray(0, 512).equals(tail)).toBe(true);
    // re-encoding reproduces qemu's bytes, checksum included
    expect(encodeFooter(decodeFooter(tail)).equals(tail)).toBe(true);
  });

  it("decodes qemu-img's dynamic header", () => {
    const h = decodeHeader(bytes.subarray(512, 1536));
    expect(h.cookie).toBe("cxsparse");
    expect(h.tableOffset).toBe(1536);
    expect(h.headerVersion).toBe(0x00010000);
    expect(h.blockSize).toBe(2 * 1024 * 1024);
    expect(h.maxTableEntries).toBe(Math.ceil(104865792 / (2 * 1024 * 1024)));
    expect(encodeHeader(decodeHeader(bytes.subarray(512, 1536))).equals(bytes.subarray(512, 1536))).toBe(true);
  });

  it("names the field and offset of what is wrong", () => {
    const base = bytes.length - 512;
    const bad = Buffer.from(tail);
    bad[10] ^= 1;
    expect(formatError(() => parseFooter(bad, base))).toMatchObject({ field: "footer checksum", offset: base + 64 });
    const badCookie = Buffer.from(tail);
    badCookie.write("conectiX", 0, "latin1");
    expect(formatError(() => parseFooter(badCookie, base))).toMatchObject({ field: "footer cookie", offset: base });
    const f = decodeFooter(tail);
    expect(formatError(() => parseFooter(encodeFooter({ ...f, diskType: 5 as DiskType }), base))).toMatchObject({ field: "footer disk type", offset: base + 60 });
    expect(formatError(() => parseFooter(encodeFooter({ ...f, formatVersion: 0x00020000 }), base))).toMatchObject({ field: "footer file format version", offset: base + 12 });
    expect(formatError(() => parseFooter(encodeFooter({ ...f, currentSize: 1000 }), base))).toMatchObject({ field: "footer current size", offset: base + 48 });
    // a header with a block size that is not a power of two, in a whole file
    const host = new MemoryFileHost();
    const file = Buffer.from(bytes);
    const h = decodeHeader(file.subarray(512, 1536));
    encodeHeader({ ...h, blockSize: 3 * 1024 * 1024 }).copy(file, 512);
    host.files.set("/x.vhd", file);
    expect(formatError(() => VhdDisk.open("/x.vhd", { host, readOnly: true }))).toMatchObject({ field: "header block size", offset: 512 + 32 });
    encodeHeader({ ...h, maxTableEntries: 10 }).copy(file, 512);
    host.files.set("/x.vhd", file);
    expect(formatError(() => VhdDisk.open("/x.vhd", { host, readOnly: true }))).toMatchObject({ field: "header max table entries", offset: 512 + 28 });
  });
});

describe("size quirks", () => {
  /**
   * A Virtual PC 2007 style file built from the layout documented for CosmosOS Build/VPC/hda.vhd
   * (reference §1.1): 256 MiB, creator "vpc " 5.3 Wi2k, CHS 520/16/63 (268,369,920 bytes, less
   * than the current size), a 128-entry BAT at 1536, one zero sector, the footer at 2560.
   */
  function vpc2007(): Buffer {
    const size = 256 * 1024 * 1024;
    const file = Buffer.alloc(3072);
    const footer = encodeFooter({
      cookie: "conectix", features: 2, formatVersion: 0x10000, dataOffset: 512n, timestamp: 0x0a000000,
      creatorApplication: "vpc ", creatorVersion: 0x00050003, creatorHostOs: 0x5769326b, originalSize: size,
      currentSize: size, geometry: { cylinders: 520, heads: 16, sectorsPerTrack: 63 }, diskType: DiskType.Dynamic,
      checksum: 0, uniqueId: new Uint8Array(16).fill(0x42), savedState: 0, hidden: 0, reservedNonZero: 0,
    });
    footer.copy(file, 0);
    const header = encodeHeader({
      cookie: "cxsparse", dataOffset: 0xffffffffffffffffn, tableOffset: 1536, headerVersion: 0x10000, maxTableEntries: 128,
      blockSize: 2 * 1024 * 1024, checksum: 0, parentUniqueId: new Uint8Array(16), parentTimestamp: 0, reserved1: 0,
      parentUnicodeName: "", parentLocators: decodeHeader(Buffer.alloc(1024)).parentLocators, reservedNonZero: 0,
    });
    header.copy(file, 512);
    file.fill(0xff, 1536, 2048);
    footer.copy(file, 2560);
    return file;
  }

  it("a Virtual PC 2007 disk: current size for libvhdi and us, CHS size for qemu; its zero padding is no leak", () => {
    const p = join(t.dir, "vpc2007.vhd");
    writeFileSync(p, vpc2007());
    const d = VhdDisk.open(p, { readOnly: true });
    expect(d.size).toBe(268435456);
    expect(vhdiinfoMediaSize(p)).toBe(268435456);
    expect(vhdInfo(d).qemuVirtualSize).toBe(qemuVirtualSize(p));
    expect(qemuVirtualSize(p)).toBe(268369920);
    d.close();
    const chs = VhdDisk.open(p, { readOnly: true, sizeMode: "chs" });
    expect(chs.size).toBe(268369920);
    chs.close();
    expect(checkVhd(p).result).toBe(0);
  });

  it("qemu's force_size (creator qem2, CHS 65535/16/255): exact size everywhere", () => {
    const p = join(t.dir, "qem2.vhd");
    run("qemu-img", ["create", "-q", "-f", "vpc", "-o", "force_size=on", p, String(10 * 1024 * 1024 + 512)]);
    const d = VhdDisk.open(p, { readOnly: true });
    expect(d.footer.creatorApplication).toBe("qem2");
    expect(d.size).toBe(10 * 1024 * 1024 + 512);
    expect(vhdInfo(d).qemuVirtualSize).toBe(d.size);
    d.close();
  });

  it("accepts a 511-byte footer (pre-Virtual PC 2004)", () => {
    const p = join(t.dir, "short.vhd");
    run("qemu-img", ["create", "-q", "-f", "vpc", "-o", "subformat=fixed", p, "1M"]);
    const b = readFileSync(p);
    writeFileSync(p, b.subarray(0, b.length - 1));
    const d = VhdDisk.open(p, { readOnly: true });
    expect(d.type).toBe(DiskType.Fixed);
    d.close();
  });
});

describe("blktap's tdbatmap (reference Q6)", () => {
  it("is metadata: not a leak, never overwritten by a new block", () => {
    const host = new MemoryFileHost();
    createVhd("/t/x.vhd", { size: 8 * 1024 * 1024, sizePolicy: "exact", host }).close();
    const orig = Buffer.from(host.files.get("/t/x.vhd")!);
    const footer = orig.subarray(orig.length - 512);
    // vhd-util layout: BAT @1536 (one sector), tdbatmap header @2048, batmap @2560, footer @3072
    const file = Buffer.alloc(3072 + 512);
    orig.copy(file, 0, 0, 2048);
    file.write("tdbatmap", 2048, "latin1");
    file.writeBigUInt64BE(2560n, 2048 + 8); // batmap offset
    file.writeUInt32BE(1, 2048 + 16); // batmap size in sectors
    file.writeUInt32BE(0x00010002, 2048 + 20); // batmap version 1.2
    file.fill(0x00, 2560, 3072);
    footer.copy(file, 3072);
    host.files.set("/t/x.vhd", file);
    expect(checkVhd("/t/x.vhd", { host }).result).toBe(0);
    const d = VhdDisk.open("/t/x.vhd", { host });
    d.write(0, Buffer.alloc(4096, 7));
    d.close();
    const after = host.files.get("/t/x.vhd")!;
    expect(Buffer.from(after).toString("latin1", 2048, 2056)).toBe("tdbatmap");
    expect(Buffer.from(after).readUInt32BE(1536)).toBe(3072 / 512); // the block went after the batmap
    expect(checkVhd("/t/x.vhd", { host }).result).toBe(0);
  });
});
