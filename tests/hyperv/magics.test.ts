/** %import-vmc and %hyperv driven through the cell runner, as a notebook user types them. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cells } from "../support/cells";
import { setCurrentHypervHost } from "../../src/hyperv";

const dir = mkdtempSync(join(tmpdir(), "xenlab-hv-magic-"));
let cells: Cells;

beforeAll(() => {
  cells = new Cells();
  setCurrentHypervHost({ lps: 2 });
  execFileSync("qemu-img", ["create", "-q", "-f", "vpc", join(dir, "sles.vhd"), "32M"]);
  const xml = `<?xml version="1.0" encoding="UTF-16"?>\r\n<preferences>\r\n <hardware>\r\n  <memory><ram_size type="integer">64</ram_size></memory>\r\n  <pci_bus><ide_adapter><ide_controller id="0"><location id="1"><drive_type type="integer">1</drive_type><pathname><absolute type="string">E:\\vs\\sles.vhd</absolute><relative type="string">.\\sles.vhd</relative></pathname></location></ide_controller></ide_adapter></pci_bus>\r\n </hardware>\r\n</preferences>\r\n`;
  writeFileSync(join(dir, "sles10.vmc"), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(xml, "utf16le")]));
});
afterAll(() => cells.close());

describe("Hyper-V magics", () => {
  it("%import-vmc shows the drives and xl.cfg; --hyperv creates the partition; %hyperv lists it", async () => {
    const a = await cells.run(`%import-vmc ${join(dir, "sles10.vmc")}`);
    expect(a.errors).toEqual([]);
    expect(a.results[0]!["text/plain"]).toContain("IDE 0:1 disk -> hdb");
    expect(a.results[0]!["text/plain"]).toContain(`target=${join(dir, "sles.vhd")}`);
    const b = await cells.run(`%import-vmc ${join(dir, "sles10.vmc")} --hyperv --name sles10`);
    expect(b.errors).toEqual([]);
    expect(b.results[0]!["text/plain"]).toMatch(/Hyper-V partition \d+ "sles10" created/);
    const c = await cells.run("%hyperv partitions");
    expect(c.results[0]!["text/plain"]).toMatch(/sles10\s+child\s+initialized/);
    const d = await cells.run("%hyperv vmbus sles10");
    expect(d.results[0]!["text/plain"]).toContain("relid 1");
    const e = await cells.run("%hyperv trace 5");
    expect(e.results[0]!["text/plain"]).toContain("HvSetVpRegisters");
  });

  it("bad arguments are UsageErrors", async () => {
    const a = await cells.run("%import-vmc");
    expect(a.errors[0]!.ename).toBe("UsageError");
    const b = await cells.run("%hyperv trace -3");
    expect(b.errors[0]!.ename).toBe("UsageError");
    const c = await cells.run(`%import-vmc ${join(dir, "none.vmc")}`);
    expect(c.errors[0]!.ename).toBe("VmcError");
  });
});
