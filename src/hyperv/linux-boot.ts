/**
 * Linux's x86 64-bit boot protocol (Documentation/arch/x86/boot.rst, "64-bit Boot Protocol";
 * struct boot_params and struct setup_header in arch/x86/include/uapi/asm/bootparam.h), as a
 * loader such as the root's VM worker uses it to start an enlightened Linux natively: the
 * bzImage's protected-mode kernel ((setup_sects + 1) * 512 bytes into the file) at its
 * pref_address, a zero page holding the file's setup header with the loader's fields filled in
 * (type_of_loader, cmd_line_ptr, ramdisk_image/size), the e820 map of the partition's RAM with
 * the legacy hole and the firmware's ACPI region reserved, acpi_rsdp_addr; identity-mapped page
 * tables over the first 4 GiB, and entry in 64-bit mode at the kernel + 0x200 with RSI = the zero
 * page. The kernel's own decompressor then runs in the partition.
 */
import type { GuestPhysical } from "../machine";
import { PAGE_SIZE } from "../machine";
import { HypervError } from "./errors";
import type { AcpiTables } from "../xen/loader/acpi";

/** bootparam.h offsets within struct boot_params (the setup header starts at 0x1f1). */
export const BOOT_PARAMS = {
  acpi_rsdp_addr: 0x070, ext_ramdisk_image: 0x0c0, ext_ramdisk_size: 0x0c4, ext_cmd_line_ptr: 0x0c8,
  e820_entries: 0x1e8, hdr: 0x1f1, setup_sects: 0x1f1, boot_flag: 0x1fe, jump: 0x200, header: 0x202, version: 0x206,
  type_of_loader: 0x210, loadflags: 0x211, ramdisk_image: 0x218, ramdisk_size: 0x21c,
  cmd_line_ptr: 0x228, initrd_addr_max: 0x22c, kernel_alignment: 0x230, relocatable_kernel: 0x234,
  xloadflags: 0x236, cmdline_size: 0x238, pref_address: 0x258, init_size: 0x260, e820_table: 0x2d0,
} as const;
/** bootparam.h: XLF_KERNEL_64 (the kernel has the 64-bit entry at +0x200). */
export const XLF_KERNEL_64 = 1 << 0;
/** bootparam.h loadflags LOADED_HIGH: the protected-mode kernel is at 0x100000 or above. */
const LOADED_HIGH = 1 << 0;
/** e820 types (arch/x86/include/asm/e820/types.h). */
export const E820 = { RAM: 1, RESERVED: 2, ACPI: 3 } as const;
/** boot.rst: type_of_loader 0xff = "undefined" (a loader without an assigned id). */
const LOADER_UNDEFINED = 0xff;
/** The protocol level that has acpi_rsdp_addr (2.14) and the one with xloadflags (2.12). */
const PROTOCOL_RSDP = 0x20e, PROTOCOL_XLOADFLAGS = 0x20c;

/** Where the loader puts its pieces in low memory (below the 0x9fc00 EBDA, as a BIOS leaves it). */
export const LINUX_BOOT_LAYOUT = { zeroPage: 0x7000, cmdline: 0x20000, pageTables: 0x9000, lowRamEnd: 0x9fc00 } as const;
/** Entry segments (boot.rst: __BOOT_CS 0x10, __BOOT_DS 0x18). */
export const BOOT_CS = 0x10, BOOT_DS = 0x18;

export interface LinuxBoot {
  /** The 64-bit entry: the protected-mode kernel's load address + 0x200. */
  entry: number;
  zeroPage: number;
  cr3: number;
  kernelAt: number;
  protocol: number;
  e820: { addr: number; size: number; type: number }[];
}

const fmtProtocol = (v: number) => `${v >> 8}.${(v & 0xff).toString().padStart(2, "0")}`;

