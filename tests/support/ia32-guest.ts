/**
 * A paged 32-bit protected-mode guest for gcc -m32 programs (tests/machine/programs/ia32.c): 16 MiB
 * of RAM identity-mapped. 32-bit paging: 4 KiB pages below 8 MiB (the program), 4 MiB pages above
 * (the stack). PAE: 4 KiB pages below 6 MiB, 2 MiB pages above; XD (with EFER.NXE) on the pages
 * of non-executable PT_LOAD segments and on the 2 MiB pages. CPL 0, CR0.WP, SSE enabled (OSFXSR).
 * Used by tests/machine/programs-32.test.ts and bench/ia32.bench.ts.
 */
import { readFileSync } from "node:fs";
import { ElfFile, Machine, PT_LOAD, Vcpu, domId, gfn } from "../../src/machine";

const STACK_TOP = 0xff0000;

export type Paging = "32-bit" | "PAE";

/**
 * 16 MiB of RAM, identity-mapped. 32-bit paging: 4 KiB pages below 8 MiB (the program), 4 MiB
 * pages above (the stack). PAE: 4 KiB pages below 6 MiB, 2 MiB pages above; XD on the pages of
 * non-executable PT_LOAD segments and the 2 MiB pages.
 */
export function pagedGuest(elf: ElfFile, paging: Paging): Vcpu {
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

/** Runs an i386 ELF to hlt, collecting what it writes to port 0xE9. */
export function runIa32(path: string, paging: Paging): { out: string; v: Vcpu } {
  const elf = new ElfFile(new Uint8Array(readFileSync(path)));
  if (elf.elfClass !== 32) throw new Error(`${path} is not an ELFCLASS32 file`);
  const v = pagedGuest(elf, paging);
  if (v.mode !== "protected32") throw new Error(`the guest starts in ${v.mode}, not protected32`);
  let out = "";
  for (;;) {
    const x = v.run(50_000_000);
    if (x.kind === "io" && x.direction === "out" && x.port === 0xe9) { out += String.fromCharCode(x.value & 0xff); continue; }
    if (x.kind === "hlt") return { out, v };
    throw new Error(`unexpected exit ${JSON.stringify(x, (_k, val) => (typeof val === "bigint" ? val.toString() : val))}; trace: ${v.trace.recentEvents().map((e) => e.text).join("; ")}`);
  }
}
