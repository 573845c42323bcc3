import { execFileSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FatFileSystem, FsError, mountDisk, RawImageForTests } from "./fixtures";
import { Entry, fsTree, hostTree, join, makeImage, pattern, run, tempDir, tryRun, writeTree } from "./helpers";

/**
 * FAT12/16/32 made by mkfs.vfat and filled by mcopy/mmd: we must read what mtools wrote; and
 * what we write must be read back by mtools (mdir, mtype, mcopy) and pass fsck.vfat -n (which
 * also checks the FAT copies agree and the FAT32 FSInfo free count).
 */
const tmp = tempDir("fat");
const SRC = join(tmp.dir, "src");
const ADD = join(tmp.dir, "add");

const SOURCE = {
  "HELLO.TXT": "hello from mtools\n",
  "lower.txt": "lower case 8.3 name\n",
  "Long File Name with spaces.txt": "long\n",
  "MixedCase.Txt": "mixed\n",
  "a.b.c.d": "dots\n",
  "ünïcödé.txt": "unicode long name\n",
  "empty": "",
  "dir/sub/deep.bin": pattern(50_000, 3),
  "dir/Another Long Directory Name/file.dat": pattern(5_000, 4),
  "emptydir": null,
} as const;

interface Case {
  name: "fat12" | "fat16" | "fat32";
  size: number;
  mkfs: string[];
}
const CASES: Case[] = [
  { name: "fat12", size: 4 * 1024 * 1024, mkfs: ["-F", "12"] },
  { name: "fat16", size: 32 * 1024 * 1024, mkfs: ["-F", "16"] },
  { name: "fat32", size: 40 * 1024 * 1024, mkfs: ["-F", "32", "-s", "1"] },
];
const img = (c: Case) => join(tmp.dir, `${c.name}.img`);

beforeAll(() => {
  writeTree(SRC, SOURCE);
  const many: Record<string, string> = {};
  for (let i = 0; i < 120; i++) many[`many/Some long file number ${i}.txt`] = `n=${i}\n`;
  writeTree(SRC, many);
  writeTree(ADD, {
    "Written By XenLab.txt": "written by our FAT writer\n",
    "UPPER.TXT": "short name only\n",
    "small.txt": "lowercase short name\n",
    "big.bin": pattern(300_000, 9),
    "zero-length": "",
    "exactly twenty-six chars!!": "a long name filling two LFN entries with no terminator\n",
    "thirteen char": "one full LFN entry\n",
    "nested/dirs/in here/leaf.txt": "leaf\n",
  });
  const addMany: Record<string, string> = {};
  for (let i = 0; i < 150; i++) addMany[`crowd/A crowded directory entry ${i}.txt`] = `crowd ${i}\n`;
  writeTree(ADD, addMany);
  for (const c of CASES) buildImage(c, img(c));
});

/** mkfs.vfat, then mcopy -s -m of the source tree. */
function buildImage(c: Case, path: string): void {
  makeImage(path, c.size);
  run("mkfs.vfat", [...c.mkfs, "-n", c.name.toUpperCase(), path]);
  const top = Object.keys(hostTreeTop(SRC));
  run("mcopy", ["-s", "-m", "-i", path, ...top.map((t) => join(SRC, t)), "::/"]);
}
afterAll(() => tmp.cleanup());

function hostTreeTop(dir: string): Record<string, true> {
  const out: Record<string, true> = {};
  for (const p of hostTree(dir).keys()) out[p.split("/")[1]!] = true;
  return out;
}

function sameTree(ours: Map<string, Entry>, theirs: Map<string, Entry>): void {
  expect([...ours.keys()].sort()).toEqual([...theirs.keys()].sort());
  for (const [p, e] of theirs) {
    const o = ours.get(p)!;
    expect(o.type, p).toBe(e.type);
    if (e.type === "file" && o.type === "file") expect(Buffer.compare(o.data, e.data), p).toBe(0);
  }
}

