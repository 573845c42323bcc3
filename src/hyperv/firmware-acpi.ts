/**
 * The ACPI tables Hyper-V's firmware gives a partition booted natively: the platform's RSDP →
 * XSDT → FADT/MADT → DSDT (src/xen/loader/acpi.ts) under Hyper-V's OEM fields ("VRTUAL",
 * "MICROSFT", "MSFT"), with two devices in \_SB the way Hyper-V's DSDT declares them:
 *   Device (VMBS) { Name (_HID, "VMBus") Name (_UID, Zero) Name (_CRS, ResourceTemplate () {}) }
 *     (Linux's drivers/hv/vmbus_drv.c binds to ACPI ids "VMBUS", "VMBus", "MSFT1000"; on x86 its
 *     interrupt is the hypervisor callback vector, so the resource template is empty)
 *   Device (UAR1) { Name (_HID, EisaId ("PNP0501")) Name (_UID, One)
 *     Name (_CRS, ResourceTemplate () { IO (Decode16, 0x03F8, 0x03F8, 0x01, 0x08) }) }
 *     (COM1 without an IRQ: the platform has no PIC or IOAPIC, so Linux's 8250_pnp polls it)
 * AML encodings from ACPI 6.x §20 (NameOp 0x08, DeviceOp 0x5b 0x82, BufferOp 0x11, StringPrefix
 * 0x0d, DWordPrefix 0x0c, ZeroOp/OneOp) and §6.4 (I/O port descriptor 0x47, end tag 0x79).
 */
import { buildAcpiTables, nameSeg, pkgLength, type AcpiOem, type AcpiTables } from "../xen/loader/acpi";
import { COM1_PORT } from "../platform/uart16550";

export const HYPERV_OEM: AcpiOem = { oemId: "VRTUAL", oemTableId: "MICROSFT", creatorId: "MSFT" };

const str = (s: string) => [0x0d, ...Buffer.from(s + "\0", "latin1")];
const name = (seg: string, value: number[]) => [0x08, ...nameSeg(seg), ...value];
const device = (seg: string, body: number[]) => {
  const inner = [...nameSeg(seg), ...body];
  return [0x5b, 0x82, ...pkgLength(inner.length), ...inner];
};
/** Buffer (n) { bytes }: a resource template's bytes with the end tag (checksum byte 0). */
const resourceTemplate = (descriptors: number[]) => {
  const bytes = [...descriptors, 0x79, 0x00];
  const inner = [0x0a, bytes.length, ...bytes]; // BufferSize as a ByteConst
  return [0x11, ...pkgLength(inner.length), ...inner];
};
/** EisaId ("PNP0501"): three 5-bit letters and four hex digits, stored as a big-endian dword. */
function eisaId(id: string): number[] {
  const l = (i: number) => id.charCodeAt(i) - 0x40;
  const v = ((l(0) << 26) | (l(1) << 21) | (l(2) << 16) | parseInt(id.slice(3), 16)) >>> 0;
  return [0x0c, (v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

export function hypervDsdtDevices(): number[] {
  const io = [0x47, 0x01, COM1_PORT & 0xff, COM1_PORT >> 8, COM1_PORT & 0xff, COM1_PORT >> 8, 0x01, 0x08];
  return [
    ...device("VMBS", [...name("_HID", str("VMBus")), ...name("_UID", [0x00]), ...name("_CRS", resourceTemplate([]))]),
    ...device("UAR1", [...name("_HID", eisaId("PNP0501")), ...name("_UID", [0x01]), ...name("_CRS", resourceTemplate(io))]),
  ];
}

export function hypervFirmwareTables(vps: number): AcpiTables {
  return buildAcpiTables(vps, vps, undefined, HYPERV_OEM, hypervDsdtDevices());
}
