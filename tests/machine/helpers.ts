/** Shared test setup: a long-mode guest with identity-mapped memory, and nasm/gcc runners. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { Machine, Vcpu, buildPageTables, domId, gfn } from "../../src/machine";

export const TMP = mkdtempSync(join(tmpdir(), "xenlab-machine-"));

/**
 * Assembles NASM source to flat binary with the real nasm. `includeDirs`: where `%include` looks
 * (the source itself is written to a scratch folder).
 */
export function nasm(src: string, bits: 16 | 32 | 64 = 64, org = 0, includeDirs: string[] = []): Uint8Array {
  const f = join(TMP, `a${Math.random().toString(36).slice(2)}.asm`);
  writeFileSync(f, `bits ${bits}\norg ${org}\n${src}\n`);
  execFileSync("nasm", ["-f", "bin", ...includeDirs.map((d) => `-I${d}/`), "-o", `${f}.bin`, f]);
  return new Uint8Array(readFileSync(`${f}.bin`));
}

/**
 * Differential-test code slots: each snippet (a list of instructions) assembled into 32 bytes,
 * [length][instructions][nop padding], with unique labels per slot.
 */
export function assembleSlots(snippets: string[][], slot = 32): Uint8Array {
  const src = snippets.map((insns, i) =>
    [`db e${i} - b${i}`, `b${i}:`, ...insns.map((x) => `  ${x}`), `e${i}: times ${slot - 1} - (e${i} - b${i}) db 0x90`].join("\n"));
  return nasm(src.join("\n"), 64, 0);
}

/**
 * A differential case's integer state into the vCPU, as the native runner loads it before the
 * snippet: the 16 GPRs (as 32-bit halves), RSP at the runner's stack, R15 at the memory operand
 * area, RFLAGS.
 */
export function loadCaseGprs(v: Vcpu, input: { regs: readonly bigint[]; flags: number }, memAt: number): void {
  for (let i = 0; i < 16; i++) {
    v.R[i] = Number(input.regs[i]! & 0xffffffffn) | 0;
    v.H[i] = Number(input.regs[i]! >> 32n) | 0;
  }
  v.setReg("rsp", 0x7ff000);
  v.setReg("r15", memAt);
  v.setFlags(input.flags);
}

/**
 * The emulator side of a differential test: an 8 MiB identity-mapped long-mode guest with every
 * slot's snippet at codeAt + 32·i followed by hlt (so a snippet compiles as one block).
 */
export function slotGuest(slots: Uint8Array, codeAt: number, slot = 32): { g: ReturnType<Machine["guest"]>; v: Vcpu } {
  const m = new Machine(32);
  const dom = domId(1);
  m.populate(dom, gfn(0), 2048);
  const g = m.guest(dom);
  const { cr3 } = buildPageTables(g, 0x10000, [{ va: 0, gpa: 0, pages: 2048 }]);
  for (let f = 0; f * slot < slots.length; f++) {
    const s = slots.subarray(f * slot, f * slot + slot);
    g.write(codeAt + f * slot, s.subarray(1, 1 + s[0]!));
    g.write(codeAt + f * slot + s[0]!, new Uint8Array(slot - s[0]!).fill(0xf4)); // hlt after
  }
  const v = new Vcpu(m, dom, 0, { mode: "long64", rip: codeAt, rsp: 0x7ff000, cr3 });
  return { g, v };
}

export interface Guest {
  m: Machine;
  v: Vcpu;
}

/**
 * 16 MiB guest, first 8 MiB identity-mapped with 4 KiB pages (tables at 0x10000), code at
 * `codeAt`, stack top at 0x7ff000.
 */
export function longModeGuest(code: Uint8Array, codeAt = 0x400000, mib = 16): Guest {
  const m = new Machine(64);
  const dom = domId(1);
  m.populate(dom, gfn(0), (mib * 1024 * 1024) / 4096);
  const g = m.guest(dom);
  const { cr3 } = buildPageTables(g, 0x10000, [{ va: 0, gpa: 0, pages: 2048 }]);
  g.write(codeAt, code);
  const v = new Vcpu(m, dom, 0, { mode: "long64", rip: codeAt, rsp: 0x7ff000, cr3 });
  return { m, v };
}

/**
 * Builds a program of tests/machine/programs (workloads.c unless named) natively and for the
 * emulator; returns both paths. `sse`: let gcc use SSE (the x86-64 default) instead of -mno-sse.
 */
export function buildWorkloads(opt: string[] = ["-O2"], sse = false, program = "workloads"): { native: string; emu: string } {
  const src = join(__dirname, "programs", `${program}.c`);
  const flags = [...opt, "-ffreestanding", "-nostdlib", ...(sse ? [] : ["-mno-sse"]), "-mno-red-zone", "-static", "-no-pie", "-fno-pic"];
  const tag = program + (sse ? "sse" : "") + opt.join("").replace(/[^A-Za-z0-9]/g, "_");
  const native = join(TMP, `workloads-native${tag}`);
  const emu = join(TMP, `workloads-emu${tag}`);
  execFileSync("gcc", [...flags, "-DNATIVE", "-o", native, src]);
  execFileSync("gcc", [...flags, "-DEMU", "-o", emu, src]);
  return { native, emu };
}

import { ElfFile, Exit, GuestPhysical, Mapping, writeIdtGate, writeStandardGdt } from "../../src/machine";