describe.each(CASES)("$name", (c) => {
  const open = (readOnly = true) => FatFileSystem.open(RawImageForTests.open(img(c), { readOnly }));

  it("detects the FAT type and label as mkfs.vfat made them", () => {
    const fs = open();
    expect(fs.type).toBe(c.name);
    expect(fs.label).toBe(c.name.toUpperCase());
    const info = run("minfo", ["-i", img(c), "::"]);
    expect(fs.bs.sectorsPerCluster).toBe(Number(/cluster size:\s*(\d+) sectors/.exec(info)![1]));
    expect(fs.bs.reservedSectors).toBe(Number(/reserved \(boot\) sectors:\s*(\d+)/.exec(info)![1]));
    expect(fs.bs.numFats).toBe(Number(/fats:\s*(\d+)/.exec(info)![1]));
  });

  it("reads what mtools wrote: long names, directories, contents", () => {
    const fs = open();
    sameTree(fsTree(fs), hostTree(SRC));
    // mtime survives (mcopy -m) to FAT's 2-second resolution.
    const host = statSync(join(SRC, "dir/sub/deep.bin")).mtimeMs;
    expect(Math.abs(fs.stat("/dir/sub/deep.bin").mtime.getTime() - host)).toBeLessThan(2001);
  });

  it("shows the 8.3 aliases mdir shows", () => {
    const fs = open();
    const listing = run("mdir", ["-i", img(c), "::/"]);
    for (const e of fs.ls("/")) {
      const [base, ext = ""] = e.shortName!.split(".");
      // mdir prints "BASE     EXT" columns (with the NT lowercase bits applied) then the long name.
      const re = new RegExp(`^${escape(base!)}\\s+${escape(ext)}\\s`, "m");
      expect(listing, e.name).toMatch(re);
    }
    expect(fs.stat("/Long File Name with spaces.txt").shortName).toBe("LONGFI~1.TXT");
    expect(fs.stat("/lower.txt").shortName).toBe("lower.txt");
  });

  it("resolves names case-insensitively and by alias", () => {
    const fs = open();
    expect(fs.cat("/hello.txt", "utf8")).toBe("hello from mtools\n");
    expect(fs.cat("/LONGFI~1.TXT", "utf8")).toBe("long\n");
    expect(() => fs.cat("/nope.txt")).toThrowError(expect.objectContaining({ code: "ENOENT", path: "/nope.txt" }) as Error);
  });

  it("writes files and directories mtools and fsck.vfat accept", () => {
    const fs = open(false);
    expect(fs.copyIn(ADD, "/added")).toBeGreaterThan(150);
    // overwrite: bigger, then smaller; delete; mkdir + rmdir
    fs.writeFile("/HELLO.TXT", pattern(20_000, 21));
    fs.writeFile("/lower.txt", Buffer.from("now shorter\n"));
    fs.remove("/MixedCase.Txt");
    fs.remove("/dir/sub/deep.bin");
    fs.mkdir("/made here");
    fs.mkdir("/made here/and below");
    fs.remove("/made here/and below");
    fs.writeFile("/made here/file in new dir.txt", Buffer.from("in new dir\n"));
    expect(() => fs.remove("/dir")).toThrowError(expect.objectContaining({ code: "ENOTEMPTY" }) as Error);
    expect(() => fs.mkdir("/dir")).toThrowError(expect.objectContaining({ code: "EEXIST" }) as Error);
    expect(() => fs.writeFile("/bad:name", new Uint8Array(1))).toThrowError(expect.objectContaining({ code: "EINVAL" }) as Error);
    fs.device.close();

    const fsck = tryRun("fsck.vfat", ["-n", img(c)]);
    expect(fsck.out).not.toMatch(/wrong|differ|invalid|bad/i);
    expect(fsck.status, fsck.out).toBe(0);

    expect(run("mtype", ["-i", img(c), "::/added/Written By XenLab.txt"])).toBe("written by our FAT writer\n");
    expect(run("mtype", ["-i", img(c), "::/lower.txt"])).toBe("now shorter\n");
    expect(run("mtype", ["-i", img(c), "::/made here/file in new dir.txt"])).toBe("in new dir\n");
    const bare = run("mdir", ["-i", img(c), "-b", "-/", "::/added"]).split("\n").filter(Boolean);
    expect(bare).toContain("::/added/nested/dirs/in here/leaf.txt");
    expect(bare).toContain("::/added/crowd/A crowded directory entry 149.txt");
    expect(run("mdir", ["-i", img(c), "::/added"])).toMatch(/^UPPER\s+TXT\s+16 /m);

    // The whole tree, copied out by mtools, is what we meant to write.
    const out = join(tmp.dir, `out-${c.name}`);
    run("mkdir", ["-p", out]);
    run("mcopy", ["-s", "-n", "-i", img(c), "::/*", out]);
    const expected = hostTree(SRC);
    for (const [p, e] of hostTree(ADD)) expected.set(`/added${p}`, e);
    expected.set("/added", { type: "dir" });
    expected.set("/HELLO.TXT", { type: "file", size: 20_000, data: pattern(20_000, 21) });
    expected.set("/lower.txt", { type: "file", size: 12, data: Buffer.from("now shorter\n") });
    expected.delete("/MixedCase.Txt");
    expected.delete("/dir/sub/deep.bin");
    expected.set("/made here", { type: "dir" });
    expected.set("/made here/file in new dir.txt", { type: "file", size: 11, data: Buffer.from("in new dir\n") });
    // mcopy folds the case of non-ASCII 8.3 names its own way when copying out: FAT names are
    // case-insensitive, so compare these names case-folded.
    sameTree(caseFolded(hostTree(out)), caseFolded(expected));
    // and our reader agrees after a fresh mount
    sameTree(fsTree(open()), expected);
    if (c.name === "fat32") {
      const free = Number(/free clusters=(\d+)/.exec(run("minfo", ["-i", img(c), "::"]))![1]);
      expect(open().freeBytes()).toBe(free * open().bs.clusterBytes);
    }
  });

  it("runs out of space with ENOSPC, leaving a volume fsck.vfat accepts", () => {
    const copy = join(tmp.dir, `full-${c.name}.img`);
    run("cp", [img(c), copy]);
    const fs = FatFileSystem.open(RawImageForTests.open(copy));
    const free = fs.freeBytes();
    expect(() => fs.writeFile("/too big.bin", new Uint8Array(free + fs.bs.clusterBytes))).toThrowError(expect.objectContaining({ code: "ENOSPC" }) as Error);
    expect(fs.freeBytes()).toBe(free);
    fs.writeFile("/fills it.bin", new Uint8Array(free));
    expect(fs.freeBytes()).toBe(0);
    expect(() => fs.writeFile("/one more.bin", new Uint8Array(1))).toThrowError(expect.objectContaining({ code: "ENOSPC" }) as Error);
    fs.device.close();
    const fsck = tryRun("fsck.vfat", ["-n", copy]);
    expect(fsck.status, fsck.out).toBe(0);
  });

  it.runIf(c.name !== "fat32")("fills the fixed root directory with ENOSPC and rolls the FAT back", () => {
    const copy = join(tmp.dir, `rootfull-${c.name}.img`);
    run("cp", [img(c), copy]);
    const fs = FatFileSystem.open(RawImageForTests.open(copy));
    let n = 0;
    let error: unknown;
    for (; n < fs.bs.rootEntryCount; n++) {
      const before = fs.freeBytes();
      try {
        fs.writeFile(`/root file number ${n}.txt`, new Uint8Array(1000)); // 1 LFN + 1 short slot each
      } catch (e) {
        error = e;
        // the data clusters were allocated before the directory turned out full: undone
        expect(fs.freeBytes()).toBe(before);
        break;
      }
    }
    expect(error).toBeInstanceOf(FsError);
    expect((error as FsError).code).toBe("ENOSPC");
    expect(n).toBeGreaterThan(100);
    fs.device.close();
    const fsck = tryRun("fsck.vfat", ["-n", copy]);
    expect(fsck.status, fsck.out).toBe(0);
    expect(run("mdir", ["-i", copy, "-b", "::/"]).split("\n").filter((l) => l.includes("root file number")).length).toBe(n);
  });

  it("renames and moves files and directories as mtools then sees them", () => {
    const copy = join(tmp.dir, `rename-${c.name}.img`);
    buildImage(c, copy); // its own image: the write test above changes the shared one
    const fs = FatFileSystem.open(RawImageForTests.open(copy));
    fs.rename("/Long File Name with spaces.txt", "/short.txt");
    fs.rename("/HELLO.TXT", "/Hello.txt"); // case only
    fs.rename("/lower.txt", "/dir/sub/moved into sub.txt");
    fs.rename("/dir/Another Long Directory Name", "/emptydir/Moved Directory"); // a directory, with its file
    fs.rename("/dir/sub", "/sub at root");
    expect(() => fs.rename("/a.b.c.d", "/many")).toThrowError(expect.objectContaining({ code: "EEXIST" }) as Error);
    expect(() => fs.rename("/emptydir", "/emptydir/Moved Directory/inside")).toThrowError(expect.objectContaining({ code: "EINVAL" }) as Error);
    expect(() => fs.rename("/nope", "/x")).toThrowError(expect.objectContaining({ code: "ENOENT" }) as Error);
    fs.device.close();
    const fsck = tryRun("fsck.vfat", ["-n", copy]);
    expect(fsck.status, fsck.out).toBe(0);
    const listing = run("mdir", ["-i", copy, "-b", "-/", "::/"]).split("\n").filter(Boolean);
    for (const p of ["::/short.txt", "::/Hello.txt", "::/sub at root/moved into sub.txt", "::/sub at root/deep.bin", "::/emptydir/Moved Directory/file.dat"]) {
      expect(listing).toContain(p);
    }
    for (const gone of ["::/Long File Name with spaces.txt", "::/lower.txt", "::/dir/sub", "::/dir/Another Long Directory Name"]) {
      expect(listing.some((l) => l === gone || l.startsWith(`${gone}/`))).toBe(false);
    }
    expect(run("mtype", ["-i", copy, "::/sub at root/moved into sub.txt"])).toBe("lower case 8.3 name\n");
    expect(execFileSync("mtype", ["-i", copy, "::/emptydir/Moved Directory/file.dat"], { env: { ...process.env, MTOOLS_SKIP_CHECK: "1" } }).equals(pattern(5_000, 4))).toBe(true);
    // (fsck.vfat above also checked that each moved directory's ".." names its new parent)
  });

  it("refuses to write to a read-only device", () => {
    const fs = open(true);
    expect(() => fs.writeFile("/x.txt", new Uint8Array(3))).toThrowError(FsError);
    expect(() => fs.mkdir("/x")).toThrowError(/EROFS/);
  });

  it("mounts by auto-detection and copies in and out", () => {
    const disk = mountDisk(RawImageForTests.open(img(c)));
    expect(disk.table).toBeUndefined();
    disk.copyIn(join(ADD, "small.txt"), "/copied.txt");
    expect(disk.cat("/copied.txt", "utf8")).toBe(readFileSync(join(ADD, "small.txt"), "utf8"));
    disk.close();
    expect(run("mtype", ["-i", img(c), "::/copied.txt"])).toBe("lowercase short name\n");
    expect(tryRun("fsck.vfat", ["-n", img(c)]).status).toBe(0);
  });
});

