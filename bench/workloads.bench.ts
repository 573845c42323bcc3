/**
 * workloads.*: MIPS of gcc -O2 programs of different character (bench/workloads/*.c: branchy,
 * multiply-heavy, memory-bound, call-heavy, compression, hash table, bytecode VM, PRNG, string
 * search), the SAME static ELF run three ways in one bench run: on our vCPU, natively on the host
 * CPU, and under QEMU's user-mode TCG (`qemu-x86_64`, Debian's qemu-user).
 *
 * The instruction count of one run is measured once, by the vCPU (it retires every instruction),
 * and gives MIPS for all three. Output is checked: the vCPU must print what the native run prints.
 *
 * - vCPU cold: a fresh process, a fresh Machine, the ELF loaded and run once (workload-vcpu.ts);
 *   reload: a second fresh Machine in that warm process; warm: the first Machine rerun, decode
 *   cache kept. One child process per sample.
 * - native and qemu cold: the whole process for one run (exec and, for qemu, translation included);
 *   warm: the slope between `prog 1` and `prog K` (start-up and first translation removed).
 *
 * The figure is the vCPU's cold MIPS (the one that matters for real code, which runs most of its
 * instructions few times), anchored on qemu-x86_64's cold MIPS of the same binary in the same run.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Figure, FigureResult, median, nowMs, summary, textTable } from "./harness";
import type { VcpuSample } from "./workload-vcpu";

const SRC = join(__dirname, "..", "..", "bench", "workloads");
/** No SSE: the vCPU's SSE family is another issue's; -fno-stack-protector: no TLS is set up. */
const CFLAGS = ["-O2", "-ffreestanding", "-nostdlib", "-static", "-no-pie", "-fno-pic", "-mno-sse", "-fno-stack-protector"];
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 5);
const WARM = 2;
/** Runs per process for the warm slopes: long enough to dwarf start-up natively and under qemu. */
const K_NATIVE = 40, K_QEMU = 8;

export const WORKLOADS = readdirSync(SRC).filter((f) => f.endsWith(".c")).map((f) => f.slice(0, -2)).sort();

interface Built { dir: string; stub: string; elf: (name: string) => string }
let built: Built | undefined;
function build(): Built {
  if (built) return built;
  const dir = mkdtempSync(join(tmpdir(), "xenlab-workloads-"));
  for (const w of WORKLOADS) execFileSync("gcc", [...CFLAGS, "-o", join(dir, w), join(SRC, `${w}.c`)]);
  const stub = join(dir, "syscall-stub.bin");
  execFileSync("nasm", ["-f", "bin", "-o", stub, join(SRC, "syscall-stub.asm")]);
  built = { dir, stub, elf: (name) => join(dir, name) };
  return built;
}

function qemu(): string {
  for (const p of ["/usr/bin/qemu-x86_64", "/usr/bin/qemu-x86_64-static"]) if (existsSync(p)) return p;
  throw new Error("qemu-x86_64 not found: install Debian's qemu-user (scripts/install-test-peers.sh)");
}

interface Measured {
  name: string;
  icount: number;
  /** MIPS samples, paired by index. */
  vcpuCold: number[]; vcpuReload: number[]; vcpuWarm: number[];
  nativeCold: number[]; nativeWarm: number[];
  qemuCold: number[]; qemuWarm: number[];
}

function timed(cmd: string, args: string[]): { ms: number; out: string } {
  const t = nowMs();
  const out = execFileSync(cmd, args).toString();
  return { ms: nowMs() - t, out };
}

