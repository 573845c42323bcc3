/**
 * fs.ext4_10k: list and read every file of a 10,000-file ext4 image (made here with mke2fs -d),
 * through mountDisk on a RawImage, beside e2fsprogs' debugfs doing the same work on the same
 * image: one command file with `ls -l` of every directory and `cat` of every file (output to
 * /dev/null). `debugfs -R "rdump /"` (which also writes the files out) is reported in the note.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FatFileSystem, mountDisk } from "../src/fs";
import { RawImage } from "../src/vhd/raw-image";
import { Figure, median, nowMs } from "./harness";

const FILES = 10_000;
const DIRS = 100;
const SAMPLES = 5;
const ENV = { ...process.env, PATH: `${process.env.PATH ?? ""}:/usr/sbin:/sbin` };

function buildImage(dir: string): string {
  const src = join(dir, "src");
  for (let d = 0; d < DIRS; d++) {
    const sub = join(src, `dir${String(d).padStart(3, "0")}`);
    mkdirSync(sub, { recursive: true });
    for (let f = 0; f < FILES / DIRS; f++) {
      const n = d * (FILES / DIRS) + f;
      // sizes from 0 to ~6 KiB: most files one or two blocks, like a source tree
      writeFileSync(join(sub, `file-${n}.txt`), Buffer.alloc((n * 613) % 6144, 65 + (n % 26)));
    }
  }
  const img = join(dir, "ext4-10k.img");
  writeFileSync(img, "");
  execFileSync("truncate", ["-s", "256M", img]);
  execFileSync("mke2fs", ["-q", "-F", "-t", "ext4", "-d", src, img], { env: ENV });
  return img;
}

function ours(img: string): { ms: number; files: string[]; dirs: string[]; bytes: number } {
  const t0 = nowMs();
  const dev = RawImage.open(img, { readOnly: true });
  const fs = mountDisk(dev).fs();
  const files: string[] = [];
  const dirs: string[] = [];
  let bytes = 0;
  for (const node of fs.tree("/").walk()) {
    if (node.stat.type === "dir") dirs.push(node.stat.path);
    if (node.stat.type !== "file") continue;
    bytes += fs.readFile(node.stat.path).length;
    files.push(node.stat.path);
  }
  dev.close();
  return { ms: nowMs() - t0, files, dirs, bytes };
}

/** The same listing and reading through debugfs: one process, one command per directory/file. */
function debugfsScript(img: string, dir: string, paths: { dirs: string[]; files: string[] }): number {
  const cmds = join(dir, "debugfs-cmds");
  writeFileSync(cmds, [...paths.dirs.map((d) => `ls -l ${d}`), ...paths.files.map((f) => `cat ${f}`)].join("\n") + "\n");
  const t0 = nowMs();
  execFileSync("sh", ["-c", `debugfs -f ${cmds} ${img} > /dev/null 2>&1`], { env: ENV });
  return nowMs() - t0;
}

function debugfsRdump(img: string, dir: string): number {
  const out = join(dir, `rdump-${Math.random().toString(36).slice(2)}`);
  mkdirSync(out);
  const t0 = nowMs();
  execFileSync("debugfs", ["-R", `rdump / ${out}`, img], { env: ENV, stdio: "ignore" });
  const ms = nowMs() - t0;
  rmSync(out, { recursive: true, force: true });
  return ms;
}

export const figures: Figure[] = [
  {
    name: "fs.ext4_10k",
    async run() {
      const dir = mkdtempSync(join(tmpdir(), "xenlab-bench-fs-"));
      try {
        const img = buildImage(dir);
        const first = ours(img); // warm-up (and a check that we saw every file)
        if (first.files.length !== FILES) throw new Error(`read ${first.files.length} files, expected ${FILES}`);
        const mine: number[] = [];
        const theirs: number[] = [];
        const rdump: number[] = [];
        for (let i = 0; i < SAMPLES; i++) {
          mine.push(ours(img).ms);
          theirs.push(debugfsScript(img, dir, first));
          rdump.push(debugfsRdump(img, dir));
        }
        return {
          value: median(mine),
          unit: "ms",
          anchor: "debugfs -f (ls -l each dir, cat each file), same image",
          anchor_value: median(theirs),
          note: `${first.files.length} files in ${first.dirs.length} dirs, ${(first.bytes / 1048576).toFixed(1)} MiB listed and read; median of ${SAMPLES}; debugfs rdump / (also writes the files): ${median(rdump).toFixed(0)} ms`,
        };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  },
  {
    // fs.fat32_copyin: copy a 1,000-file tree (20 directories, ~12 MiB) into a fresh FAT32 image
    // with copyIn, beside mtools' mcopy -s doing the same into an identical fresh image.
    name: "fs.fat32_copyin",
    async run() {
      const dir = mkdtempSync(join(tmpdir(), "xenlab-bench-fat-"));
      try {
        const src = join(dir, "src");
        for (let d = 0; d < 20; d++) {
          const sub = join(src, `Directory ${d}`);
          mkdirSync(sub, { recursive: true });
          for (let f = 0; f < 50; f++) {
            const n = d * 50 + f;
            writeFileSync(join(sub, `A long file name number ${n}.dat`), Buffer.alloc((n * 977) % 24576, n & 0xff));
          }
        }
        const fresh = (name: string) => {
          const img = join(dir, name);
          writeFileSync(img, "");
          execFileSync("truncate", ["-s", "64M", img]);
          execFileSync("mkfs.vfat", ["-F", "32", "-s", "1", img], { env: ENV, stdio: "ignore" });
          return img;
        };
        const mine: number[] = [];
        const theirs: number[] = [];
        for (let i = 0; i < 3; i++) {
          const a = fresh(`ours-${i}.img`);
          const t0 = nowMs();
          const dev = RawImage.open(a);
          const files = FatFileSystem.open(dev).copyIn(src, "/");
          dev.close();
          mine.push(nowMs() - t0);
          if (files !== 1000) throw new Error(`copied ${files} files`);
          const b = fresh(`mtools-${i}.img`);
          const dirs = Array.from({ length: 20 }, (_, d) => join(src, `Directory ${d}`));
          const t1 = nowMs();
          execFileSync("mcopy", ["-s", "-i", b, ...dirs, "::/"], { env: { ...ENV, MTOOLS_SKIP_CHECK: "1" } });
          execFileSync("sync", [b]); // mcopy does not fsync; copyIn ends with one flush (fsync)
          theirs.push(nowMs() - t1);
        }
        return {
          value: median(mine),
          unit: "ms",
          anchor: "mcopy -s (mtools) + sync FILE, same tree, fresh image",
          anchor_value: median(theirs),
          note: "1000 files in 20 directories, long names; median of 3; both end with one fsync of the image",
        };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  },
];
