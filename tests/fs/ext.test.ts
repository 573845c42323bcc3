import { closeSync, openSync, readFileSync, statSync, writeSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExtFileSystem, FsError, mountDisk, RawImageForTests } from "./fixtures";
import { fsTree, hostTree, join, makeImage, pattern, run, tempDir, tryRun, writeTree } from "./helpers";

/**
 * ext2/3/4 images are made by mke2fs -d from a host directory; what we read back must equal the
 * directory (names, types, sizes, contents, symlink targets, mtimes), and what we say about the
 * on-disk structures (inode numbers, extent depth, htree flag) must agree with debugfs.
 */
const tmp = tempDir("ext");
const SRC = join(tmp.dir, "src");
const LONG_TARGET = `${"very-long-directory-name/".repeat(6)}target.txt`; // > 60 bytes: a slow symlink
const SPARSE_CHUNKS = 400; // > 4 x 84 extents: depth 2 with 1 KiB blocks
const MANY = 1500;

function buildSource(): void {
  writeTree(SRC, {
    "hello.txt": "hello, world\n",
    "empty": "",
    "dir/nested/deep/data.bin": pattern(100_000, 7),
    "dir/nested/small.txt": "small\n",
    "dir/hundred.txt": "h".repeat(99) + "\n", // inline: 60 bytes in i_block, 40 in system.data
    "inl/file-a": "a",
    "inl/file-b": "b",
    "inl/file-c": "c",
    "inl/file-d": "d",
    "inl/file-e": "e", // five dirents: more than i_block's 56 bytes hold, so not inline
    "unicode ünïcödé 文件.txt": "utf-8 names\n",
    "big.bin": pattern(3 * 1024 * 1024 + 123, 11),
    "link-short": { symlink: "hello.txt" },
    "link-long": { symlink: LONG_TARGET },
    "link-dir": { symlink: "dir/nested" },
    "loop-a": { symlink: "loop-b" },
    "loop-b": { symlink: "loop-a" },
    "emptydir": null,
  });
  // A sparse file: data chunks separated by holes, the last one past 64 MiB so that with
  // 1 KiB blocks the block map needs a triple-indirect block and the extent tree depth 2.
  const fd = openSync(join(SRC, "sparse.bin"), "w");
  for (let i = 1; i <= SPARSE_CHUNKS; i++) writeSync(fd, pattern(1024, i), 0, 1024, i * 200 * 1024);
  writeSync(fd, Buffer.from("tail"), 0, 4, 80 * 1024 * 1024);
  closeSync(fd);
  const many: Record<string, string> = {};
  for (let i = 0; i < MANY; i++) many[`many/file-${String(i).padStart(5, "0")}-with-a-longish-name.txt`] = `file ${i}\n`;
  writeTree(SRC, many);
}

interface Case {
  name: string;
  mkfs: string[];
  kind: string;
  descSize: number;
}
const CASES: Case[] = [
  { name: "ext2-1k", mkfs: ["-t", "ext2", "-b", "1024"], kind: "ext2", descSize: 32 },
  { name: "ext3-4k", mkfs: ["-t", "ext3", "-b", "4096"], kind: "ext3", descSize: 32 },
  { name: "ext4-1k", mkfs: ["-t", "ext4", "-b", "1024"], kind: "ext4", descSize: 64 },
  { name: "ext4-4k-32bit", mkfs: ["-t", "ext4", "-b", "4096", "-O", "^64bit"], kind: "ext4", descSize: 32 },
  // revision 0 ("good old"): 128-byte inodes, no features at all (no filetype in dirents)
  { name: "ext2-rev0", mkfs: ["-t", "ext2", "-r", "0", "-b", "1024"], kind: "ext2", descSize: 32 },
  // small files and directories stored in the inode (i_block + the system.data attribute)
  { name: "ext4-inline", mkfs: ["-t", "ext4", "-I", "256", "-O", "inline_data"], kind: "ext4", descSize: 64 },
];

function image(c: Case): string {
  return join(tmp.dir, `${c.name}.img`);
}

function debugfs(img: string, cmd: string): string {
  return run("debugfs", ["-R", cmd, img]);
}

beforeAll(() => {
  buildSource();
  for (const c of CASES) {
    makeImage(image(c), 64 * 1024 * 1024);
    run("mke2fs", ["-q", "-F", ...c.mkfs, "-L", c.name, "-d", SRC, image(c)]);
    // e2fsck -D rebuilds directories as hashed trees (htree) where dir_index is on.
    run("e2fsck", ["-f", "-y", "-D", image(c)]);
  }
});
afterAll(() => tmp.cleanup());

const notLostFound = (p: string) => p === "/lost+found" || p.startsWith("/lost+found/");

