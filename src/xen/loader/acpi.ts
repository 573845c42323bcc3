/**
 * The ACPI tables libxl builds for a PVH domU (tools/libs/light/libxl_x86_acpi.c calling
 * tools/libacpi/build.c): RSDP → XSDT → {FADT, MADT}, FADT → DSDT. A PVH guest has no PM
 * timer, SCI, PIC or IOAPIC, so the FADT says "hardware-reduced" (ACPI 5.0 FADT flag bit 20) and
 * the MADT lists only one local APIC per vCPU, with libacpi's LAPIC_ID(vcpu) = 2 * vcpu and the
 * vCPUs beyond those online at boot present but disabled. Layouts from ACPI 6.x §5.2 (header
 * §5.2.6, RSDP §5.2.5.3, XSDT §5.2.8, FADT §5.2.9, MADT §5.2.12); the DSDT's AML from §20.
 *
 * libxl places the tables in pages from ACPI_INFO_PHYSICAL_ADDRESS (0xfc000000, hvmloader's
 * acpi_info page first, the tables after it) and the RSDP in the page after them (Linux declares
 * XENFEAT_linux_rsdp_unrestricted, so the RSDP need not sit in the BIOS area), and passes its
 * address in hvm_start_info.rsdp_paddr; the pages are E820 "ACPI" (type 3) in the memory map.
 */

/** libacpi's ACPI_INFO_PHYSICAL_ADDRESS (tools/libacpi/libacpi.h). */
export const ACPI_INFO_PHYSICAL_ADDRESS = 0xfc000000;
/** libacpi.h LAPIC_BASE_ADDRESS and LAPIC_ID(). */
export const LAPIC_BASE_ADDRESS = 0xfee00000;
export const lapicId = (vcpu: number): number => vcpu * 2;
/** ACPI 5.0 FADT Flags bit 20: HW_REDUCED_ACPI. */
export const FADT_HW_REDUCED_ACPI = 1 << 20;
/** Who the firmware says made the tables: libacpi's build.c ACPI_OEM_ID / ACPI_OEM_TABLE_ID by default. */
export interface AcpiOem { oemId: string; oemTableId: string; creatorId: string }
export const XEN_OEM: AcpiOem = { oemId: "Xen", oemTableId: "HVM", creatorId: "HVML" };

const FADT_SIZE = 268; // ACPI 5.0 FADT (revision 5), up to SLEEP_STATUS_REG
const HEADER = 36;

function header(b: Buffer, sig: string, length: number, revision: number, oem: AcpiOem): void {
  b.write(sig, 0, "latin1");
  b.writeUInt32LE(length, 4);
  b[8] = revision;
  b.write(oem.oemId.padEnd(6, " "), 10, "latin1");
  b.write(oem.oemTableId.padEnd(8, " "), 16, "latin1");
  b.writeUInt32LE(0, 24); // OEM revision
  b.write(oem.creatorId, 28, "latin1");
  b.writeUInt32LE(0, 32); // creator revision
}

/** Sets byte `at` so the bytes [0, len) sum to 0 mod 256 (the ACPI checksum rule). */
function checksum(b: Buffer, at: number, len = b.length): void {
  b[at] = 0;
  let s = 0;
  for (let i = 0; i < len; i++) s += b[i]!;
  b[at] = (256 - (s & 0xff)) & 0xff;
}

/** AML PkgLength (ACPI §20.2.4): one byte below 64, else the low nibble plus 1-3 more bytes. */
export function pkgLength(bodyLen: number): number[] {
  for (let extra = 0; extra < 4; extra++) {
    const total = bodyLen + 1 + extra;
    if (extra === 0 && total < 64) return [total];
    if (extra > 0 && total < 1 << (4 + 8 * extra)) {
      const out = [(extra << 6) | (total & 0xf)];
      for (let i = 0; i < extra; i++) out.push((total >> (4 + 8 * i)) & 0xff);
      return out;
    }
  }
  throw new Error(`AML package of ${bodyLen} bytes is too long`);
}
export const nameSeg = (s: string): number[] => [...Buffer.from(s.padEnd(4, "_"), "latin1")];

/** DSDT: Scope (\_SB) { Device (PRnn) { Name (_HID, "ACPI0007") Name (_UID, n) } ... <devices> }. */
function dsdt(vcpus: number, oem: AcpiOem, extra: readonly number[]): Buffer {
  const devices: number[] = [];
  for (let i = 0; i < vcpus; i++) {
    const body = [
      ...nameSeg(`PR${i.toString(16).toUpperCase().padStart(2, "0")}`),
      0x08, ...nameSeg("_HID"), 0x0d, ...Buffer.from("ACPI0007\0", "latin1"), // NameOp, StringPrefix
      0x08, ...nameSeg("_UID"), 0x0a, i, // NameOp, BytePrefix
    ];
    devices.push(0x5b, 0x82, ...pkgLength(body.length), ...body); // DeviceOp
  }
  const scopeBody = [0x5c, ...nameSeg("_SB"), ...devices, ...extra]; // RootChar "\" then _SB_
  const aml = Buffer.from([0x10, ...pkgLength(scopeBody.length), ...scopeBody]); // ScopeOp
  const b = Buffer.alloc(HEADER + aml.length);
  header(b, "DSDT", b.length, 2, oem);
  aml.copy(b, HEADER);
  checksum(b, 9);
  return b;
}

