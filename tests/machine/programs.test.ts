/**
 * gcc -O2 freestanding programs (sieve, CRC32, SHA-256, quicksort, bignum multiply, 64-bit
 * div/idiv) loaded from their ELF file into the emulator print exactly what the native build prints.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ElfFile, Machine, Vcpu, buildPageTables, domId, gfn } from "../../src/machine";
import { buildWorkloads } from "./helpers";

export function runElfGuest(path: string, patch?: (v: Vcpu, elf: ElfFile) => void): { out: string; v: Vcpu; elf: ElfFile } {
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
    throw new Error(`unexpected exit ${JSON.stringify(x, (_k, val) => (typeof val === "bigint" ? val.toString() : val))}; trace: ${v.trace.recentEvents().map((e) => e.text).join("; ")}`);
  }
  return { out, v, elf };
}

describe("gcc -O2 workloads", () => {
  const { native, emu } = buildWorkloads();
  it("emulated output equals native output", () => {
    const want = execFileSync(native).toString();
    expect(want).toMatch(/^sieve 000000000000198e\n/); // 6542 primes below 65536
    const { out, v } = runElfGuest(emu);
    expect(out).toBe(want);
    expect(v.icount).toBeGreaterThan(1_000_000);
  });
});
