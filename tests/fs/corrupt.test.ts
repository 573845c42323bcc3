import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExtFileSystem, FatFileSystem, FileSystem, FsError, MemoryDevice, mountDisk } from "./fixtures";
import { join, makeImage, pattern, run, tempDir, tryRun, writeTree } from "./helpers";

/**
 * Mutation tests: images made by the real tools, then bytes in their metadata changed at random
 * (seeded, so failures reproduce). Whatever we are given, mounting, listing, reading and writing
 * end normally or with an FsError: never another exception, never a hang.
 */
const tmp = tempDir("corrupt");
const SRC = join(tmp.dir, "src");
const images: Record<string, Uint8Array> = {};

beforeAll(() => {
  const files: Record<string, string | Buffer | { symlink: string } | null> = {
    "a.txt": "alpha\n",
    "Long Name Here.txt": pattern(3000, 1),
    "d1/d2/d3/deep.bin": pattern(40_000, 2),
    "extonly/link": { symlink: "../a.txt" },
    "extonly/longlink": { symlink: "x/".repeat(40) },
    "empty": null,
  };
  for (let i = 0; i < 40; i++) files[`many/f${i}`] = `file ${i}\n`;
  writeTree(SRC, files);
  // eight data chunks between zeros (mke2fs -d leaves zero blocks unallocated): more extents
  // than i_block holds, so a depth-1 tree
  const sparse = Buffer.alloc(8 * 8192);
  for (let i = 0; i < 8; i++) pattern(1024, i + 1).copy(sparse, i * 8192 + 4096);
  writeFileSync(join(SRC, "extonly/sparse.bin"), sparse);
  const make = (name: string, size: number, build: (img: string) => void) => {
    const img = join(tmp.dir, `${name}.img`);
    makeImage(img, size);
    build(img);
    images[name] = new Uint8Array(readFileSync(img));
  };
  const mcopyAll = (img: string, off = 0) => run("mcopy", ["-s", "-i", off ? `${img}@@${off}` : img, join(SRC, "a.txt"), join(SRC, "Long Name Here.txt"), join(SRC, "d1"), join(SRC, "many"), "::/"]);
  make("fat12", 1440 * 1024, (img) => {
    run("mkfs.vfat", ["-F", "12", img]);
    mcopyAll(img);
  });
  make("fat32", 34 * 1024 * 1024, (img) => {
    run("mkfs.vfat", ["-F", "32", "-s", "1", img]);
    mcopyAll(img);
  });
  make("ext2", 2 * 1024 * 1024, (img) => run("mke2fs", ["-q", "-F", "-t", "ext2", "-b", "1024", "-N", "128", "-d", SRC, img]));
  make("ext4", 4 * 1024 * 1024, (img) => run("mke2fs", ["-q", "-F", "-t", "ext4", "-b", "1024", "-N", "128", "-d", SRC, img]));
  make("mbr", 8 * 1024 * 1024, (img) => {
    run("sfdisk", ["-q", img], "label: dos\nstart=2048,size=2048,type=1\nstart=4096,type=5\nstart=6144,size=2048,type=83\nstart=10240,type=83\n");
    run("mkfs.vfat", ["-F", "12", "--offset", "2048", img, "1024"]);
    mcopyAll(img, 2048 * 512);
  });
  make("gpt", 4 * 1024 * 1024, (img) => {
    run("sgdisk", ["-n", "1:2048:+1M", "-t", "1:0700", "-c", "1:data", "-n", "2:0:0", img]);
    run("mkfs.vfat", ["-F", "12", "--offset", "2048", img, "1024"]);
    mcopyAll(img, 2048 * 512);
  });
});
afterAll(() => tmp.cleanup());

