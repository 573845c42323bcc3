/**
 * Loading a PVH kernel into a child partition the way Xen's domain builder does
 * (src/xen/builder.ts buildPvh; docs/misc/pvh.pandoc): segments at their physical addresses,
 * then hvm_start_info, the memory map (RAM, and Xen's special-page region as reserved) and the
 * command line on the pages after the kernel. The caller sets the VP to the PVH entry state.
 */
import { ElfFile, GuestPhysical, PT_LOAD, PAGE_SIZE } from "../machine";
import { E820_RAM, E820_RESERVED, LAYOUT, XEN_ELFNOTE, XEN_HVM_START_MAGIC_VALUE } from "../xen/abi";
import { readNotes, noteNumber } from "../xen/elf-notes";
import { specialPfn, X86_HVM_NR_SPECIAL_PAGES } from "../xen/builder";
import { HypervError } from "./errors";

export function loadPvh(g: GuestPhysical, image: Uint8Array, pages: number, cmdline: string): { entry: number; startInfo: number; symbols: Map<string, number> } {
  const elf = new ElfFile(image);
  if (elf.machine !== 62) throw new HypervError("INVALID_PARAMETER", `kernel is for ELF machine ${elf.machine}, not x86-64 (62)`);
  const note = readNotes(elf).find((n) => n.type === XEN_ELFNOTE.PHYS32_ENTRY);
  if (!note) throw new HypervError("INVALID_PARAMETER", "kernel has no XEN_ELFNOTE_PHYS32_ENTRY note: not a PVH kernel");
  let end = 0;
  for (const ph of elf.programHeaders) {
    if (ph.type !== PT_LOAD) continue;
    const at = Number(ph.paddr);
    if (at + ph.memsz > pages * PAGE_SIZE) throw new HypervError("INVALID_PARAMETER", `segment at 0x${at.toString(16)} is beyond the partition's ${pages / 256} MiB`);
    end = Math.max(end, at + ph.memsz);
  }
  elf.loadInto(g, { usePaddr: true });
  const si = Math.ceil(end / PAGE_SIZE) * PAGE_SIZE;
  const memmap = [
    { addr: 0, size: pages * PAGE_SIZE, type: E820_RAM },
    { addr: specialPfn(0) * PAGE_SIZE, size: X86_HVM_NR_SPECIAL_PAGES * PAGE_SIZE, type: E820_RESERVED },
  ];
  const S = LAYOUT.hvm_start_info.f, M = LAYOUT.hvm_memmap_table_entry.f;
  const mm = si + LAYOUT.hvm_start_info.size, cmd = mm + memmap.length * LAYOUT.hvm_memmap_table_entry.size;
  g.fill(si, PAGE_SIZE, 0);
  g.setU32(si + S.magic, XEN_HVM_START_MAGIC_VALUE);
  g.setU32(si + S.version, 1);
  g.setU64(si + S.cmdline_paddr, cmdline ? cmd : 0);
  g.setU64(si + S.memmap_paddr, mm);
  g.setU32(si + S.memmap_entries, memmap.length);
  memmap.forEach((e, i) => {
    const a = mm + i * LAYOUT.hvm_memmap_table_entry.size;
    g.setU64(a + M.addr, e.addr);
    g.setU64(a + M.size, e.size);
    g.setU32(a + M.type, e.type);
  });
  if (cmdline) g.write(cmd, new Uint8Array([...Buffer.from(cmdline, "latin1"), 0]));
  return { entry: Number(noteNumber(note)), startInfo: si, symbols: new Map([...elf.symbolMap()].map(([k, v]) => [k, Number(v)])) };
}
