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
import { ElfFile, Machine, PT_LOAD, Vcpu, domId, gfn } from "../../src/machine";
import { TMP } from "./helpers";

const SRC = join(__dirname, "programs", "ia32.c");
const LOAD_AT = 0x400000;
const STACK_TOP = 0xff0000;

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

type Paging = "32-bit" | "PAE";

/**
 * 16 MiB of RAM, identity-mapped. 32-bit paging: 4 KiB pages below 8 MiB (the program), 4 MiB
 * pages above (the stack). PAE: 4 KiB pages below 6 MiB, 2 MiB pages above; XD on the pages of
 * non-executable PT_LOAD segments and the 2 MiB pages.
 */
function pagedGuest(elf: ElfFile, paging: Paging): Vcpu {
  const m = new Machine(32);
  const dom = domId(1);
  m.populate(dom, gfn(0), 4096);
  const g = m.guest(dom);
  elf.loadInto(g);
  const noExec = new Set<number>();
  for (const ph of elf.programHeaders) {
    if (ph.type !== PT_LOAD || ph.flags & 1) continue; // PF_X
    for (let p = Number(ph.vaddr) & ~0xfff; p < Number(ph.vaddr) + ph.memsz; p += 0x1000) noExec.add(p);
  }
  const P = 1, RW = 2, PS = 0x80;
  const v = new Vcpu(m, dom, 0, { mode: "protected32", rip: elf.entry, rsp: STACK_TOP });
  const st = v.getState();
  if (paging === "32-bit") {
    const pd = 0x10000;
    for (let t = 0; t < 2; t++) {
      const pt = 0x11000 + t * 0x1000;
      g.setU32(pd + t * 4, pt | P | RW);
      for (let i = 0; i < 1024; i++) g.setU32(pt + i * 4, ((t << 22) + (i << 12)) | P | RW);
    }
    for (let t = 2; t < 4; t++) g.setU32(pd + t * 4, (t << 22) | PS | P | RW);
    st.cr3 = BigInt(pd);
    st.cr4 = (1 << 4) | (1 << 9) | (1 << 10); // PSE, OSFXSR, OSXMMEXCPT
  } else {
    const pdpt = 0x10000, pd = 0x11000;
    g.setU64(pdpt, BigInt(pd | P));
    for (let t = 0; t < 3; t++) {
      const pt = 0x12000 + t * 0x1000;
      g.setU64(pd + t * 8, BigInt(pt | P | RW));
      for (let i = 0; i < 512; i++) {
        const a = (t << 21) + (i << 12);
        g.setU64(pt + i * 8, BigInt(a | P | RW) | (noExec.has(a) ? 1n << 63n : 0n));
      }
    }
    for (let t = 3; t < 8; t++) g.setU64(pd + t * 8, BigInt((t << 21) | PS | P | RW) | (1n << 63n));
    st.cr3 = BigInt(pdpt);
    st.cr4 = (1 << 5) | (1 << 9) | (1 << 10); // PAE, OSFXSR, OSXMMEXCPT
    st.efer = 1 << 11; // NXE
  }
  st.cr0 = (0x80000000 | (1 << 16) | (1 << 5) | (1 << 4) | (1 << 1) | 1) >>> 0; // PG, WP, NE, ET, MP, PE
  v.setState(st);
  return v;
}

function runOnVcpu(path: string, paging: Paging): { out: string; v: Vcpu } {
  const elf = new ElfFile(new Uint8Array(readFileSync(path)));
  expect(elf.elfClass).toBe(32);
  const v = pagedGuest(elf, paging);
  expect(v.mode).toBe("protected32");
  let out = "";
  for (;;) {
    const x = v.run(50_000_000);
    if (x.kind === "io" && x.direction === "out" && x.port === 0xe9) { out += String.fromCharCode(x.value & 0xff); continue; }
    if (x.kind === "hlt") return { out, v };
    throw new Error(`unexpected exit ${JSON.stringify(x, (_k, val) => (typeof val === "bigint" ? val.toString() : val))}; trace: ${v.trace.recentEvents().map((e) => e.text).join("; ")}`);
  }
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
        const got = runOnVcpu(emu, paging);
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
