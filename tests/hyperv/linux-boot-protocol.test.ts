/**
 * The pieces of a native enlightened Linux boot on Longhorn that can be checked without booting:
 * Hyper-V's firmware tables read by ACPICA's iasl (the VMBus device Linux's vmbus_drv.c binds to
 * and COM1 as a PNP0501 with its I/O range), the zero page against the bzImage's own setup header
 * (the same bytes at 0x1f1.., the loader's fields where boot.rst puts them), and the refusals.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { HypervHost } from "../../src/hyperv";
import { BOOT_PARAMS, E820, LINUX_BOOT_LAYOUT } from "../../src/hyperv/linux-boot";
import { hypervFirmwareTables } from "../../src/hyperv/firmware-acpi";
import { iasl, tableFiles } from "../support/acpi-files";
import { linuxGuest } from "../support/linux-guest";

describe("Hyper-V's firmware ACPI tables, read by iasl", () => {
  const files = tableFiles(hypervFirmwareTables(2));
  it("DSDT has the VMBus device (_HID \"VMBus\") and COM1 (PNP0501, I/O 0x3F8-0x3FF, no IRQ) besides the processors; every table under VRTUAL/MICROSFT with a valid checksum", () => {
    const dsdt = iasl(files.get("DSDT")!);
    expect(dsdt).not.toMatch(/Incorrect checksum/i);
    expect(dsdt).toMatch(/Device \(VMBS\)\s*\{\s*Name \(_HID, "VMBus"\)/);
    expect(dsdt).toMatch(/Device \(UAR1\)\s*\{\s*Name \(_HID, EisaId \("PNP0501"\)[\s\S]*IO \(Decode16,\s*0x03F8,\s*\/\/ Range Minimum\s*0x03F8,\s*\/\/ Range Maximum\s*0x01,\s*\/\/ Alignment\s*0x08,\s*\/\/ Length/);
    expect(dsdt).not.toMatch(/IRQ/);
    expect((dsdt.match(/_HID, "ACPI0007"/g) ?? []).length).toBe(2);
    expect(dsdt).toMatch(/DefinitionBlock \("", "DSDT", 2, "VRTUAL", "MICROSFT", 0x00000000\)/);
    for (const sig of ["FACP", "APIC", "XSDT"]) {
      const d = iasl(files.get(sig)!);
      expect(d, sig).not.toMatch(/Incorrect checksum/i);
      expect(d, sig).toMatch(/Oem ID : "VRTUAL"/);
    }
  });
});

describe("Linux's x86 64-bit boot protocol on the Longhorn host", () => {
  const g = linuxGuest();
  const image = new Uint8Array(readFileSync(g.bzImage));
  const initrd = new Uint8Array(readFileSync(g.initrd));
  it("puts the bzImage's setup header in the zero page with cmd_line_ptr, the initrd, acpi_rsdp_addr and the e820 map, the protected-mode kernel at pref_address, and enters at +0x200 in 64-bit mode with RSI = the zero page", () => {
    const hv = new HypervHost({ lps: 1, memoryMiB: 320 });
    const p = hv.createChild({ name: "linux", memoryMiB: 128, linux: image, ramdisk: initrd, cmdline: "console=ttyS0", paused: true });
    const zp = p.memory.read(LINUX_BOOT_LAYOUT.zeroPage, 4096);
    const z = new DataView(zp.buffer, zp.byteOffset);
    const hdrEnd = 0x202 + image[0x201]!;
    const loaderFields = new Set([BOOT_PARAMS.type_of_loader, BOOT_PARAMS.loadflags, ...[0, 1, 2, 3, 4, 5, 6, 7].map((i) => BOOT_PARAMS.ramdisk_image + i), ...[0, 1, 2, 3].map((i) => BOOT_PARAMS.cmd_line_ptr + i)]);
    for (let o = BOOT_PARAMS.hdr; o < hdrEnd; o++) if (!loaderFields.has(o)) expect(zp[o], `zero page byte 0x${o.toString(16)}`).toBe(image[o]);
    expect(z.getUint16(BOOT_PARAMS.boot_flag, true)).toBe(0xaa55);
    expect(zp[BOOT_PARAMS.type_of_loader]).toBe(0xff);
    const cmd = z.getUint32(BOOT_PARAMS.cmd_line_ptr, true);
    expect(Buffer.from(p.memory.read(cmd, 14)).toString("latin1")).toBe("console=ttyS0\0");
    const rd = z.getUint32(BOOT_PARAMS.ramdisk_image, true);
    expect(z.getUint32(BOOT_PARAMS.ramdisk_size, true)).toBe(initrd.length);
    expect(Buffer.from(p.memory.read(rd, initrd.length)).equals(Buffer.from(initrd))).toBe(true);
    expect(rd + initrd.length).toBeLessThanOrEqual(128 * 2 ** 20);
    const rsdp = Number(z.getBigUint64(BOOT_PARAMS.acpi_rsdp_addr, true));
    expect(Buffer.from(p.memory.read(rsdp, 8)).toString("latin1")).toBe("RSD PTR ");
    const e820 = Array.from({ length: zp[BOOT_PARAMS.e820_entries]! }, (_, i) => {
      const o = BOOT_PARAMS.e820_table + 20 * i;
      return [Number(z.getBigUint64(o, true)), Number(z.getBigUint64(o + 8, true)), z.getUint32(o + 16, true)];
    });
    expect(e820).toEqual([[0, 0x9fc00, E820.RAM], [0x9fc00, 0x60400, E820.RESERVED], [0x100000, 128 * 2 ** 20 - 0x100000, E820.RAM], [0xfc000000, 0x3000, E820.ACPI]]);
    // The protected-mode kernel: the file from (setup_sects + 1) * 512, at pref_address.
    const pref = Number(new DataView(image.buffer, image.byteOffset).getBigUint64(0x258, true));
    const pm = (image[0x1f1]! + 1) * 512;
    expect(Buffer.from(p.memory.read(pref, 4096)).equals(Buffer.from(image.subarray(pm, pm + 4096)))).toBe(true);
    const cpu = p.vp(0).cpu;
    expect(cpu.getReg("rip")).toBe(BigInt(pref + 0x200));
    expect(cpu.getReg("rsi")).toBe(BigInt(LINUX_BOOT_LAYOUT.zeroPage));
    expect(cpu.cs.long).toBe(true);
    expect(cpu.cs.selector).toBe(0x10);
  });

  it("refuses what it cannot load, naming what is wrong; the host stays up", () => {
    const hv = new HypervHost({ lps: 1, memoryMiB: 320 });
    expect(() => hv.createChild({ name: "elf", linux: new Uint8Array(readFileSync(g.bzImage)).subarray(0x100), paused: true })).toThrow(/not a bzImage: no "HdrS" setup header at 0x202/);
    const old = new Uint8Array(image); old[0x206] = 0x0b; // protocol 2.11
    expect(() => hv.createChild({ name: "old", linux: old, paused: true })).toThrow(/boot protocol 2\.11 is too old/);
    const no64 = new Uint8Array(image); no64[0x236] = no64[0x236]! & ~1;
    expect(() => hv.createChild({ name: "no64", linux: no64, paused: true })).toThrow(/no 64-bit entry point \(XLF_KERNEL_64/);
    expect(() => hv.createChild({ name: "small", memoryMiB: 16, linux: image, paused: true })).toThrow(/init_size.*beyond the partition's 16 MiB/);
    expect(() => hv.createChild({ name: "both", linux: image, xenAdapter: true, paused: true })).toThrow(/cannot be combined with pvh, xenAdapter/);
    const p = hv.createChild({ name: "fine", memoryMiB: 64, code: new Uint8Array([0xf4]) });
    expect(p.name).toBe("fine");
  });
});
