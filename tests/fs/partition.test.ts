import { createHash } from "node:crypto";
import { closeSync, openSync, readFileSync, readSync, writeSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FsError, mountDisk, PartitionTable, RawImageForTests, readPartitionTable } from "./fixtures";
import { hostTree, join, makeImage, run, tempDir, tryRun, writeTree } from "./helpers";

/**
 * Partition tables made by sfdisk (MBR with an extended partition and logicals) and sgdisk (GPT),
 * compared with `sfdisk --json` / `sfdisk -l`; filesystems placed in partitions with
 * mkfs.vfat --offset and mke2fs -E offset= and read through mountDisk.
 */
const tmp = tempDir("part");
const MBR = join(tmp.dir, "mbr.img");
const GPT = join(tmp.dir, "gpt.img");
const SRC = join(tmp.dir, "src");
const SECTOR = 512;

interface SfdiskJson {
  partitiontable: {
    label: string;
    id: string;
    partitions: Array<{ node: string; start: number; size: number; type: string; bootable?: boolean; uuid?: string; name?: string }>;
  };
}
const sfdiskJson = (img: string) => JSON.parse(run("sfdisk", ["--json", img])) as SfdiskJson;

function patch(img: string, offset: number, bytes: number[]): void {
  const fd = openSync(img, "r+");
  writeSync(fd, Buffer.from(bytes), 0, bytes.length, offset);
  closeSync(fd);
}
function peek(img: string, offset: number, length: number): Buffer {
  const fd = openSync(img, "r");
  const b = Buffer.alloc(length);
  readSync(fd, b, 0, length, offset);
  closeSync(fd);
  return b;
}
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

beforeAll(() => {
  writeTree(SRC, { "readme.txt": "in a logical partition\n", "etc/hostname": "xenlab\n" });
  makeImage(MBR, 64 * 1024 * 1024);
  run("sfdisk", ["-q", MBR], "label: dos\n,8M,6,*\n,16M,83\n,,5\n,8M,83\n,8M,b\n,,83\n");
  const parts = sfdiskJson(MBR).partitiontable.partitions;
  const p1 = parts.find((p) => p.node.endsWith("1"))!;
  const p5 = parts.find((p) => p.node.endsWith("5"))!;
  // FAT16 in partition 1 (mkfs.fat counts the size in KiB blocks), ext4 with files in logical 5.
  run("mkfs.vfat", ["-F", "16", "-s", "1", "-n", "BOOT", "--offset", String(p1.start), MBR, String((p1.size * SECTOR) / 1024)]);
  run("mcopy", ["-i", `${MBR}@@${p1.start * SECTOR}`, join(SRC, "readme.txt"), "::/README.TXT"]);
  run("mke2fs", ["-q", "-F", "-t", "ext4", "-L", "logical5", "-E", `offset=${p5.start * SECTOR}`, "-d", SRC, MBR, `${(p5.size * SECTOR) / 1024}k`]);

  makeImage(GPT, 64 * 1024 * 1024);
  run("sgdisk", ["-n", "1:2048:+8M", "-t", "1:ef00", "-c", "1:EFI system", "-n", "2:0:+16M", "-t", "2:8300", "-c", "2:Linux root ünï", "-n", "3:0:0", "-t", "3:0700", "-c", "3:Basic data", GPT]);
  const g = sfdiskJson(GPT).partitiontable.partitions;
  run("mkfs.vfat", ["-F", "12", "-n", "ESP", "--offset", String(g[0]!.start), GPT, String((g[0]!.size * SECTOR) / 1024)]);
  run("mke2fs", ["-q", "-F", "-t", "ext2", "-E", `offset=${g[1]!.start * SECTOR}`, "-d", SRC, GPT, `${(g[1]!.size * SECTOR) / 1024}k`]);
});
afterAll(() => tmp.cleanup());

const open = (img: string, readOnly = true) => RawImageForTests.open(img, { readOnly });

