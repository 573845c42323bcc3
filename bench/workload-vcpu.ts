/**
 * Runs one workload ELF (bench/workloads/) on the vCPU, as the workloads bench's child process:
 * `node dist/bench/workload-vcpu.js ELF STUB WARM` prints one JSON line. A child per sample makes
 * the cold figure honest: nothing compiled or warmed by an earlier sample is reused.
 *
 * - cold: a fresh Machine in this fresh process, the ELF loaded, one whole run (decode, compile,
 *   V8 warm-up of the generated code and the vCPU itself all included).
 * - reload: a second fresh Machine in the now warm process (what a notebook's second program sees).
 * - warm: the first Machine again, its decode cache kept, `WARM` more runs (steady state).
 */
import { readFileSync } from "node:fs";
import { ElfFile, Machine, Vcpu, buildPageTables, domId, gfn } from "../src/machine";
import { nowMs } from "./harness";

/** Where the syscall stand-in (bench/workloads/syscall-stub.asm) is placed in guest memory. */
export const STUB_AT = 0x8000;
const PAGES = 4096; // 16 MiB identity-mapped: the ELF at 0x400000, the stack below 0xfff000
const STACK_TOP = 0xfff000;

export interface VcpuSample {
  icount: number;
  coldMs: number;
  reloadMs: number;
  warmMs: number[];
  out: string;
}

interface Loaded { m: Machine; entry: number; cr3: number }

/**
 * Writes the Linux process stack the workloads read (rt.h start_c): argc, argv pointers, NULL,
 * with the strings just above them; `prog` alone (argc 1) means one run.
 */
function writeArgs(g: ReturnType<Machine["guest"]>, args: string[]): void {
  const argv = ["prog", ...args];
  let str = STACK_TOP + 8 * (argv.length + 2);
  g.setU32(STACK_TOP, argv.length);
  argv.forEach((a, k) => {
    g.setU32(STACK_TOP + 8 * (k + 1), str);
    g.write(str, new TextEncoder().encode(`${a}\0`));
    str += a.length + 1;
  });
}

export function load(elf: ElfFile, stub: Uint8Array, args: string[] = []): Loaded {
  const m = new Machine(64);
  const dom = domId(1);
  m.populate(dom, gfn(0), PAGES);
  const g = m.guest(dom);
  const { cr3 } = buildPageTables(g, 0x10000, [{ va: 0, gpa: 0, pages: PAGES }]);
  g.write(STUB_AT, stub);
  writeArgs(g, args);
  elf.loadInto(g);
  return { m, entry: Number(elf.entry), cr3: Number(cr3) };
}

/** One whole run from the entry point to the workload's exit(2); returns time, count, output. */
export function runOnce(l: Loaded): { ms: number; icount: number; out: string } {
  const v = new Vcpu(l.m, domId(1), 0, { mode: "long64", rip: l.entry, rsp: STACK_TOP, cr3: l.cr3 });
  v.lstar = STUB_AT;
  v.star = 0x08n << 32n; // syscall keeps the kernel code selector (the stub runs at CPL 0)
  let out = "";
  const t0 = nowMs();
  for (;;) {
    const x = v.run(1_000_000_000);
    if (x.kind === "io" && x.port === 0xe9) { out += String.fromCharCode(x.value); continue; }
    if (x.kind === "hlt") break;
    throw new Error(`workload stopped with ${x.kind} at 0x${x.rip.toString(16)}`);
  }
  return { ms: nowMs() - t0, icount: v.icount, out };
}

export function sample(elfPath: string, stubPath: string, warm: number): VcpuSample {
  const elf = new ElfFile(new Uint8Array(readFileSync(elfPath)));
  const stub = new Uint8Array(readFileSync(stubPath));
  const a = load(elf, stub);
  const cold = runOnce(a);
  const reload = runOnce(load(elf, stub));
  const warmMs: number[] = [];
  for (let k = 0; k < warm; k++) {
    const r = runOnce(a);
    if (r.out !== cold.out || r.icount !== cold.icount) throw new Error("a warm run differs from the cold run");
    warmMs.push(r.ms);
  }
  return { icount: cold.icount, coldMs: cold.ms, reloadMs: reload.ms, warmMs, out: cold.out };
}

if (require.main === module) {
  const [elfPath, stubPath, warm] = process.argv.slice(2);
  if (!elfPath || !stubPath) throw new Error("usage: workload-vcpu ELF STUB [WARM]");
  process.stdout.write(JSON.stringify(sample(elfPath, stubPath, Number(warm ?? 3))) + "\n");
}
