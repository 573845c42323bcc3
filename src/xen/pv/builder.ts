/**
 * The 64-bit PV domain builder, as libxenguest lays a PV guest out (tools/libs/guest/xg_dom_core.c
 * xc_dom_build_image, xg_dom_x86.c): the kernel at its ELF virtual addresses from VIRT_BASE, then
 * in allocation order the phys-to-machine list, start_info, the xenstore and console pages, the
 * initial page tables (one L4, then the L3s, L2s and L1s mapping virt_base up to a 4 MiB boundary
 * with 512 KiB to spare; the tables themselves mapped read-only) and the boot stack. Xen then pins
 * the L4 (bootlate_pv: MMUEXT_PIN_L4_TABLE), which validates every table, and vCPU 0 starts at the
 * entry in ring 3 (a 64-bit PV kernel runs in ring 3) with RSI = start_info (vcpu_x86_64).
 *
 * One difference from Xen: the hypercall page holds this host's `vmcall` stubs (which exit at any
 * CPL here), where Xen writes `syscall` stubs for a PV guest (pv/hypercall.c).
 */
import { ElfFile, Mfn, PAGE_SIZE, PT_LOAD, gfn } from "../../machine";
import { LAYOUT, XEN_ELFNOTE } from "../abi";
import type { BuildResult } from "../builder";
import { hypercallPage } from "../cpuid";
import type { Domain } from "../domain";
import { noteNumber, readNotes } from "../elf-notes";
import { DomainBuildError } from "../errors";
import { newGuestCr3 } from "../hypercalls/mmu";
import { FLAT_KERNEL_CS64, FLAT_KERNEL_DS64, FLAT_KERNEL_SS64, MAX_GUEST_CMDLINE, PGT, START_INFO_MAGIC_X86_64, _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_PRESENT, _PAGE_RW, _PAGE_USER } from "./abi";
import { XEN_ERRNO } from "../abi";

const S = LAYOUT.start_info.f;
/** xg_dom_x86.c: VIRT_BITS_X86_64 (the builder masks addresses to 48 bits) and the initial mapping's slack. */
const VADDR_MASK = 2 ** 48;
const PADDING = 512 * 1024;
const FOUR_MB = 4 * 1024 * 1024;
/** alloc_pgtables_x86_64's lvl_prot: L1 P|RW|A; L2-L4 P|RW|A|D|U. */
const L1_PROT = _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED;
const UPPER_PROT = _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_USER;

/** What xl shows and tests check about a PV build: where libxc put each piece. */
export interface PvLayout {
  virtBase: number;
  entry: number;
  /** Pseudo-physical frames of each segment (xc_dom_alloc_segment order). */
  p2mPfn: number; p2mPages: number;
  startInfoPfn: number; xenstorePfn: number; consolePfn: number;
  pgtablesPfn: number; pgtables: number;
  bootstackPfn: number;
  /** The L4 the vCPU starts on. */
  l4: Mfn;
}

/** Tables needed to map [from, to] (48-bit, inclusive) at each level (count_pgtables, one mapping). */
function tablesFor(from: number, to: number): { l3: number; l2: number; l1: number } {
  const n = (bits: number) => Math.floor(to / 2 ** bits) - Math.floor(from / 2 ** bits) + 1;
  return { l3: n(39), l2: n(30), l1: n(21) };
}

function noteText(d: Uint8Array): string {
  const z = d.indexOf(0);
  return new TextDecoder("latin1").decode(z < 0 ? d : d.subarray(0, z));
}