const cache = new Map<string, Measured>();
function measure(name: string): Measured {
  const hit = cache.get(name);
  if (hit) return hit;
  const b = build();
  const elf = b.elf(name);
  const child = join(__dirname, "workload-vcpu.js");
  const want = execFileSync(elf).toString();
  const q = qemu();
  const m: Measured = { name, icount: 0, vcpuCold: [], vcpuReload: [], vcpuWarm: [], nativeCold: [], nativeWarm: [], qemuCold: [], qemuWarm: [] };
  const mips = (instr: number, ms: number) => instr / (ms / 1000) / 1e6;
  for (let k = 0; k < SAMPLES; k++) {
    // The three are interleaved per sample so a load change on the host hits all of them alike.
    const s = JSON.parse(execFileSync(process.execPath, [child, elf, b.stub, String(WARM)]).toString()) as VcpuSample;
    if (s.out !== want) throw new Error(`${name}: the vCPU printed ${JSON.stringify(s.out)}, natively ${JSON.stringify(want)}`);
    m.icount = s.icount;
    m.vcpuCold.push(mips(s.icount, s.coldMs));
    m.vcpuReload.push(mips(s.icount, s.reloadMs));
    m.vcpuWarm.push(mips(s.icount, median(s.warmMs)));
    const n1 = timed(elf, []), nK = timed(elf, [String(K_NATIVE)]);
    if (nK.out !== want) throw new Error(`${name}: ${K_NATIVE} native runs printed ${nK.out}`);
    m.nativeCold.push(mips(s.icount, n1.ms));
    m.nativeWarm.push(mips(s.icount * (K_NATIVE - 1), nK.ms - n1.ms));
    const q1 = timed(q, [elf]), qK = timed(q, [elf, String(K_QEMU)]);
    if (q1.out !== want || qK.out !== want) throw new Error(`${name}: qemu-x86_64 printed ${q1.out}`);
    m.qemuCold.push(mips(s.icount, q1.ms));
    m.qemuWarm.push(mips(s.icount * (K_QEMU - 1), qK.ms - q1.ms));
  }
  cache.set(name, m);
  return m;
}

function detail(all: Measured[]): string {
  const header = ["workload", "M instr", "vCPU cold", "vCPU reload", "vCPU warm", "qemu cold", "qemu warm", "native cold", "native warm", "cold vCPU/qemu", "warm vCPU/qemu"];
  const ratio = (a: number[], b: number[]) => summary(a.map((x, k) => x / b[k]!));
  const body = all.map((m) => [
    m.name, (m.icount / 1e6).toFixed(1), summary(m.vcpuCold), summary(m.vcpuReload), summary(m.vcpuWarm),
    summary(m.qemuCold), summary(m.qemuWarm), summary(m.nativeCold), summary(m.nativeWarm),
    ratio(m.vcpuCold, m.qemuCold), ratio(m.vcpuWarm, m.qemuWarm),
  ]);
  return `workloads (MIPS, median [min–max] of ${SAMPLES} samples; cold = a whole run from a fresh load; the vCPU's cold excludes node's own start-up, native/qemu cold include exec):\n` +
    textTable(header, body);
}

export const figures: Figure[] = [
  ...WORKLOADS.map((name): Figure => ({
    name: `workloads.${name}`,
    async run(): Promise<FigureResult> {
      const m = measure(name);
      return {
        value: median(m.vcpuCold), unit: "MIPS", anchor: "qemu-x86_64 (TCG), same ELF, whole run", anchor_value: median(m.qemuCold),
        samples: m.vcpuCold, anchor_samples: m.qemuCold,
        note: `${(m.icount / 1e6).toFixed(1)} M instr; warm ${summary(m.vcpuWarm)} vs qemu warm ${summary(m.qemuWarm)}; native warm ${summary(m.nativeWarm)}`,
      };
    },
  })),
  {
    name: "workloads.median",
    async run(): Promise<FigureResult> {
      const all = WORKLOADS.map(measure);
      // Per sample k: the median over the programs, so the spread is over samples.
      const per = (pick: (m: Measured) => number[]) => all[0]!.vcpuCold.map((_, k) => median(all.map((m) => pick(m)[k]!)));
      const cold = per((m) => m.vcpuCold), qcold = per((m) => m.qemuCold);
      const worst = all.map((m) => [m.name, median(m.vcpuCold)] as const).sort((a, b) => a[1] - b[1])[0]!;
      return {
        value: median(cold), unit: "MIPS", anchor: "qemu-x86_64 median over the same programs", anchor_value: median(qcold),
        samples: cold, anchor_samples: qcold, detail: detail(all),
        note: `median over ${all.length} programs of the cold MIPS; slowest ${worst[0]} ${worst[1].toFixed(1)}; warm median ${summary(per((m) => m.vcpuWarm))}; goal: median >= 300, none below 150`,
      };
    },
  },
];
