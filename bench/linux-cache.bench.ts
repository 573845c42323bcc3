/**
 * What the compiled-code cache (src/machine/code-cache.ts) does for Debian's kernel booting to
 * /init on the Xen host, each beside QEMU TCG booting the same vmlinux and initrd in the same
 * sample (as linux.bench.ts). Each sample is:
 *  1. QEMU's boot (the anchor);
 *  2. a fresh node process booting twice: the first boot is cold (nothing compiled yet), the
 *     second is a fresh XenHost in the same process, whose blocks come from the shared cache
 *     (the same function objects, so V8's optimized code carries over); the process then saves
 *     the cache file into the artifacts directory;
 *  3. another fresh process that loads that file and boots once: no decode or emit, but V8
 *     compiles and warms every block function again.
 * Figures: linux.xen_boot_cold_s (1 vs 2a), linux.xen_second_boot_s (2b), linux.xen_boot_cache_file_s (3).
 * The note of each gives the blocks compiled and reused, and the cold boot's time in the sample.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { ARTIFACTS } from "../src/guests/debian-linux";
import { INIT_FIRST_LINE, linuxGuest } from "../tests/support/linux-guest";
import { qemuPvhBoot } from "../tests/support/qemu-pvh";
import { Figure, FigureResult, median } from "./harness";
import type { ChildBoot, ChildResult } from "./linux-boot-child";

const SAMPLES = Number(process.env.XENLAB_BENCH_LINUX_SAMPLES ?? 2);
const CACHE_FILE = join(ARTIFACTS, "..", "code-cache", "debian-boot.jsonl");

interface Sample { qemuS: number; cold: ChildBoot; second: ChildBoot; fromFile: ChildBoot; fileMiB: number; loadS: number }

function child(args: string[]): ChildResult {
  const out = execFileSync(process.execPath, [join(__dirname, "linux-boot-child.js"), ...args], { maxBuffer: 1 << 26 }).toString();
  return JSON.parse(out.trim().split("\n").pop()!) as ChildResult;
}

let cached: Promise<Sample[]> | undefined;
function samples(): Promise<Sample[]> {
  cached ??= (async () => {
    const g = linuxGuest();
    mkdirSync(join(CACHE_FILE, ".."), { recursive: true });
    const out: Sample[] = [];
    for (let k = 0; k < SAMPLES; k++) {
      const q = await qemuPvhBoot({ vmlinux: g.vmlinux, initrd: g.initrd, cpus: 1, memoryMiB: 256, firstLine: INIT_FIRST_LINE, timeoutMs: 120_000 });
      rmSync(CACHE_FILE, { force: true });
      const a = child(["2", "--save", CACHE_FILE]);
      const b = child(["1", "--load", CACHE_FILE]);
      out.push({ qemuS: q.firstLineMs / 1000, cold: a.boots[0]!, second: a.boots[1]!, fromFile: b.boots[0]!, fileMiB: statSync(CACHE_FILE).size / 2 ** 20, loadS: b.loadS });
    }
    return out;
  })();
  return cached;
}

function figure(name: string, pick: (s: Sample) => ChildBoot, what: string, extra: (s: Sample[]) => string = () => ""): Figure {
  return {
    name,
    async run(): Promise<FigureResult> {
      const s = await samples();
      const secs = s.map((x) => pick(x).s), cold = s.map((x) => x.cold.s);
      const b = pick(s[0]!);
      return {
        value: median(secs), unit: "s", anchor: "QEMU 7.2 TCG, same vmlinux + initrd via PVH entry, same sample", anchor_value: median(s.map((x) => x.qemuS)),
        samples: secs, anchor_samples: s.map((x) => x.qemuS),
        note: `${what}; ${b.compiled} blocks compiled, ${b.reused} reused from the code cache; CPU ${median(s.map((x) => pick(x).cpuS)).toFixed(1)} s; cold boot in the same samples ${median(cold).toFixed(1)} s (${(median(s.map((x) => pick(x).s / x.cold.s))).toFixed(2)}× of it)${extra(s)}`,
      };
    },
  };
}

export const figures: Figure[] = [
  figure("linux.xen_boot_cold_s", (x) => x.cold, "fresh process, empty code cache"),
  figure("linux.xen_second_boot_s", (x) => x.second, "a second XenHost in the same process (shared code cache)"),
  figure("linux.xen_boot_cache_file_s", (x) => x.fromFile, "fresh process, code cache loaded from the file",
    (s) => `; file ${median(s.map((x) => x.fileMiB)).toFixed(0)} MiB, loaded in ${median(s.map((x) => x.loadS)).toFixed(2)} s`),
];
