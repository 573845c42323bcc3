/**
 * Domain builders (what libxenguest's xc_dom_* does for the toolstack):
 *  - PVH: an ELF kernel with XEN_ELFNOTE_PHYS32_ENTRY, booted by the PVH protocol
 *    (docs/misc/pvh.pandoc): 32-bit protected mode, paging off, EBX = guest-physical address of
 *    struct hvm_start_info (with the E820-style memory map and the command line).
 *  - lab: raw x86-64 code for notebook snippets, started in long mode with identity page tables,
 *    the hypercall page installed and shared_info mapped.
 * Both place the console and xenstore pages at Xen's HVM "special pages"
 * (tools/libs/guest/xg_dom_x86.c: X86_HVM_END_SPECIAL_REGION 0xff000, 8 pages below it).
 */
import { APIC_DEFAULT_PHYS_BASE } from "../platform/lapic";
import { ElfFile, GuestPhysical, PT_LOAD, Vcpu, buildPageTables, gfn, PAGE_SIZE } from "../machine";
import { E820_ACPI, E820_RAM, E820_RESERVED, LAYOUT, XEN_ELFNOTE, XEN_HVM_START_MAGIC_VALUE } from "./abi";
import { hypercallPage } from "./cpuid";
import type { Domain } from "./domain";
import { readNotes, noteNumber } from "./elf-notes";
import { DomainBuildError } from "./errors";
import { buildAcpiTables } from "./loader/acpi";
import { isBzImage, vmlinuxOfBzImage } from "./loader/bzimage";

import { X86_HVM_NR_SPECIAL_PAGES, specialPfn } from "./special-pages";
export { CONSOLE_PFN, X86_HVM_END_SPECIAL_REGION, X86_HVM_NR_SPECIAL_PAGES, XENSTORE_PFN, specialPfn } from "./special-pages";

/** The lab domain's fixed layout (guest-physical = guest-virtual). */
export const LAB = {
  hypercallPage: 0x1000,
  sharedInfo: 0x2000,
  pageTables: 0x10000,
  stackTop: 0x80000,
  code: 0x100000,
} as const;

export interface BuildResult {
  entry: number;
  startInfo?: number;
  memmap: { addr: number; size: number; type: number }[];
}

function populateRam(d: Domain, pages: number): void {
  d.machine.populate(d.domid, gfn(0), pages);
  d.machine.populate(d.domid, specialPfn(0), X86_HVM_NR_SPECIAL_PAGES);
}

/**
 * The e820 map a PVH guest of `pages` pages gets: its RAM, the special pages as reserved, and
 * (when libxl built them) the ACPI tables' pages as E820_ACPI.
 */
export function memmapOf(pages: number, acpi?: { addr: number; size: number }): { addr: number; size: number; type: number }[] {
  const map = [
    { addr: 0, size: pages * PAGE_SIZE, type: E820_RAM },
    { addr: specialPfn(0) * PAGE_SIZE, size: X86_HVM_NR_SPECIAL_PAGES * PAGE_SIZE, type: E820_RESERVED },
  ];
  if (acpi) map.push({ ...acpi, type: E820_ACPI });
  return map;
}

/** What hvm_start_info carries besides the memory map and command line. */
export interface StartInfoExtras {
  modules?: { paddr: number; size: number }[];
  rsdp?: number;
}

/**
 * hvm_start_info, then the memory map, then the command line, on the pages after the kernel
 * (arch-x86/hvm/start_info.h, docs/misc/pvh.pandoc). Returns hvm_start_info's address (EBX).
 */
export function writeHvmStartInfo(g: GuestPhysical, kernelEnd: number, memmap: { addr: number; size: number; type: number }[], cmdline: string, extras: StartInfoExtras = {}): number {
  const si = Math.ceil(kernelEnd / PAGE_SIZE) * PAGE_SIZE;
  const mods = extras.modules ?? [];
  const modAt = si + LAYOUT.hvm_start_info.size;
  const mmAt = modAt + mods.length * LAYOUT.hvm_modlist_entry.size;
  const cmdAt = mmAt + memmap.length * LAYOUT.hvm_memmap_table_entry.size;
  if (cmdAt + cmdline.length + 1 > si + PAGE_SIZE) throw new DomainBuildError(`command line of ${cmdline.length} bytes does not fit in the start_info page`);
  const S = LAYOUT.hvm_start_info.f, M = LAYOUT.hvm_memmap_table_entry.f, L = LAYOUT.hvm_modlist_entry.f;
  g.fill(si, PAGE_SIZE, 0);
  g.setU32(si + S.magic, XEN_HVM_START_MAGIC_VALUE);
  g.setU32(si + S.version, 1);
  g.setU32(si + S.flags, 0);
  g.setU32(si + S.nr_modules, mods.length);
  g.setU64(si + S.modlist_paddr, mods.length ? modAt : 0);
  g.setU64(si + S.rsdp_paddr, extras.rsdp ?? 0);
  mods.forEach((m, i) => {
    g.setU64(modAt + i * LAYOUT.hvm_modlist_entry.size + L.paddr, m.paddr);
    g.setU64(modAt + i * LAYOUT.hvm_modlist_entry.size + L.size, m.size);
  });
  g.setU64(si + S.cmdline_paddr, cmdline ? cmdAt : 0);
  g.setU64(si + S.memmap_paddr, mmAt);
  g.setU32(si + S.memmap_entries, memmap.length);
  memmap.forEach((e, i) => {
    const a = mmAt + i * LAYOUT.hvm_memmap_table_entry.size;
    g.setU64(a + M.addr, e.addr);
    g.setU64(a + M.size, e.size);
    g.setU32(a + M.type, e.type);
  });
  if (cmdline) g.write(cmdAt, new Uint8Array([...Buffer.from(cmdline, "latin1"), 0]));
  return si;
}