function caseFolded(m: Map<string, Entry>): Map<string, Entry> {
  return new Map([...m].map(([k, v]) => [k.toLowerCase(), v]));
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\~]/g, "\\$&");
}

describe("directory end marker", () => {
  it("stale slots after the 0x00 end marker stay invisible after we append", () => {
    const image = join(tmp.dir, "endmarker.img");
    makeImage(image, 1440 * 1024);
    run("mkfs.vfat", ["-F", "12", image]);
    run("mcopy", ["-i", image, join(SRC, "HELLO.TXT"), "::/HELLO.TXT"]);
    const fs = FatFileSystem.open(RawImageForTests.open(image));
    const root = (fs.bs.reservedSectors + fs.bs.numFats * fs.bs.fatSectors) * fs.bs.bytesPerSector;
    // slot 0 is HELLO.TXT, slot 1 the end marker; put a stale entry in slot 2
    const stale = Buffer.alloc(32);
    stale.write("STALE   TXT", "latin1");
    stale[11] = 0x20;
    fs.device.write(root + 64, stale);
    expect(run("mdir", ["-i", image, "-b", "::/"])).not.toContain("STALE");
    fs.writeFile("/B.TXT", Buffer.from("b\n"));
    fs.device.close();
    expect(run("mdir", ["-i", image, "-b", "::/"]).split("\n").filter(Boolean)).toEqual(["::/HELLO.TXT", "::/B.TXT"]);
    expect(FatFileSystem.open(RawImageForTests.open(image, { readOnly: true })).ls("/").map((e) => e.name)).toEqual(["B.TXT", "HELLO.TXT"]);
    expect(tryRun("fsck.vfat", ["-n", image]).status).toBe(0);
  });
});

