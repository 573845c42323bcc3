/**
 * fs.ext4_10k: list and read every file of a 10,000-file ext4 image (made here with mke2fs -d),
 * through mountDisk on a RawImage, beside `debugfs -R "rdump / DIR"` on the same image, which
 * walks the same directories and reads the same files with e2fsprogs' own library.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mountDisk } from "../src/fs";
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

function ours(img: string): { ms: number; files: number; bytes: number } {
  const t0 = nowMs();
  const dev = RawImage.open(img, { readOnly: true });
  const fs = mountDisk(dev).fs();
  let files = 0;
  let bytes = 0;
  for (const node of fs.tree("/").walk()) {
    if (node.stat.type !== "file") continue;
    bytes += fs.readFile(node.stat.path).length;
    files++;
  }
  dev.close();
  return { ms: nowMs() - t0, files, bytes };
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
        if (first.files < FILES) throw new Error(`read ${first.files} files, expected ${FILES}`);
        const mine: number[] = [];
        const theirs: number[] = [];
        for (let i = 0; i < SAMPLES; i++) {
          mine.push(ours(img).ms);
          theirs.push(debugfsRdump(img, dir));
        }
        return {
          value: median(mine),
          unit: "ms",
          anchor: "debugfs -R 'rdump /' (e2fsprogs, same image)",
          anchor_value: median(theirs),
          note: `${first.files} files, ${(first.bytes / 1048576).toFixed(1)} MiB listed and read; median of ${SAMPLES}; rdump also writes the files to the host`,
        };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  },
];