/** Mount, walk, read everything, and (FAT) write: every failure must be an FsError. */
function exercise(bytes: Uint8Array): string {
  const outcome: string[] = [];
  const attempt = (what: string, f: () => void) => {
    try {
      f();
    } catch (e) {
      if (!(e instanceof FsError)) throw new Error(`${what} threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
      outcome.push(e.code);
    }
  };
  attempt("mount", () => {
    const disk = mountDisk(new MemoryDevice(bytes)); // the caller passes a copy: FAT writes land in it
    for (const fs of disk.filesystems) {
      const paths: string[] = [];
      attempt("tree", () => {
        for (const n of fs.tree("/").walk()) if (n.stat.type === "file") paths.push(n.stat.path);
      });
      for (const p of paths) attempt(`cat ${p}`, () => void fs.readFile(p, 64 * 1024 * 1024));
      if (!(fs instanceof FatFileSystem)) attempt("cat via symlink", () => void fs.cat("/extonly/link"));
      if (fs instanceof FatFileSystem) {
        attempt("write", () => fs.writeFile("/new file.txt", pattern(5000, 3)));
        attempt("mkdir", () => fs.mkdir("/d1/new dir"));
        attempt("remove", () => fs.remove("/a.txt"));
        attempt("rename", () => fs.rename("/d1/d2", "/moved d2"));
        attempt("reread", () => void (fs as FileSystem).tree("/"));
      }
    }
    void disk.toMimeBundle();
  });
  return outcome.join(",");
}

/** Sectors below `region` that hold anything: structures live there, zeros are mostly free space. */
function hotSectors(b: Uint8Array, region: number): number[] {
  const out: number[] = [];
  for (let s = 0; s * 512 < Math.min(region, b.length); s++) if (b.subarray(s * 512, s * 512 + 512).some((x) => x !== 0)) out.push(s);
  return out;
}

function mutate(src: Uint8Array, seed: number, sectors: number[], count: number): Uint8Array {
  const b = src.slice();
  const rnd = pattern(count * 12, seed);
  for (let i = 0; i < count; i++) {
    const at = sectors[rnd.readUInt32LE(i * 12) % sectors.length]! * 512 + (rnd.readUInt16LE(i * 12 + 8) % 512);
    const kind = rnd[i * 12 + 4]! % 4;
    // random byte, bit flip, all-ones, zero: the kinds of damage real corruption shows
    b[at] = kind === 0 ? rnd[i * 12 + 5]! : kind === 1 ? b[at]! ^ (1 << (rnd[i * 12 + 6]! % 8)) : kind === 2 ? 0xff : 0;
  }
  return b;
}

/** Where each image keeps its metadata: mutate there, or nearly every mutation hits file data. */
const REGIONS: Record<string, number> = { fat12: 40 * 512, fat32: 1200 * 512, ext2: 64 * 1024, ext4: 200 * 1024, mbr: 8 * 1024 * 1024, gpt: 4 * 1024 * 1024 };
/** FS_FUZZ_ROUNDS=5000 for a longer local run. */
const ROUNDS = Number(process.env.FS_FUZZ_ROUNDS ?? 150);

describe("corrupted images give typed errors only", () => {
  // A hang shows as this timeout; long local runs (FS_FUZZ_ROUNDS) get more time.
  it.each(Object.keys(REGIONS))("%s", { timeout: process.env.FS_FUZZ_ROUNDS ? 3_600_000 : 60_000 }, (name) => {
    expect(exercise(images[name]!.slice())).toBe(""); // the pristine image works
    const codes = new Map<string, number>();
    const sectors = hotSectors(images[name]!, REGIONS[name]!);
    for (let seed = 1; seed <= ROUNDS; seed++) {
      const res = exercise(mutate(images[name]!, seed * 7919, sectors, 1 + (seed % 6)));
      for (const c of res.split(",").filter(Boolean)) codes.set(c, (codes.get(c) ?? 0) + 1);
    }
    // the mutations did reach the parsers (some were detected as corruption)
    expect(codes.get("ECORRUPT") ?? 0).toBeGreaterThan(0);
  });

  it("a FAT chain that loops is caught", () => {
    const b = images.fat12!.slice();
    const fs = FatFileSystem.open(new MemoryDevice(b));
    const c = fs.stat("/d1/d2/d3/deep.bin").inode;
    // point the file's second cluster back at its first (FAT12: 12-bit entries at 512)
    const next = c + 1;
    const off = 512 + next + (next >> 1);
    if (next & 1) {
      b[off] = (b[off]! & 0x0f) | ((c << 4) & 0xf0);
      b[off + 1] = (c >> 4) & 0xff;
    } else {
      b[off] = c & 0xff;
      b[off + 1] = (b[off + 1]! & 0xf0) | ((c >> 8) & 0x0f);
    }
    expect(() => FatFileSystem.open(new MemoryDevice(b)).cat("/d1/d2/d3/deep.bin")).toThrowError(/loops at cluster/);
  });

  it("a directory entry pointing at its ancestor is a cycle, not an endless tree", () => {
    const b = images.fat12!.slice();
    const fs = FatFileSystem.open(new MemoryDevice(b));
    const d1 = fs.stat("/d1").inode;
    const d3 = fs.stat("/d1/d2/d3").inode;
    // find d3's entry in d2's cluster and retarget it at d1
    const d2 = fs.stat("/d1/d2").inode;
    const at = (fs.bs.firstDataSector + (d2 - 2) * fs.bs.sectorsPerCluster) * 512;
    let found = false;
    for (let o = at; o < at + fs.bs.clusterBytes; o += 32) {
      if ((b[o + 26]! | (b[o + 27]! << 8)) === d3 && b[o + 11] === 0x10) {
        b[o + 26] = d1 & 0xff;
        b[o + 27] = d1 >> 8;
        found = true;
      }
    }
    expect(found).toBe(true);
    const bad = FatFileSystem.open(new MemoryDevice(b));
    expect(() => bad.tree("/")).toThrowError(expect.objectContaining({ code: "ECORRUPT", message: expect.stringMatching(/cycle/) as string }) as Error);
  });
});

describe("ext4 metadata_csum", () => {
  /** Flips one byte, then asks both us and e2fsck -n about the image. */
  function damaged(offset: number): { image: Uint8Array; fsck: string } {
    const b = images.ext4!.slice();
    b[offset] ^= 0x5a;
    const path = join(tmp.dir, `csum-${offset}.img`);
    writeFileSync(path, b);
    return { image: b, fsck: tryRun("e2fsck", ["-n", "-f", path]).out };
  }
  const expectCorrupt = (f: () => unknown, field: RegExp) => {
    try {
      f();
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(FsError);
      expect((e as FsError).code).toBe("ECORRUPT");
      expect((e as FsError).field).toMatch(field);
    }
  };

  it("catches a damaged inode by its checksum, as e2fsck does", () => {
    const img = join(tmp.dir, "ext4-pristine.img");
    writeFileSync(img, images.ext4!);
    const imap = run("debugfs", ["-R", "imap /a.txt", img]);
    const block = Number(/located at block (\d+)/.exec(imap)![1]);
    const off = Number.parseInt(/offset (0x[0-9a-f]+)/.exec(imap)![1]!, 16);
    const { image, fsck } = damaged(block * 1024 + off + 0x10); // i_mtime
    expect(fsck).toMatch(/checksum/i);
    const fs = ExtFileSystem.open(new MemoryDevice(image));
    expectCorrupt(() => fs.stat("/a.txt"), /i_checksum/);
    expect(fs.cat("/many/f1", "utf8")).toBe("file 1\n"); // the rest still reads
  });

  it("catches a damaged extent block and directory block", () => {
    const img = join(tmp.dir, "ext4-pristine2.img");
    writeFileSync(img, images.ext4!);
    const ex = run("debugfs", ["-R", "ex /extonly/sparse.bin", img]);
    const leaf = Number(/^\s*0\/\s*1\s+\d+\/\s*\d+\s+\d+\s+-\s+\d+\s+(\d+)/m.exec(ex)![1]);
    const e = damaged(leaf * 1024 + 12 + 4); // ee_len of the first extent
    expect(e.fsck).toMatch(/checksum|extent/i);
    expectCorrupt(() => ExtFileSystem.open(new MemoryDevice(e.image)).cat("/extonly/sparse.bin"), /et_checksum/);
    const dirBlock = Number(run("debugfs", ["-R", "blocks /many", img]).trim().split(/\s+/)[0]);
    const d = damaged(dirBlock * 1024 + 8); // the "." of the first entry
    expect(d.fsck).toMatch(/checksum|directory/i);
    expectCorrupt(() => ExtFileSystem.open(new MemoryDevice(d.image)).ls("/many"), /det_checksum/);
  });

  it("catches a damaged group descriptor and superblock", () => {
    // 1 KiB blocks: superblock in block 1, descriptors from block 2 (bg_free_inodes_count at 0x0E)
    const gd = damaged(2 * 1024 + 0x0e);
    expect(gd.fsck).toMatch(/checksum|descriptor/i);
    expectCorrupt(() => ExtFileSystem.open(new MemoryDevice(gd.image)), /bg_checksum/);
    const sb = damaged(1024 + 120); // s_volume_name
    expect(sb.fsck).toMatch(/checksum|superblock/i);
    expectCorrupt(() => ExtFileSystem.open(new MemoryDevice(sb.image)), /s_checksum/);
  });
});
