/** Shared test setup: a long-mode guest with identity-mapped memory, and nasm/gcc runners. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Machine, Vcpu, buildPageTables, domId, gfn } from "../../src/machine";

export const TMP = mkdtempSync(join(tmpdir(), "xenlab-machine-"));

/** Assembles NASM source to flat binary with the real nasm. */
export function nasm(src: string, bits: 16 | 32 | 64 = 64, org = 0): Uint8Array {
  const f = join(TMP, `a${Math.random().toString(36).slice(2)}.asm`);
  writeFileSync(f, `bits ${bits}\norg ${org}\n${src}\n`);
  execFileSync("nasm", ["-f", "bin", "-o", `${f}.bin`, f]);
  return new Uint8Array(readFileSync(`${f}.bin`));
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

/** Builds tests/machine/programs/workloads.c natively and for the emulator; returns both paths. */
export function buildWorkloads(): { native: string; emu: string } {
  const src = join(__dirname, "programs", "workloads.c");
  const flags = ["-O2", "-ffreestanding", "-nostdlib", "-mno-sse", "-mno-red-zone", "-static", "-no-pie", "-fno-pic"];
  const native = join(TMP, "workloads-native");
  const emu = join(TMP, "workloads-emu");
  execFileSync("gcc", [...flags, "-DNATIVE", "-o", native, src]);
  execFileSync("gcc", [...flags, "-DEMU", "-o", emu, src]);
  return { native, emu };
}