/** acpi2_0.h IAPC_BOOT_ARCH bits. */
export const ACPI_FADT_NO_VGA = 1 << 2, ACPI_FADT_NO_CMOS_RTC = 1 << 5;

function fadt(dsdtAt: number, oem: AcpiOem): Buffer {
  const b = Buffer.alloc(FADT_SIZE);
  header(b, "FACP", FADT_SIZE, 5, oem);
  b.writeUInt32LE(dsdtAt, 40); // DSDT (32-bit)
  b.writeUInt32LE(FADT_HW_REDUCED_ACPI, 112); // Flags: no PM timer, SCI, fixed registers
  // IAPC_BOOT_ARCH as libacpi's build.c sets it for libxl's PVH table_flags (no ACPI_HAS_VGA,
  // ACPI_HAS_8042 or ACPI_HAS_CMOS_RTC): no VGA, no CMOS RTC (Linux then registers no rtc_cmos
  // and never polls ports 0x70/0x71), no 8042, no legacy devices.
  b.writeUInt16LE(ACPI_FADT_NO_VGA | ACPI_FADT_NO_CMOS_RTC, 109);
  b[131] = 0; // FADT minor version (ACPI 5.0)
  b.writeBigUInt64LE(BigInt(dsdtAt), 140); // X_DSDT
  checksum(b, 9);
  return b;
}

function madt(vcpus: number, online: number, oem: AcpiOem): Buffer {
  const b = Buffer.alloc(44 + 8 * vcpus);
  header(b, "APIC", b.length, 2, oem);
  b.writeUInt32LE(LAPIC_BASE_ADDRESS, 36); // Local Interrupt Controller Address
  b.writeUInt32LE(0, 40); // Flags: no PCAT_COMPAT (there are no 8259s)
  for (let i = 0; i < vcpus; i++) {
    const e = 44 + 8 * i;
    b[e] = 0; b[e + 1] = 8; // Processor Local APIC, length 8
    b[e + 2] = i; // ACPI Processor UID
    b[e + 3] = lapicId(i);
    b.writeUInt32LE(i < online ? 1 : 0, e + 4); // Enabled
  }
  checksum(b, 9);
  return b;
}

export interface AcpiTables {
  /** Guest-physical address of each page run, and its bytes. */
  pages: { at: number; bytes: Uint8Array }[];
  rsdp: number;
  /** The E820 "ACPI" region covering them. */
  region: { addr: number; size: number };
  /** Where each table was put, by signature. */
  tables: Record<string, number>;
}

/**
 * The tables for `vcpus` vCPUs (max_vcpus), `online` of them up at boot; `oem` names the firmware,
 * `devices` is AML for more Device objects in \_SB (a firmware's VMBus or serial port).
 */
export function buildAcpiTables(vcpus: number, online = vcpus, base = ACPI_INFO_PHYSICAL_ADDRESS, oem: AcpiOem = XEN_OEM, devices: readonly number[] = []): AcpiTables {
  const PAGE = 4096;
  const tablesAt = base + PAGE; // the first page is hvmloader's acpi_info (left zero: no PM or TPM info for PVH)
  const parts: [string, Buffer][] = [];
  let at = tablesAt;
  const place = (sig: string, make: (at: number) => Buffer): number => {
    const here = at;
    const b = make(here);
    parts.push([sig, b]);
    at = here + ((b.length + 15) & ~15); // libacpi aligns tables to 16
    return here;
  };
  const dsdtAt = place("DSDT", () => dsdt(vcpus, oem, devices));
  const fadtAt = place("FACP", () => fadt(dsdtAt, oem));
  const madtAt = place("APIC", () => madt(vcpus, online, oem));
  const xsdtAt = place("XSDT", () => {
    const b = Buffer.alloc(HEADER + 16);
    header(b, "XSDT", b.length, 1, oem);
    b.writeBigUInt64LE(BigInt(fadtAt), 36);
    b.writeBigUInt64LE(BigInt(madtAt), 44);
    checksum(b, 9);
    return b;
  });
  const tableBytes = Buffer.alloc(Math.ceil((at - tablesAt) / PAGE) * PAGE);
  let o = 0;
  for (const [, b] of parts) { b.copy(tableBytes, o); o += (b.length + 15) & ~15; }
  const rsdpAt = tablesAt + tableBytes.length;
  const rsdp = Buffer.alloc(36);
  rsdp.write("RSD PTR ", 0, "latin1");
  rsdp.write(oem.oemId.padEnd(6, " "), 9, "latin1");
  rsdp[15] = 2; // revision 2: XSDT
  rsdp.writeUInt32LE(0, 16); // no RSDT (libacpi builds one too; Linux takes the XSDT when revision >= 2)
  rsdp.writeUInt32LE(36, 20);
  rsdp.writeBigUInt64LE(BigInt(xsdtAt), 24);
  checksum(rsdp, 8, 20); // ACPI 1.0 checksum over the first 20 bytes
  checksum(rsdp, 32, 36); // extended checksum over all 36
  const tables = Object.fromEntries(parts.map(([s], i) => [s, [dsdtAt, fadtAt, madtAt, xsdtAt][i]!]));
  return {
    pages: [{ at: base, bytes: new Uint8Array(PAGE) }, { at: tablesAt, bytes: new Uint8Array(tableBytes) }, { at: rsdpAt, bytes: new Uint8Array(rsdp) }],
    rsdp: rsdpAt,
    region: { addr: base, size: rsdpAt + PAGE - base },
    tables,
  };
}