/**
 * A PVH domain as libxl/libxc build it: the kernel (ELF vmlinux, or a bzImage whose payload
 * is decompressed as xg_dom_bzimageloader.c does), the ramdisk in the pages after it as
 * hvm_start_info's first module, then start_info itself, and libxl's ACPI tables with their
 * RSDP in start_info (libxl_x86_acpi.c).
 */
export function buildPvh(d: Domain, kernel: Uint8Array, cmdline: string, ramdisk?: Uint8Array): BuildResult {
  const image = isBzImage(kernel) ? vmlinuxOfBzImage(kernel).elf : kernel;
  const elf = new ElfFile(image);
  if (elf.machine !== 62) throw new DomainBuildError(`kernel is for ELF machine ${elf.machine}, not x86-64 (62)`);
  const notes = readNotes(elf);
  const entryNote = notes.find((n) => n.type === XEN_ELFNOTE.PHYS32_ENTRY);
  if (!entryNote) throw new DomainBuildError("kernel has no XEN_ELFNOTE_PHYS32_ENTRY note: not a PVH kernel (type = \"pvh\" needs one)");
  const entry = Number(noteNumber(entryNote));
  const pages = d.targetPages;
  const ramEnd = pages * PAGE_SIZE;
  populateRam(d, pages);
  const g = d.guest;
  let kernelEnd = 0;
  for (const ph of elf.programHeaders) {
    if (ph.type !== PT_LOAD) continue;
    const at = Number(ph.paddr);
    if (at + ph.memsz > ramEnd) throw new DomainBuildError(`segment at 0x${at.toString(16)}+0x${ph.memsz.toString(16)} is beyond the domain's ${pages / 256} MiB`);
    kernelEnd = Math.max(kernelEnd, at + ph.memsz);
  }
  elf.loadInto(g, { usePaddr: true });
  const modules: { paddr: number; size: number }[] = [];
  let end = kernelEnd;
  if (ramdisk) {
    const at = Math.ceil(kernelEnd / PAGE_SIZE) * PAGE_SIZE;
    if (at + ramdisk.length + PAGE_SIZE > ramEnd) throw new DomainBuildError(`ramdisk (${ramdisk.length} bytes at 0x${at.toString(16)}) does not fit in the domain's ${pages / 256} MiB`);
    g.write(at, ramdisk);
    modules.push({ paddr: at, size: ramdisk.length });
    end = at + ramdisk.length;
  }
  const acpi = buildAcpiTables(d.config.maxvcpus, d.config.vcpus); // libxl: max_vcpus entries, avail_vcpus enabled
  for (const p of acpi.pages) d.machine.populate(d.domid, gfn(p.at / PAGE_SIZE), Math.ceil(p.bytes.length / PAGE_SIZE));
  for (const p of acpi.pages) g.write(p.at, p.bytes);
  const memmap = memmapOf(pages, acpi.region);
  const si = writeHvmStartInfo(g, end, memmap, cmdline, { modules, rsdp: acpi.rsdp });
  const v0 = d.vcpus[0]!.cpu!;
  v0.reset({ mode: "protected32", rip: entry, regs: { rbx: si } });
  const syms = elf.symbolMap();
  for (const [k, v] of syms) d.symbols.set(k, Number(v));
  v0.symbols = d.symbols;
  d.kernelImage = image;
  return { entry, startInfo: si, memmap };
}

/** Builds a lab domain around raw machine code; RDI = hypercall page, RSI = shared_info. */
export function buildLab(d: Domain, code: Uint8Array): BuildResult {
  const pages = d.targetPages;
  if (LAB.code + code.length > pages * PAGE_SIZE) throw new DomainBuildError(`code (${code.length} bytes) does not fit below ${pages / 256} MiB`);
  populateRam(d, pages);
  const g = d.guest;
  const { cr3 } = buildPageTables(g, LAB.pageTables, [
    { va: 0, gpa: 0, pages },
    { va: specialPfn(0) * PAGE_SIZE, gpa: specialPfn(0) * PAGE_SIZE, pages: X86_HVM_NR_SPECIAL_PAGES },
    // The local APIC's xAPIC window, identity-mapped as a guest kernel maps it (no RAM behind it:
    // accesses exit to the emulated APIC).
    { va: APIC_DEFAULT_PHYS_BASE, gpa: APIC_DEFAULT_PHYS_BASE, pages: 1 },
  ]);
  g.write(LAB.code, code);
  g.write(LAB.hypercallPage, hypercallPage());
  d.hypercallPageGpa = LAB.hypercallPage;
  // shared_info replaces the RAM page at its gfn, as XENMEM_add_to_physmap would.
  const old = d.machine.p2m(d.domid).lookup(gfn(LAB.sharedInfo / PAGE_SIZE));
  if (old) d.machine.memory.free(old.mfn);
  d.mapXenPage(LAB.sharedInfo / PAGE_SIZE, d.sharedInfoMfn);
  d.sharedInfoGfn = LAB.sharedInfo / PAGE_SIZE;
  const v0 = d.vcpus[0]!.cpu as Vcpu;
  v0.reset({ mode: "long64", rip: LAB.code, rsp: LAB.stackTop, cr3, regs: { rdi: LAB.hypercallPage, rsi: LAB.sharedInfo } });
  d.kernelImage = code;
  return { entry: LAB.code, memmap: memmapOf(pages) };
}
