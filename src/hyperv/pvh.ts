/**
 * Loading a PVH kernel into a child partition the way Xen's domain builder does
 * (src/xen/builder.ts buildPvh; docs/misc/pvh.pandoc): segments at their physical addresses,
 * then hvm_start_info, the memory map (RAM, and Xen's special-page region as reserved) and the
 * command line on the pages after the kernel. The caller sets the VP to the PVH entry state.
 */
import { ElfFile, GuestPhysical, PT_LOAD, PAGE_SIZE } from "../machine";
import { XEN_ELFNOTE } from "../xen/abi";
import { readNotes, noteNumber } from "../xen/elf-notes";
import { memmapOf, writeHvmStartInfo } from "../xen/builder";
import { HypervError } from "./errors";
import type { AcpiTables } from "../xen/loader/acpi";
import { isBzImage, vmlinuxOfBzImage } from "../xen/loader/bzimage";

export function loadPvh(g: GuestPhysical, image: Uint8Array, pages: number, cmdline: string, ramdisk?: Uint8Array, acpi?: AcpiTables): { entry: number; startInfo: number; symbols: Map<string, number> } {
  // A bzImage as shipped (Debian's /boot/vmlinuz-*): its ELF payload, as Xen's PVH builder takes it.
  const elf = new ElfFile(isBzImage(image) ? vmlinuxOfBzImage(image).elf : image);
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
  // The initrd as hvm_start_info's first module, on the page after the kernel (as buildPvh does).
  const modules: { paddr: number; size: number }[] = [];
  if (ramdisk) {
    const at = Math.ceil(end / PAGE_SIZE) * PAGE_SIZE;
    if (at + ramdisk.length + PAGE_SIZE > pages * PAGE_SIZE) throw new HypervError("INVALID_PARAMETER", `ramdisk (${ramdisk.length} bytes at 0x${at.toString(16)}) does not fit in the partition's ${pages / 256} MiB`);
    g.write(at, ramdisk);
    modules.push({ paddr: at, size: ramdisk.length });
    end = at + ramdisk.length;
  }
  // ACPI tables (their pages already mapped by the caller): listed as E820_ACPI, RSDP in start_info.
  for (const t of acpi?.pages ?? []) g.write(t.at, t.bytes);
  const si = writeHvmStartInfo(g, end, memmapOf(pages, acpi?.region), cmdline, { modules, rsdp: acpi?.rsdp });
  return { entry: Number(noteNumber(note)), startInfo: si, symbols: new Map([...elf.symbolMap()].map(([k, v]) => [k, Number(v)])) };
}