describe("MBR", () => {
  it("lists primaries, the extended container and the EBR chain as sfdisk does", () => {
    const table = readPartitionTable(open(MBR))!;
    const theirs = sfdiskJson(MBR).partitiontable;
    expect(table.scheme).toBe("mbr");
    expect(table.diskId).toBe(theirs.id);
    expect(
      table.partitions.map((p) => ({ n: p.index, start: p.startLba, size: p.sectors, type: p.type.replace(/^0x0?/, ""), boot: p.bootable || undefined })),
    ).toEqual(theirs.partitions.map((p) => ({ n: Number(/(\d+)$/.exec(p.node)![1]), start: p.start, size: p.size, type: p.type, boot: p.bootable })));
    expect(table.partitions.filter((p) => p.logical).map((p) => p.index)).toEqual([5, 6, 7]);
    // type names as fdisk prints them
    const listing = run("sfdisk", ["-l", MBR]);
    for (const p of table.partitions) expect(listing).toMatch(new RegExp(`${MBR}${p.index}\\s.*${p.typeName.replace(/[()/]/g, ".")}$`, "m"));
  });

  it("mounts the FAT and ext4 partitions, and writes only inside its partition", () => {
    const before = sha(readFileSync(MBR));
    const disk = mountDisk(open(MBR, false));
    expect(disk.volumes.map((v) => [v.partition!.index, v.fs?.type])).toEqual([
      [1, "fat16"],
      [2, undefined],
      [5, "ext4"],
      [6, undefined],
      [7, undefined],
    ]);
    expect(disk.fs(1).cat("/readme.txt", "utf8")).toBe("in a logical partition\n");
    expect(disk.fs(5).cat("/etc/hostname", "utf8")).toBe("xenlab\n");
    expect(disk.fs(5).label).toBe("logical5");
    const p1 = disk.table!.partitions[0]!;
    const outsideBefore = Buffer.concat([peek(MBR, 0, p1.start), peek(MBR, p1.start + p1.size, 64 * 1024 * 1024 - p1.start - p1.size)]);
    disk.fs(1).writeFile("/From XenLab.txt", Buffer.from("hi from the partition\n"));
    disk.close();
    expect(sha(readFileSync(MBR))).not.toBe(before);
    const outsideAfter = Buffer.concat([peek(MBR, 0, p1.start), peek(MBR, p1.start + p1.size, 64 * 1024 * 1024 - p1.start - p1.size)]);
    expect(sha(outsideAfter)).toBe(sha(outsideBefore));
    expect(run("mtype", ["-i", `${MBR}@@${p1.start}`, "::/From XenLab.txt"])).toBe("hi from the partition\n");
    const part = join(tmp.dir, "p1.img");
    run("dd", [`if=${MBR}`, `of=${part}`, "bs=512", `skip=${p1.startLba}`, `count=${p1.sectors}`, "status=none"]);
    expect(tryRun("fsck.vfat", ["-n", part]).status).toBe(0);
  });

  it("shows itself as a table and a layout picture (well-formed SVG)", () => {
    const disk = mountDisk(open(MBR));
    const bundle = disk.toMimeBundle();
    expect(bundle["text/plain"]).toContain("MBR disk");
    expect(bundle["text/plain"]).toContain("fat16");
    const svg = bundle["image/svg+xml"] as string;
    expect((svg.match(/<rect [^>]*fill-opacity/g) ?? []).length).toBe(6);
    const check = tryRun("/usr/bin/python3", ["-c", "import sys, xml.dom.minidom as m; m.parseString(sys.argv[1])", svg]);
    expect(check.status, check.out).toBe(0);
    expect(String(bundle["text/html"])).toContain("readme.txt");
  });

  it("stops an EBR chain that loops, with a typed error", () => {
    const img = join(tmp.dir, "loop.img");
    run("cp", [MBR, img]);
    const ext = sfdiskJson(img).partitiontable.partitions.find((p) => p.type === "5")!;
    // walk the chain to the last EBR and point its link back at the first
    let ebr = ext.start;
    for (;;) {
      const link = peek(img, ebr * SECTOR + 446 + 16, 16);
      if (link[4] === 0) break;
      ebr = ext.start + link.readUInt32LE(8);
    }
    patch(img, ebr * SECTOR + 446 + 16, [0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
    expect(() => readPartitionTable(open(img))).toThrowError(expect.objectContaining({ code: "ECORRUPT", message: expect.stringMatching(/loops/) as string }) as Error);
    // and one pointing outside the disk
    patch(img, ebr * SECTOR + 446 + 16, [0, 0, 0, 0, 5, 0, 0, 0, 0xff, 0xff, 0xff, 0x0f, 1, 0, 0, 0]);
    expect(() => readPartitionTable(open(img))).toThrowError(FsError);
  });
});

describe("GPT", () => {
  it("reads the entries as sfdisk does: types, GUIDs, UTF-16 names", () => {
    const table = readPartitionTable(open(GPT))!;
    const theirs = sfdiskJson(GPT).partitiontable;
    expect(table.scheme).toBe("gpt");
    expect(table.protectiveMbr).toBe(true);
    expect(table.gpt!.usedBackup).toBe(false);
    expect(table.diskId).toBe(theirs.id);
    expect(table.partitions.map((p) => ({ start: p.startLba, size: p.sectors, type: p.type, uuid: p.uuid, name: p.name }))).toEqual(
      theirs.partitions.map((p) => ({ start: p.start, size: p.size, type: p.type, uuid: p.uuid, name: p.name })),
    );
    const listing = run("sfdisk", ["-l", GPT]);
    for (const p of table.partitions) expect(listing).toMatch(new RegExp(`${GPT}${p.index}\\s.*\\s${p.typeName}$`, "m"));
  });

  it("mounts the filesystems in the partitions", () => {
    const disk = mountDisk(open(GPT));
    expect(disk.volumes.map((v) => v.fs?.type)).toEqual(["fat12", "ext2", undefined]);
    expect(hostTreeOf(disk.fs(2))).toEqual([...hostTree(SRC).keys()].sort());
    expect(disk.fs(1).label).toBe("ESP");
  });

  it("falls back to the backup header when the primary header's CRC is wrong", () => {
    const img = join(tmp.dir, "gpt-badhdr.img");
    run("cp", [GPT, img]);
    patch(img, SECTOR + 56, [peek(img, SECTOR + 56, 1)[0]! ^ 0xff]); // a byte of the disk GUID
    expect(tryRun("sgdisk", ["-v", img]).out).toMatch(/main GPT header|problem/i);
    const table = readPartitionTable(open(img)) as PartitionTable;
    expect(table.gpt!.usedBackup).toBe(true);
    expect(table.gpt!.problems[0]!.field).toBe("gpt.primary.header_crc32");
    expect(table.gpt!.header.lba).toBe(64 * 1024 * 2 - 1);
    expect(table.partitions.map((p) => p.name)).toEqual(["EFI system", "Linux root ünï", "Basic data"]);
    expect(table.toMimeBundle()["text/plain"]).toContain("backup");
  });

  it("falls back when the entry array's CRC is wrong, and fails typed when both copies are bad", () => {
    const img = join(tmp.dir, "gpt-badarr.img");
    run("cp", [GPT, img]);
    patch(img, 2 * SECTOR + 56, [0x41]); // first letter of partition 1's name in the primary array
    let table = readPartitionTable(open(img))!;
    expect(table.gpt!.usedBackup).toBe(true);
    expect(table.gpt!.problems[0]!.field).toBe("gpt.primary.partition_entry_array_crc32");
    expect(table.partitions[0]!.name).toBe("EFI system");
    // now break the backup header too
    const last = 64 * 1024 * 1024 - SECTOR;
    patch(img, last + 16, [0, 0, 0, 0]);
    try {
      table = readPartitionTable(open(img))!;
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(FsError);
      expect((e as FsError).code).toBe("ECORRUPT");
      expect((e as FsError).message).toMatch(/backup header CRC32/);
    }
  });
});

function hostTreeOf(fs: { tree(p: string): { walk(): Generator<{ stat: { path: string } }> } }): string[] {
  return [...fs.tree("/").walk()].map((n) => n.stat.path).filter((p) => p !== "/" && !p.startsWith("/lost+found")).sort();
}