describe.each(CASES)("$name", (c) => {
  const open = () => ExtFileSystem.open(RawImageForTests.open(image(c), { readOnly: true }));

  it("reads the superblock the way dumpe2fs does", () => {
    const fs = open();
    const dump = run("dumpe2fs", ["-h", image(c)]);
    const field = (name: string) => new RegExp(`^${name}:\\s+(.*)$`, "m").exec(dump)?.[1]?.trim();
    expect(fs.type).toBe(c.kind);
    expect(fs.label).toBe(field("Filesystem volume name"));
    expect(fs.sb.blockSize).toBe(Number(field("Block size")));
    expect(fs.sb.blocksCount).toBe(Number(field("Block count")));
    expect(fs.sb.inodesCount).toBe(Number(field("Inode count")));
    expect(fs.sb.descSize).toBe(Number(field("Group descriptor size") ?? 32));
    expect(fs.sb.descSize).toBe(c.descSize);
    expect(fs.freeBytes()).toBe(Number(field("Free blocks")) * fs.sb.blockSize);
  });

  it("lists and reads exactly the source tree", () => {
    const fs = open();
    const ours = fsTree(fs, notLostFound);
    const theirs = hostTree(SRC);
    expect([...ours.keys()].sort()).toEqual([...theirs.keys()].sort());
    for (const [p, e] of theirs) {
      const o = ours.get(p)!;
      expect(o.type, p).toBe(e.type);
      if (e.type === "file" && o.type === "file") {
        expect(o.size, p).toBe(e.size);
        expect(Buffer.compare(o.data, e.data), p).toBe(0);
      }
      if (e.type === "symlink" && o.type === "symlink") expect(o.target, p).toBe(e.target);
    }
  });

  it("keeps mtimes, modes and inode numbers as debugfs reports them", () => {
    const fs = open();
    for (const p of ["/hello.txt", "/dir/nested/deep/data.bin", "/sparse.bin", "/many"]) {
      const st = fs.stat(p);
      expect(st.mtime.getTime() / 1000).toBe(Math.floor(statSync(join(SRC, p)).mtimeMs / 1000));
      expect(st.mode & 0o7777).toBe(statSync(join(SRC, p)).mode & 0o7777);
      const ds = debugfs(image(c), `stat ${p}`);
      expect(st.inode).toBe(Number(/Inode:\s+(\d+)/.exec(ds)![1]));
      expect(st.size).toBe(Number(/Size:\s+(\d+)/.exec(ds)![1]));
    }
  });

  it("agrees with debugfs on which inodes hold their data inline", () => {
    const fs = open();
    for (const p of ["/hello.txt", "/dir/nested", "/dir/nested/small.txt", "/dir/hundred.txt", "/inl", "/emptydir", "/big.bin"]) {
      const flags = Number.parseInt(/Flags:\s+0x([0-9a-f]+)/.exec(debugfs(image(c), `stat ${p}`))![1]!, 16);
      expect(fs.stat(p).flags?.includes("INLINE_DATA"), p).toBe((flags & 0x10000000) !== 0);
    }
    if (c.name === "ext4-inline") {
      // (libext2fs moves a directory to a block rather than into system.data, so /inl is not inline)
      for (const p of ["/dir/nested", "/dir/hundred.txt"]) expect(fs.stat(p).flags, p).toContain("INLINE_DATA");
      expect(debugfs(image(c), "stat /dir/hundred.txt")).toMatch(/Size of inline data: 100/);
    }
  });

  it("follows symlinks (fast and slow) in the middle of paths and at the end", () => {
    const fs = open();
    expect(fs.stat("/link-short")).toMatchObject({ type: "symlink", target: "hello.txt" });
    expect(fs.stat("/link-long")).toMatchObject({ type: "symlink", target: LONG_TARGET });
    expect(fs.cat("/link-short", "utf8")).toBe("hello, world\n");
    expect(fs.readlink("/link-long")).toBe(LONG_TARGET);
    expect(() => fs.readlink("/hello.txt")).toThrowError(expect.objectContaining({ code: "EINVAL" }) as Error);
    expect(fs.cat("/link-dir/small.txt", "utf8")).toBe("small\n");
    // ".." after a symlink climbs from the link's target, as the kernel does (the host agrees).
    expect(fs.cat("/link-dir/../nested/small.txt", "utf8")).toBe(readFileSync(`${SRC}/link-dir/../nested/small.txt`, "utf8"));
    expect(fs.cat("/link-dir/../../hello.txt", "utf8")).toBe("hello, world\n");
    expect(fs.ls("/link-dir/deep").map((e) => e.name)).toEqual(["data.bin"]);
    expect(() => fs.cat("/loop-a")).toThrowError(expect.objectContaining({ code: "ELOOP" }) as Error);
    expect(fs.stat("/loop-a").target).toBe("loop-b"); // stat does not follow
    // The long target dangles: reading through it is ENOENT, naming the path.
    expect(() => fs.cat("/link-long")).toThrowError(expect.objectContaining({ code: "ENOENT" }) as Error);
  });

  it("maps the sparse file's holes and deep block tree", () => {
    const fs = open();
    const data = fs.cat("/sparse.bin");
    expect(data.length).toBe(80 * 1024 * 1024 + 4);
    expect(Buffer.from(data.subarray(200 * 1024, 201 * 1024)).equals(pattern(1024, 1))).toBe(true);
    expect(data.subarray(0, 200 * 1024).every((b) => b === 0)).toBe(true);
    if (c.kind === "ext4") {
      const ex = debugfs(image(c), "ex /sparse.bin");
      const depth = Number(/^\s*0\/\s*(\d+)/m.exec(ex)![1]);
      expect(fs.extentDepth("/sparse.bin")).toBe(depth);
      if (c.name === "ext4-1k") expect(depth).toBeGreaterThanOrEqual(2);
    } else {
      expect(fs.extentDepth("/sparse.bin")).toBeUndefined();
      if (c.name === "ext2-1k") expect(debugfs(image(c), "stat /sparse.bin")).toContain("(TIND)");
    }
  });

  it("reads a hashed (htree) directory linearly, every entry once", () => {
    const fs = open();
    const flags = Number.parseInt(/Flags:\s+0x([0-9a-f]+)/.exec(debugfs(image(c), "stat /many"))![1]!, 16);
    expect(fs.stat("/many").flags?.includes("INDEX")).toBe((flags & 0x1000) !== 0);
    // e2fsck -D made it an htree wherever dir_index is on
    expect((flags & 0x1000) !== 0).toBe(/dir_index/.test(run("dumpe2fs", ["-h", image(c)])));
    const names = fs.ls("/many").map((e) => e.name);
    expect(names.length).toBe(MANY);
    expect(new Set(names).size).toBe(MANY);
    expect(fs.cat("/many/file-01234-with-a-longish-name.txt", "utf8")).toBe("file 1234\n");
  });

  it("warns about an unreplayed journal and an error state, as e2fsck does", () => {
    expect(open().warnings()).toEqual([]);
    const copy = join(tmp.dir, `${c.name}-warn.img`);
    run("cp", [image(c), copy]);
    run("debugfs", ["-w", "-R", "ssv state 2", copy]);
    const warned = ExtFileSystem.open(RawImageForTests.open(copy, { readOnly: true }));
    expect(tryRun("e2fsck", ["-n", copy]).out).toMatch(/contains a file system with errors/);
    expect(warned.warnings().join("\n")).toMatch(/marked as having errors/);
    if (c.kind !== "ext2") {
      run("debugfs", ["-w", "-R", "feature needs_recovery", copy]);
      expect(run("dumpe2fs", ["-h", copy])).toMatch(/needs_recovery/);
      const journaled = ExtFileSystem.open(RawImageForTests.open(copy, { readOnly: true }));
      expect(journaled.warnings().join("\n")).toMatch(/journal needs recovery/);
      expect(journaled.cat("/hello.txt", "utf8")).toBe("hello, world\n"); // still readable
    }
  });

  it("is read-only and says so with a typed error", () => {
    const fs = open();
    for (const f of [() => fs.writeFile("/x", new Uint8Array(1)), () => fs.mkdir("/d"), () => fs.remove("/hello.txt"), () => fs.rename("/hello.txt", "/h"), () => fs.copyIn(join(SRC, "hello.txt"), "/h")]) {
      expect(f).toThrowError(FsError);
      expect(f).toThrowError(/EROFS/);
    }
  });

  it("names what is missing", () => {
    const fs = open();
    try {
      fs.stat("/dir/nope/x");
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(FsError);
      expect((e as FsError).code).toBe("ENOENT");
      expect((e as FsError).path).toBe("/dir/nope");
    }
    expect(() => fs.ls("/hello.txt/x")).toThrowError(expect.objectContaining({ code: "ENOTDIR" }) as Error);
    expect(() => fs.cat("/dir")).toThrowError(expect.objectContaining({ code: "EISDIR" }) as Error);
  });

  it("mounts through auto-detection and copies out", () => {
    const disk = mountDisk(RawImageForTests.open(image(c), { readOnly: true }));
    expect(disk.table).toBeUndefined();
    expect(disk.fs().type).toBe(c.kind);
    const out = join(tmp.dir, `out-${c.name}`);
    disk.copyOut("/dir", out);
    expect(hostTree(out)).toEqual(hostTree(join(SRC, "dir")));
    expect(statSync(join(out, "nested/small.txt")).mtimeMs).toBe(Math.floor(statSync(join(SRC, "dir/nested/small.txt")).mtimeMs / 1000) * 1000);
  });
});
