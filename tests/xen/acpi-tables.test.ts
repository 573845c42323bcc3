import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildAcpiTables, FADT_HW_REDUCED_ACPI, LAPIC_BASE_ADDRESS } from "../../src/xen/loader/acpi";
import { iasl, tableFiles } from "../support/acpi-files";

describe("the ACPI tables libxl builds for a PVH domU, read by ACPICA's iasl", () => {
  const files = tableFiles(buildAcpiTables(4, 2));

  it("RSDP revision 2 points at the XSDT, which lists the FADT and the MADT, every checksum valid", () => {
    // ACPI §5.2.5.3: "RSD PTR ", both checksums zero, revision 2, the XSDT's address at 24.
    const rsdp = readFileSync(files.get("RSDP")!);
    const sum = (n: number) => rsdp.subarray(0, n).reduce((a, v) => (a + v) & 0xff, 0);
    expect(rsdp.subarray(0, 8).toString("latin1")).toBe("RSD PTR ");
    expect([sum(20), sum(36), rsdp[15]]).toEqual([0, 0, 2]);
    expect(Number(rsdp.readBigUInt64LE(24))).toBe(buildAcpiTables(4, 2).tables.XSDT);
    const xsdt = iasl(files.get("XSDT")!);
    expect(xsdt).not.toMatch(/Incorrect checksum/i);
    expect((xsdt.match(/ACPI Table Address/g) ?? []).length).toBe(2);
  });

  it("the MADT has one local APIC per vCPU with Xen's APIC ids (2 × vCPU), those not online disabled", () => {
    const madt = iasl(files.get("APIC")!);
    expect(madt).not.toMatch(/Incorrect checksum/i);
    expect(madt).toContain(`Local Apic Address : ${LAPIC_BASE_ADDRESS.toString(16).toUpperCase().padStart(8, "0")}`);
    const ids = [...madt.matchAll(/Local Apic ID : ([0-9A-F]+)/g)].map((m) => parseInt(m[1]!, 16));
    expect(ids).toEqual([0, 2, 4, 6]);
    const enabled = [...madt.matchAll(/Processor Enabled : (\d)/g)].map((m) => Number(m[1]));
    expect(enabled).toEqual([1, 1, 0, 0]);
  });

  it("the FADT is revision 5 and hardware-reduced, and its DSDT declares one processor device per vCPU", () => {
    const fadt = iasl(files.get("FACP")!);
    expect(fadt).not.toMatch(/Incorrect checksum/i);
    expect(fadt).toMatch(/Revision : 05/);
    expect(fadt).toMatch(/Hardware Reduced \(V5\) : 1/);
    // IAPC_BOOT_ARCH as libacpi gives a PVH domU: no VGA, no CMOS RTC, no 8042, no legacy devices.
    expect(fadt).toMatch(/VGA Not Present \(V4\) : 1/);
    expect(fadt).toMatch(/CMOS RTC Not Present \(V5\) : 1/);
    expect(fadt).toMatch(/8042 Present on ports 60\/64 \(V2\) : 0/);
    expect(fadt).toMatch(/Legacy Devices Supported \(V2\) : 0/);
    expect(FADT_HW_REDUCED_ACPI).toBe(1 << 20);
    const dsdt = iasl(files.get("DSDT")!);
    expect((dsdt.match(/_HID, "ACPI0007"/g) ?? []).length).toBe(4);
  });
});