export function buildPv(d: Domain, kernel: Uint8Array, cmdline: string): BuildResult & { pv: PvLayout } {
  const elf = new ElfFile(kernel);
  if (elf.machine !== 62) throw new DomainBuildError(`kernel is for ELF machine ${elf.machine}, not x86-64 (62)`);
  const notes = readNotes(elf);
  // libelf's elf_xen_note_check.
  if (notes.length === 0) throw new DomainBuildError("Not a Xen-ELF image: No ELF notes or '__xen_guest' section found (type = \"pv\" needs a PV kernel)");
  const note = (t: number) => notes.find((n) => n.type === t);
  const loader = note(XEN_ELFNOTE.LOADER), guestOs = note(XEN_ELFNOTE.GUEST_OS), xenVer = note(XEN_ELFNOTE.XEN_VERSION);
  if (!(loader && noteText(loader.desc).includes("generic")) && !(guestOs && noteText(guestOs.desc).includes("linux"))) {
    throw new DomainBuildError("Will only load images built for the generic loader or Linux images (XEN_ELFNOTE_LOADER \"generic\" or XEN_ELFNOTE_GUEST_OS \"linux\")");
  }
  if (!xenVer || noteText(xenVer.desc) !== "xen-3.0") throw new DomainBuildError("Will only load images built for Xen v3.0 (XEN_ELFNOTE_XEN_VERSION \"xen-3.0\")");
  const vb = note(XEN_ELFNOTE.VIRT_BASE);
  const virtBase = vb ? Number(BigInt.asIntN(64, noteNumber(vb))) : 0;
  const en = note(XEN_ELFNOTE.ENTRY);
  const entry = Number(BigInt.asIntN(64, en ? noteNumber(en) : elf.entry));
  const loads = elf.programHeaders.filter((p) => p.type === PT_LOAD);
  if (loads.length === 0) throw new DomainBuildError("kernel has no PT_LOAD segment");
  const vaddr = (v: bigint) => Number(BigInt.asIntN(64, v));
  const kstart = Math.min(...loads.map((p) => vaddr(p.vaddr)));
  const kend = Math.max(...loads.map((p) => vaddr(p.vaddr) + p.memsz));
  if (kstart < virtBase) throw new DomainBuildError(`segment at 0x${BigInt.asUintN(64, BigInt(kstart)).toString(16)} is below XEN_ELFNOTE_VIRT_BASE`);

  const pages = d.targetPages;
  d.machine.populate(d.domid, gfn(0), pages);
  const g = d.guest;
  const mfnOf = (pfn: number): Mfn => g.mfnOf(gfn(pfn))!;
  const pfnOfVa = (va: number) => Math.floor((va - virtBase) / PAGE_SIZE);
  let allocEnd = Math.ceil((kend - virtBase) / PAGE_SIZE); // pfn_alloc_end, after the kernel
  const alloc = (n: number, what: string): number => {
    const at = allocEnd;
    allocEnd += n;
    if (allocEnd > pages) throw new DomainBuildError(`not enough memory for the ${what} (pfn 0x${allocEnd.toString(16)} > 0x${pages.toString(16)})`);
    return at;
  };

  for (const ph of loads) {
    const at = (vaddr(ph.vaddr) - virtBase);
    if (at + ph.memsz > pages * PAGE_SIZE) throw new DomainBuildError(`segment at VIRT_BASE+0x${at.toString(16)} is beyond the domain's ${pages / 256} MiB`);
    g.write(at, kernel.subarray(ph.offset, ph.offset + ph.filesz));
    if (ph.memsz > ph.filesz) g.fill(at + ph.filesz, ph.memsz - ph.filesz, 0);
  }

  const p2mPages = Math.ceil((pages * 8) / PAGE_SIZE);
  const p2mPfn = alloc(p2mPages, "phys2mach list");
  const startInfoPfn = alloc(1, "start info"), xenstorePfn = alloc(1, "xenstore page"), consolePfn = alloc(1, "console page");
  // alloc_pgtables_pv: grow the mapping until it covers the tables, the boot stack and the padding.
  const extra = 1 + PADDING / PAGE_SIZE;
  const from = ((virtBase % VADDR_MASK) + VADDR_MASK) % VADDR_MASK;
  let need = extra, tryEnd = 0, counts = tablesFor(from, from);
  for (;;) {
    const want = from + (allocEnd * PAGE_SIZE) + need * PAGE_SIZE;
    tryEnd = Math.floor(want / FOUR_MB) * FOUR_MB + FOUR_MB - 1; // round_up(addr, 4 MiB mask)
    counts = tablesFor(from, tryEnd);
    need = 1 + counts.l3 + counts.l2 + counts.l1 + extra;
    if (from + allocEnd * PAGE_SIZE + need * PAGE_SIZE <= tryEnd + 1) break;
  }
  const nTables = 1 + counts.l3 + counts.l2 + counts.l1;
  const pgtablesPfn = alloc(nTables, "page tables");
  const bootstackPfn = alloc(1, "boot stack");
  if ((tryEnd + 1 - from) / PAGE_SIZE > pages) throw new DomainBuildError(`not enough memory for initial mapping (0x${((tryEnd + 1 - from) / PAGE_SIZE).toString(16)} pages > 0x${pages.toString(16)})`);

  // The phys-to-machine list the guest keeps, and Xen's machine-to-phys entries for it.
  for (let pfn = 0; pfn < pages; pfn++) {
    g.setU64(p2mPfn * PAGE_SIZE + pfn * 8, BigInt(mfnOf(pfn)));
    d.host.pageTypes.setMachToPhys(mfnOf(pfn), pfn);
  }

  // setup_pgtables_pv: tables in the segment in level order (L4, L3s, L2s, L1s).
  const firstOf = [0, 1 + counts.l3 + counts.l2, 1 + counts.l3, 1, 0]; // index by level 1..4 (0 unused)
  const lvlFrom = (level: number) => Math.floor(from / 2 ** (12 + 9 * level)) * 2 ** (12 + 9 * level);
  const tablePfn = (level: number, va: number) => pgtablesPfn + firstOf[level]! + (level === 4 ? 0 : Math.floor((va - lvlFrom(level)) / 2 ** (12 + 9 * level)));
  for (let p = pgtablesPfn; p < pgtablesPfn + nTables; p++) g.fill(p * PAGE_SIZE, PAGE_SIZE, 0);
  for (let va = from; va <= tryEnd; va += PAGE_SIZE) {
    const pfn = (va - from) / PAGE_SIZE;
    for (let level = 4; level >= 1; level--) {
      const slot = Math.floor(va / 2 ** (3 + 9 * level)) % 512;
      const table = tablePfn(level, va);
      let e: bigint;
      if (level === 1) {
        const ro = pfn >= pgtablesPfn && pfn < pgtablesPfn + nTables; // get_pg_prot: tables mapped read-only
        e = BigInt(mfnOf(pfn)) * 4096n | BigInt(ro ? L1_PROT & ~_PAGE_RW : L1_PROT);
      } else e = BigInt(mfnOf(tablePfn(level - 1, va))) * 4096n | BigInt(UPPER_PROT);
      g.setU64(table * PAGE_SIZE + slot * 8, e);
    }
  }

  // start_info_x86_64 (the ports are the toolstack's: setupDevices writes them).
  const si = startInfoPfn * PAGE_SIZE;
  g.fill(si, PAGE_SIZE, 0);
  g.write(si + S.magic, new TextEncoder().encode(START_INFO_MAGIC_X86_64));
  g.setU64(si + S.nr_pages, pages);
  g.setU64(si + S.shared_info, d.sharedInfoMfn * PAGE_SIZE);
  g.setU32(si + S.flags, 0);
  g.setU64(si + S.store_mfn, mfnOf(xenstorePfn));
  g.setU64(si + S["console.domU.mfn"], mfnOf(consolePfn));
  g.setU64(si + S.pt_base, BigInt.asUintN(64, BigInt(virtBase + pgtablesPfn * PAGE_SIZE)));
  g.setU64(si + S.nr_pt_frames, nTables);
  g.setU64(si + S.mfn_list, BigInt.asUintN(64, BigInt(virtBase + p2mPfn * PAGE_SIZE)));
  if (cmdline.length >= MAX_GUEST_CMDLINE) throw new DomainBuildError(`command line of ${cmdline.length} bytes does not fit in start_info.cmd_line[${MAX_GUEST_CMDLINE}]`);
  g.write(si + S.cmd_line, new TextEncoder().encode(cmdline));
  d.startInfoPfn = startInfoPfn;
  d.storeGfn = gfn(xenstorePfn);
  d.consoleGfn = gfn(consolePfn);

  const hp = note(XEN_ELFNOTE.HYPERCALL_PAGE);
  if (hp) {
    const hpPfn = pfnOfVa(Number(BigInt.asIntN(64, noteNumber(hp))));
    if (hpPfn < 0 || hpPfn >= pages) throw new DomainBuildError("XEN_ELFNOTE_HYPERCALL_PAGE is outside the kernel's memory");
    g.write(hpPfn * PAGE_SIZE, hypercallPage());
    d.hypercallPageGpa = hpPfn * PAGE_SIZE;
  }

  // bootlate_pv: pin the L4 (validates every table), then vCPU 0 takes it as its base.
  const l4 = mfnOf(pgtablesPfn);
  const rc = d.host.pageTypes.pin(d.domid, l4, PGT.l4);
  if (rc < 0) throw new DomainBuildError(`pin_table failed (pfn 0x${pgtablesPfn.toString(16)}, rc=${rc} ${Object.entries(XEN_ERRNO).find(([, v]) => v === -rc)?.[0] ?? ""})`);
  const v0 = d.vcpus[0]!;
  const cpu = v0.cpu!;
  cpu.reset({ mode: "long64", rip: entry, rsp: virtBase + (bootstackPfn + 1) * PAGE_SIZE, rflags: 0x202, regs: { rsi: virtBase + startInfoPfn * PAGE_SIZE } });
  const st = cpu.getState();
  cpu.setState({ ...st, cs: { ...st.cs, selector: FLAT_KERNEL_CS64, long: true }, ss: FLAT_KERNEL_SS64, ds: FLAT_KERNEL_DS64, es: FLAT_KERNEL_DS64, fs: FLAT_KERNEL_DS64, gs: FLAT_KERNEL_DS64, cpl: 3 });
  const rc2 = newGuestCr3(d.host.pageTypes, v0, l4);
  if (rc2 < 0) throw new DomainBuildError(`installing the base page table failed (rc=${rc2})`);
  for (const [k, v] of elf.symbolMap()) d.symbols.set(k, Number(BigInt.asIntN(64, v)));
  cpu.symbols = d.symbols;
  d.kernelImage = kernel;
  return {
    entry, startInfo: virtBase + startInfoPfn * PAGE_SIZE, memmap: [{ addr: 0, size: pages * PAGE_SIZE, type: 1 }],
    pv: { virtBase, entry, p2mPfn, p2mPages, startInfoPfn, xenstorePfn, consolePfn, pgtablesPfn, pgtables: nTables, bootstackPfn, l4 },
  };
}