describe("4096-byte sectors", () => {
  it("reads and writes a small FAT32 as mkfs.fat -S 4096 makes it (typed by its BPB, as Linux does)", () => {
    const image = join(tmp.dir, "s4k.img");
    makeImage(image, 64 * 1024 * 1024);
    run("mkfs.vfat", ["-S", "4096", "-F", "32", image]);
    const fs = FatFileSystem.open(RawImageForTests.open(image));
    expect(fs.type).toBe("fat32");
    expect(fs.bs.bytesPerSector).toBe(4096);
    fs.copyIn(ADD, "/");
    fs.writeFile("/Replaced Later.bin", pattern(9000, 1));
    fs.writeFile("/replaced later.bin", pattern(70_000, 2)); // same name, other case: overwrites
    fs.device.close();
    const fsck = tryRun("fsck.fat", ["-n", "-l", image]);
    expect(fsck.status, fsck.out).toBe(0);
    // fsck.fat -l names every file it checks: the same set we list (it shows 8.3 names upper-case)
    const theirs = fsck.out.split("\n").flatMap((l) => /^Checking file (\/.+?)(?: \([^)]*\))?$/.exec(l)?.slice(1) ?? []).map((p) => p.toLowerCase());
    const again = FatFileSystem.open(RawImageForTests.open(image, { readOnly: true }));
    const ours = [...again.tree("/").walk()].map((n) => n.stat.path.toLowerCase()).filter((p) => p !== "/");
    expect(theirs.sort()).toEqual(ours.sort());
    expect(Buffer.from(again.cat("/REPLACED LATER.BIN")).equals(pattern(70_000, 2))).toBe(true);
    expect(again.ls("/").filter((e) => e.name.toLowerCase() === "replaced later.bin").length).toBe(1);
  });
});

