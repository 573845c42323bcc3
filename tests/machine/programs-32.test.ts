/**
 * gcc -m32 freestanding programs (tests/machine/programs/ia32.c: integer work, 64-bit arithmetic
 * through libgcc, string instructions, and float work in x87 or SSE2 code) run in 32-bit
 * protected mode on the vCPU under 32-bit paging (4 KiB and 4 MiB pages) and PAE paging (4 KiB
 * and 2 MiB pages, XD on every page of the ELF's non-executable segments and on the stack, with
 * EFER.NXE), and print exactly what the same source prints as a Linux i386 program.
 *
 * The oracle is the host CPU running the i386 build when the host kernel runs i386 programs
 * (IA32_EMULATION); where it does not (this repository's development VM runs no 32-bit code at
 * all: no compat-mode syscalls, no 32-bit code segment in its GDT or LDT), QEMU's user-mode TCG
 * (qemu-i386, an exact software x86 with a softfloat x87) runs the same i386 binary.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ElfFile, PT_LOAD } from "../../src/machine";
import { TMP } from "./helpers";
import { runIa32 } from "../support/ia32-guest";

const SRC = join(__dirname, "programs", "ia32.c");
const LOAD_AT = 0x400000;

function build(opt: string[], tag: string): { native: string; emu: string } {
  const flags = ["-m32", ...opt, "-ffreestanding", "-nostdlib", "-static", "-no-pie", "-fno-pic", "-fno-stack-protector",
    "-fno-math-errno", `-Wl,-Ttext-segment=0x${LOAD_AT.toString(16)}`];
  const native = join(TMP, `ia32-native-${tag}`), emu = join(TMP, `ia32-emu-${tag}`);
  // libgcc supplies the 64-bit division and float/u64 conversions a 32-bit target calls.
  execFileSync("gcc", [...flags, "-DNATIVE", "-o", native, SRC, "-lgcc"]);
  execFileSync("gcc", [...flags, "-DEMU", "-o", emu, SRC, "-lgcc"]);
  return { native, emu };
}

/**
 * How this host runs an i386 Linux program: itself, or qemu-i386 when its kernel has no i386 ABI
 * (exec fails with ENOEXEC, and execvp then hands the file to /bin/sh, which fails on it).
 */
function runI386(path: string): { out: string; by: string } {
  let why: string;
  try {
    return { out: execFileSync(path, { stdio: ["ignore", "pipe", "pipe"] }).toString(), by: "the host CPU" };
  } catch (e) {
    why = String((e as { stderr?: Buffer }).stderr ?? e).split("\n")[0]!;
  }
  if (!existsSync("/usr/bin/qemu-i386")) throw new Error(`this host does not run i386 programs (${why}) and qemu-i386 (Debian qemu-user) is missing`);
  return { out: execFileSync("/usr/bin/qemu-i386", [path]).toString(), by: `qemu-i386 (natively: ${why})` };
}

const BUILDS: { name: string; opt: string[]; fp: "x87" | "sse2" }[] = [
  { name: "-O0, x87", opt: ["-O0", "-mfpmath=387"], fp: "x87" },
  { name: "-O2, x87", opt: ["-O2", "-mfpmath=387"], fp: "x87" },
  { name: "-O0 -msse2 -mfpmath=sse", opt: ["-O0", "-msse2", "-mfpmath=sse"], fp: "sse2" },
  { name: "-O2 -msse2 -mfpmath=sse", opt: ["-O2", "-msse2", "-mfpmath=sse"], fp: "sse2" },
];

describe("gcc -m32 programs in 32-bit protected mode with paging", () => {
  for (const b of BUILDS) {
    const tag = b.name.replace(/[^A-Za-z0-9]/g, "_");
    for (const paging of ["32-bit", "PAE"] as const) {
      it(`ia32.c at ${b.name} under ${paging} paging prints what the i386 build prints natively`, () => {
        const { native, emu } = build(b.opt, tag);
        const code = execFileSync("objdump", ["-d", emu]).toString();
        if (b.fp === "x87") {
          expect(code).toMatch(/\tfdivr?[lp]? /); // double arithmetic on the x87
          expect(code).not.toMatch(/%xmm/);
        } else {
          expect(code).toMatch(/\tdivsd /);
          expect(code).toMatch(/\tsqrtsd /);
        }
        expect(code).toMatch(/<__udivdi3>:/); // libgcc's 64-bit division is in the build
        const want = runI386(native);
        expect(want.out).toMatch(/^sieve 00000000000008d6\n/); // 2262 primes below 20000
        expect(want.out).toMatch(/\nharmonic200 [0-9a-f]{20} /);
        const got = runIa32(emu, paging);
        expect(got.out, `oracle: ${want.by}`).toBe(want.out);
        expect(got.v.paging).toBe(true);
        expect(got.v.cr4 & (paging === "PAE" ? 0x20 : 0x10)).not.toBe(0);
      });
    }
  }
});

describe("ElfFile reads ELFCLASS32", () => {
  it("entry, program headers and symbols of an i386 build are what readelf reports", () => {
    const { emu } = build(["-O2"], "readelf");
    const elf = new ElfFile(new Uint8Array(readFileSync(emu)));
    expect(elf.elfClass).toBe(32);
    expect(elf.machine).toBe(3); // EM_386
    const header = execFileSync("readelf", ["-hW", emu]).toString();
    expect(`0x${elf.entry.toString(16)}`).toBe(/Entry point address:\s+(\S+)/.exec(header)![1]);
    const loads = execFileSync("readelf", ["-lW", emu]).toString().split("\n").filter((l) => /^\s+LOAD/.test(l)).map((l) => l.trim().split(/\s+/));
    const ours = elf.programHeaders.filter((p) => p.type === PT_LOAD);
    expect(ours.map((p) => [p.offset, Number(p.vaddr), Number(p.paddr), p.filesz, p.memsz, p.align]))
      .toEqual(loads.map((f) => [f[1], f[2], f[3], f[4], f[5], f.at(-1)].map((x) => parseInt(x!, 16))));
    const syms = new Map(execFileSync("nm", [emu]).toString().trim().split("\n").map((l) => l.split(" ")).filter((f) => f.length === 3).map((f) => [f[2]!, BigInt(`0x${f[0]}`)]));
    const map = elf.symbolMap();
    for (const name of ["_start", "main", "__udivdi3", "memcpy"]) expect(map.get(name), name).toBe(syms.get(name));
  });
});