/** Assembles 64-bit NASM to an ELF object; returns .text bytes and label offsets (via our ELF reader). */
export function nasmObject(src: string): { code: Uint8Array; labels: Map<string, number> } {
  const f = join(TMP, `o${Math.random().toString(36).slice(2)}.asm`);
  writeFileSync(f, `bits 64\ndefault rel\nsection .text\n${src}\n`);
  execFileSync("nasm", ["-f", "elf64", "-o", `${f}.o`, f]);
  const elf = new ElfFile(new Uint8Array(readFileSync(`${f}.o`)));
  const text = elf.sections.find((s) => s.name === ".text")!;
  const labels = new Map<string, number>();
  const textIndex = elf.sections.indexOf(text);
  for (const s of elf.symbols) if (s.name && s.shndx === textIndex) labels.set(s.name, Number(s.value));
  return { code: elf.bytes.subarray(text.offset, text.offset + text.size), labels };
}

export const GDT_AT = 0x1000, IDT_AT = 0x2000, TSS_AT = 0x3000, CODE_AT = 0x400000;

export interface SysGuest extends Guest {
  g: GuestPhysical;
  at(label: string): number;
}

/**
 * A long-mode kernel-ish guest: identity map of 8 MiB (supervisor, RW) plus `extra` mappings,
 * a GDT (boot.ts layout), an IDT whose vectors named `vec_N` in the source point at those labels,
 * a TSS with RSP0 = 0x7f0000, code at CODE_AT starting at label `start`.
 */
export function sysGuest(src: string, extra: Mapping[] = []): SysGuest {
  const { code, labels } = nasmObject(src);
  const m = new Machine(64);
  const dom = domId(1);
  m.populate(dom, gfn(0), 4096);
  const g = m.guest(dom);
  const { cr3 } = buildPageTables(g, 0x10000, [{ va: 0, gpa: 0, pages: 2048 }, ...extra]);
  g.write(CODE_AT, code);
  const gdt = writeStandardGdt(g, GDT_AT);
  // 64-bit TSS descriptor at 0x38 (16 bytes, type 9 = available TSS)
  const tssDesc = 0x67n | (BigInt(TSS_AT & 0xffffff) << 16n) | (0x89n << 40n) | (BigInt(TSS_AT >>> 24) << 56n);
  g.setU64(GDT_AT + 0x38, tssDesc);
  g.setU64(GDT_AT + 0x40, 0n);
  g.setU64(TSS_AT + 4, 0x7f0000n); // RSP0
  g.setU64(TSS_AT + 36, 0x7e0000n); // IST1
  const at = (l: string) => {
    const v = labels.get(l);
    if (v === undefined) throw new Error(`no label ${l}`);
    return CODE_AT + v;
  };
  for (const [name, off] of labels) {
    const mm = /^vec_(\d+)$/.exec(name);
    if (mm) writeIdtGate(g, IDT_AT, Number(mm[1]), CODE_AT + off, { dpl: 3 });
  }
  const v = new Vcpu(m, dom, 0, { mode: "long64", rip: at("start"), rsp: 0x7ff000, cr3 });
  v.gdtrBase = gdt.base; v.gdtrLimit = gdt.limit + 16;
  v.idtrBase = IDT_AT; v.idtrLimit = 256 * 16 - 1;
  v.ltr(0x38);
  return { m, v, g, at };
}

/** Loads an ELF into a 16 MiB identity-mapped long-mode guest and runs it to hlt, collecting port 0xE9 output. */
export function runElfGuest(path: string, patch?: (v: Vcpu, elf: ElfFile) => void, onExit?: (x: Exit, v: Vcpu) => boolean): { out: string; v: Vcpu; elf: ElfFile } {
  const elf = new ElfFile(new Uint8Array(readFileSync(path)));
  const m = new Machine(64);
  const dom = domId(1);
  m.populate(dom, gfn(0), 4096);
  const g = m.guest(dom);
  const { cr3 } = buildPageTables(g, 0x10000, [{ va: 0, gpa: 0, pages: 4096 }]);
  elf.loadInto(g);
  const v = new Vcpu(m, dom, 0, { mode: "long64", rip: elf.entry, rsp: 0xfff000, cr3 });
  for (const [k, a] of elf.symbolMap()) v.symbols.set(k, Number(a));
  patch?.(v, elf);
  let out = "";
  for (;;) {
    const x = v.run(50_000_000);
    if (x.kind === "io" && x.direction === "out" && x.port === 0xe9) { out += String.fromCharCode(x.value); continue; }
    if (x.kind === "hlt") break;
    if (onExit?.(x, v)) continue;
    throw new Error(`unexpected exit ${JSON.stringify(x, (_k, val) => (typeof val === "bigint" ? val.toString() : val))}; trace: ${v.trace.recentEvents().map((e) => e.text).join("; ")}`);
  }
  return { out, v, elf };
}


/** Builds a native runner of tests/machine/native (an assembly part and a C part) into TMP. */
export function buildNativeRunner(name: string, asm: string, c: string): string {
  const dir = join(__dirname, "native");
  const out = join(TMP, name);
  execFileSync("nasm", ["-f", "elf64", "-i", `${dir}/`, "-o", `${out}.o`, join(dir, asm)]);
  execFileSync("gcc", ["-O2", "-o", out, join(dir, c), `${out}.o`]);
  return out;
}

/** Runs the vCPU and expects an exit of `kind` (the message shows the exit and the recent trace). */
export function runTo(v: Vcpu, kind: string, budget = 100_000): Exit {
  const x = v.run(budget);
  expect(x.kind, JSON.stringify(x, (_k, val) => (typeof val === "bigint" ? val.toString() : val)) + " " + v.trace.recentEvents().map((e) => e.text).join("; ")).toBe(kind);
  return x;
}