describe("timestamps", () => {
  it("stamps what we write with the clock we are given (same notebook, same output)", () => {
    const image = join(tmp.dir, "clock.img");
    makeImage(image, 1440 * 1024);
    run("mkfs.vfat", ["-F", "12", image]);
    const when = new Date(Date.UTC(2006, 6, 17, 12, 34, 56)); // FAT keeps 2-second steps
    const disk = mountDisk(RawImageForTests.open(image), { now: () => when });
    disk.fs().mkdir("/Longhorn");
    disk.fs().writeFile("/Longhorn/server.txt", Buffer.from("Windows Server\n"));
    expect(disk.stat("/Longhorn/server.txt").mtime).toEqual(when);
    disk.close();
    // mdir prints local time; the helpers run mtools with TZ=UTC
    expect(run("mdir", ["-i", image, "::/Longhorn"])).toMatch(/^server\s+txt\s+15 2006-07-17\s+12:34/m);
  });
});

describe("warnings", () => {
  it("reports FAT copies that differ and an unclean shutdown, as fsck.vfat does", () => {
    const image = join(tmp.dir, "warn.img");
    makeImage(image, 32 * 1024 * 1024);
    run("mkfs.vfat", ["-F", "16", image]);
    const dev = RawImageForTests.open(image);
    let fs = FatFileSystem.open(dev);
    expect(fs.warnings()).toEqual([]);
    const fat = (n: number) => (fs.bs.reservedSectors + n * fs.bs.fatSectors) * fs.bs.bytesPerSector;
    // FAT[1] bit 15 clear = not cleanly unmounted (in both copies), then a stray entry in copy 1
    for (const n of [0, 1]) dev.write(fat(n) + 2, Uint8Array.of(0xff, 0x7f));
    dev.write(fat(1) + 2 * 100, Uint8Array.of(0x34, 0x12));
    fs = FatFileSystem.open(dev);
    const fsck = tryRun("fsck.vfat", ["-n", image]).out;
    expect(fsck).toMatch(/FATs differ/);
    expect(fsck).toMatch(/[Dd]irty bit/);
    expect(fs.warnings().join("\n")).toMatch(/FAT copies 1 differ/);
    expect(fs.warnings().join("\n")).toMatch(/not cleanly unmounted/);
    expect(fs.toMimeBundle()["text/plain"]).toMatch(/warning: FAT copies/);
    dev.close();
  });
});
