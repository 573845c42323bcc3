/**
 * machine.code_write / machine.pt_write: what a guest store costs when it lands on a page the
 * vCPU has compiled code from, beside the code (such stores take the slow path; only blocks whose
 * bytes are written are dropped and recompiled, as in ftrace-style or
 * alternatives patching), and a page-table entry rewrite followed by invlpg (what a kernel does
 * to change a mapping), each beside the same loop without that cost in the same run.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Figure, median, nowMs } from "./harness";
import { Machine, Vcpu, buildPageTables, domId, gfn } from "../src/machine";

const AT = 0x400000, DATA = 0x600000, TOUCHED = 0x700000;
/** Iterations per loop: the cheap loops need many to rise above V8's warm-up and GC noise. */
const ITERS: Record<string, number> = { base_loop: 200_000, code_loop: 3_000, pt_base: 1_000_000, pt_loop: 200_000 };
const SOURCE = `bits 64
org 0x${AT.toString(16)}
base_loop:            ; a call to a function on a page never written, then a plain store
  call f_clean
  mov [rbx], eax
  dec ecx
  jnz base_loop
  hlt
times 0x100 - ($ - $$) db 0x90
code_loop:            ; the same, but the store lands on the called function's page
  call f_code
  mov [rdx], eax
  dec ecx
  jnz code_loop
  hlt
times 0x200 - ($ - $$) db 0x90
pt_base:              ; a plain store, then a load from another page
  mov [rbx], edi
  mov eax, [r8]
  dec ecx
  jnz pt_base
  hlt
times 0x300 - ($ - $$) db 0x90
pt_loop:              ; rewrite that page's PTE (same value), invlpg it, load from it
  mov [rsi], edi
  invlpg [r8]
  mov eax, [r8]
  dec ecx
  jnz pt_loop
  hlt
times 0x1000 - ($ - $$) db 0x90
f_clean: ret
times 0x2000 - ($ - $$) db 0x90
f_code: ret
  dd 0
`;

interface Setup { m: Machine; cr3: number; labels: Map<string, number>; pte: number; pteLo: number }

function setup(): Setup {
  const dir = mkdtempSync(join(tmpdir(), "xenlab-writes-"));
  writeFileSync(join(dir, "w.asm"), SOURCE);
  execFileSync("nasm", ["-f", "bin", "-o", join(dir, "w.bin"), join(dir, "w.asm")]);
  // Each piece sits at a fixed offset (the times directives above).
  const labels = new Map<string, number>([["base_loop", AT], ["code_loop", AT + 0x100], ["pt_base", AT + 0x200], ["pt_loop", AT + 0x300], ["f_code", AT + 0x2000]]);
  const m = new Machine(64);
  const dom = domId(1);
  m.populate(dom, gfn(0), 4096);
  const g = m.guest(dom);
  const { cr3 } = buildPageTables(g, 0x10000, [{ va: 0, gpa: 0, pages: 4096 }]);
  g.write(AT, new Uint8Array(readFileSync(join(dir, "w.bin"))));
  const u32 = (a: number) => new DataView(g.read(a, 4).buffer).getUint32(0, true);
  // The PTE mapping TOUCHED: walk the 4-level tables buildPageTables wrote.
  let table = Number(cr3);
  for (const shift of [39, 30, 21]) table = u32(table + (Math.floor(TOUCHED / 2 ** shift) % 512) * 8) & ~0xfff;
  const pte = table + (Math.floor(TOUCHED / 4096) % 512) * 8;
  return { m, cr3: Number(cr3), labels, pte, pteLo: u32(pte) };
}

/** Microseconds per iteration of the loop at `label` (median of 5 runs after one warm-up). */
function perIteration(s: Setup, label: string): number {
  const samples: number[] = [];
  for (let k = 0; k < 6; k++) {
    const v = new Vcpu(s.m, domId(1), 0, {
      mode: "long64", rip: s.labels.get(label)!, rsp: 0xfff000, cr3: s.cr3,
      regs: { rcx: ITERS[label]!, rbx: DATA, rdx: s.labels.get("f_code")! + 1, rsi: s.pte, rdi: s.pteLo, r8: TOUCHED },
    });
    const t = nowMs();
    const x = v.run(100_000_000);
    const ms = nowMs() - t;
    if (x.kind !== "hlt") throw new Error(`${label} stopped with ${x.kind}`);
    if (k > 0) samples.push((ms * 1000) / ITERS[label]!);
  }
  return median(samples);
}

export const figures: Figure[] = [
  {
    name: "machine.code_write",
    async run() {
      const s = setup();
      const base = perIteration(s, "base_loop"), code = perIteration(s, "code_loop");
      return {
        value: code, unit: "us", anchor: "the same loop storing to a data page", anchor_value: base,
        note: `per iteration (call + store): the store lands on the called function's page beside its code (slow path: page walk, span check; no block dropped); ${s.m.invalidations} invalidations`,
      };
    },
  },
  {
    name: "machine.pt_write",
    async run() {
      const s = setup();
      const base = perIteration(s, "pt_base"), pt = perIteration(s, "pt_loop");
      return {
        value: pt, unit: "us", anchor: "the same loop without the PTE store and invlpg", anchor_value: base,
        note: "per iteration: rewrite a PTE, invlpg, load through the new translation (a page walk)",
      };
    },
  },
];