export function loadLinuxBzImage(g: GuestPhysical, image: Uint8Array, pages: number, cmdline: string, ramdisk: Uint8Array | undefined, acpi: AcpiTables): LinuxBoot {
  const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
  if (image.length < 0x270 || dv.getUint32(BOOT_PARAMS.header, true) !== 0x53726448) throw new HypervError("INVALID_PARAMETER", "kernel is not a bzImage: no \"HdrS\" setup header at 0x202");
  const protocol = dv.getUint16(BOOT_PARAMS.version, true);
  if (protocol < PROTOCOL_RSDP) throw new HypervError("INVALID_PARAMETER", `bzImage boot protocol ${fmtProtocol(protocol)} is too old for the 64-bit entry with acpi_rsdp_addr (needs 2.14)`);
  const xload = dv.getUint16(BOOT_PARAMS.xloadflags, true);
  if (protocol < PROTOCOL_XLOADFLAGS || !(xload & XLF_KERNEL_64)) throw new HypervError("INVALID_PARAMETER", "bzImage has no 64-bit entry point (XLF_KERNEL_64 clear in xloadflags)");
  const setupSects = image[BOOT_PARAMS.setup_sects] || 4; // boot.rst: 0 means 4
  const pmStart = (setupSects + 1) * 512;
  const kernelAt = Number(dv.getBigUint64(BOOT_PARAMS.pref_address, true));
  const initSize = dv.getUint32(BOOT_PARAMS.init_size, true);
  const align = dv.getUint32(BOOT_PARAMS.kernel_alignment, true);
  const ram = pages * PAGE_SIZE;
  if (kernelAt % align !== 0 || kernelAt < 0x100000) throw new HypervError("INVALID_PARAMETER", `bzImage's pref_address 0x${kernelAt.toString(16)} is not aligned to its kernel_alignment 0x${align.toString(16)} above 1 MiB`);
  if (kernelAt + initSize > ram) throw new HypervError("INVALID_PARAMETER", `kernel needs 0x${initSize.toString(16)} bytes (init_size) at 0x${kernelAt.toString(16)}, beyond the partition's ${pages / 256} MiB`);
  const cmdMax = dv.getUint32(BOOT_PARAMS.cmdline_size, true);
  const cmd = Buffer.from(cmdline + "\0", "latin1");
  if (cmd.length - 1 > cmdMax) throw new HypervError("INVALID_PARAMETER", `command line of ${cmd.length - 1} bytes is longer than the kernel's cmdline_size ${cmdMax}`);

  g.write(kernelAt, image.subarray(pmStart));
  // The zero page: the file's setup header (0x1f1 up to 0x202 + the byte at 0x201) in place.
  const zp = new Uint8Array(PAGE_SIZE);
  const hdrEnd = 0x202 + image[0x201]!;
  zp.set(image.subarray(BOOT_PARAMS.hdr, hdrEnd), BOOT_PARAMS.hdr);
  const z = new DataView(zp.buffer);
  zp[BOOT_PARAMS.type_of_loader] = LOADER_UNDEFINED;
  zp[BOOT_PARAMS.loadflags]! |= LOADED_HIGH;
  g.write(LINUX_BOOT_LAYOUT.cmdline, cmd);
  z.setUint32(BOOT_PARAMS.cmd_line_ptr, LINUX_BOOT_LAYOUT.cmdline, true);
  if (ramdisk) {
    // The initrd at the top of RAM below initrd_addr_max, page aligned, as boot loaders place it.
    const max = Math.min(dv.getUint32(BOOT_PARAMS.initrd_addr_max, true) + 1, ram);
    const at = Math.floor((max - ramdisk.length) / PAGE_SIZE) * PAGE_SIZE;
    if (at < kernelAt + initSize) throw new HypervError("INVALID_PARAMETER", `ramdisk of ${ramdisk.length} bytes does not fit between the kernel (to 0x${(kernelAt + initSize).toString(16)}) and the end of RAM 0x${max.toString(16)}`);
    g.write(at, ramdisk);
    z.setUint32(BOOT_PARAMS.ramdisk_image, at, true);
    z.setUint32(BOOT_PARAMS.ramdisk_size, ramdisk.length, true);
  }
  z.setBigUint64(BOOT_PARAMS.acpi_rsdp_addr, BigInt(acpi.rsdp), true);
  for (const t of acpi.pages) g.write(t.at, t.bytes);
  // e820: low RAM to the EBDA, the legacy hole (EBDA, VGA, option ROMs, BIOS) reserved, RAM from
  // 1 MiB to the partition's end, the firmware's ACPI region.
  const e820 = [
    { addr: 0, size: LINUX_BOOT_LAYOUT.lowRamEnd, type: E820.RAM },
    { addr: LINUX_BOOT_LAYOUT.lowRamEnd, size: 0x100000 - LINUX_BOOT_LAYOUT.lowRamEnd, type: E820.RESERVED },
    { addr: 0x100000, size: ram - 0x100000, type: E820.RAM },
    { addr: acpi.region.addr, size: acpi.region.size, type: E820.ACPI },
  ];
  zp[BOOT_PARAMS.e820_entries] = e820.length;
  e820.forEach((e, i) => {
    const o = BOOT_PARAMS.e820_table + i * 20;
    z.setBigUint64(o, BigInt(e.addr), true);
    z.setBigUint64(o + 8, BigInt(e.size), true);
    z.setUint32(o + 16, e.type, true);
  });
  g.write(LINUX_BOOT_LAYOUT.zeroPage, zp);
  const cr3 = identityMap4G(g, LINUX_BOOT_LAYOUT.pageTables);
  return { entry: kernelAt + 0x200, zeroPage: LINUX_BOOT_LAYOUT.zeroPage, cr3, kernelAt, protocol, e820 };
}

/** PML4 → one PDPT → four page directories of 2 MiB pages: VA = PA over [0, 4 GiB). */
function identityMap4G(g: GuestPhysical, at: number): number {
  const P = 1n, RW = 2n, PS = 0x80n;
  const pml4 = at, pdpt = at + PAGE_SIZE, pd0 = at + 2 * PAGE_SIZE;
  const page = (fill: (i: number) => bigint) => {
    const b = new Uint8Array(PAGE_SIZE);
    const d = new DataView(b.buffer);
    for (let i = 0; i < 512; i++) d.setBigUint64(i * 8, fill(i), true);
    return b;
  };
  g.write(pml4, page((i) => (i === 0 ? BigInt(pdpt) | P | RW : 0n)));
  g.write(pdpt, page((i) => (i < 4 ? BigInt(pd0 + i * PAGE_SIZE) | P | RW : 0n)));
  for (let d = 0; d < 4; d++) g.write(pd0 + d * PAGE_SIZE, page((i) => (BigInt(d * 512 + i) << 21n) | P | RW | PS));
  return pml4;
}
