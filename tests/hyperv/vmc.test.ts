/**
 * Virtual Server 2005 .vmc import, with files in the shape VS2005 writes (UTF-16LE with BOM, CRLF,
 * ".\" relative paths next to Windows absolute ones) and hand-made UTF-8 ones; VHDs made by
 * qemu-img; the xl.cfg produced is read back by the Xen host's own xl.cfg parser.
 */
import { describe, expect, it, beforeAll } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HypervHost, parseVmc, readVmc, VmcError } from "../../src/hyperv";
import { parseXlConfig } from "../../src/xen/xl-config";
import { createDifferencing } from "../../src/vhd";

let dir: string;
const vmcXml = (abs: string, rel: string, extra = "") => `<?xml version="1.0" encoding="UTF-16"?>
<preferences>
    <version type="string">2.0</version>
    <hardware>
        <memory>
            <ram_size type="integer">384</ram_size>
        </memory>
        <pci_bus>
            <ethernet_adapter>
                <ethernet_controller id="0">
                    <virtual_network>
                        <id type="bytes">0123456789abcdef0123456789abcdef</id>
                        <name type="string">External Network (Intel PRO/1000)</name>
                    </virtual_network>
                    <ethernet_card_address type="bytes">0003FFA1B2C3</ethernet_card_address>
                </ethernet_controller>
            </ethernet_adapter>
            <ide_adapter>
                <ide_controller id="1">
                    <location id="0">
                        <drive_type type="integer">2</drive_type>
                        <pathname>
                            <absolute type="string" />
                            <relative type="string" />
                        </pathname>
                    </location>
                </ide_controller>
                <ide_controller id="0">
                    <location id="0">
                        <drive_type type="integer">1</drive_type>
                        <pathname>
                            <absolute type="string">${abs}</absolute>
                            <relative type="string">${rel}</relative>
                        </pathname>
                    </location>
                </ide_controller>
            </ide_adapter>${extra}
        </pci_bus>
    </hardware>
    <undo_drives>
        <enabled type="boolean">true</enabled>
    </undo_drives>
</preferences>
`;
const utf16 = (s: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(s.replace(/\n/g, "\r\n"), "utf16le")]);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "xenlab-vmc-"));
  mkdirSync(join(dir, "W2K3"));
  execFileSync("qemu-img", ["create", "-q", "-f", "vpc", join(dir, "W2K3", "base.vhd"), "64M"]);
  createDifferencing(join(dir, "W2K3", "W2K3.vhd"), join(dir, "W2K3", "base.vhd")).close();
  execFileSync("qemu-img", ["create", "-q", "-f", "vpc", join(dir, "data.vhd"), "16M"]);
});

describe("Virtual Server 2005 .vmc import", () => {
  it("reads a UTF-16 .vmc with a relative path, keeps the differencing chain, produces xl.cfg the Xen parser accepts", () => {
    const vmc = join(dir, "W2K3", "W2K3.vmc");
    writeFileSync(vmc, utf16(vmcXml("C:\\Virtual Machines\\W2K3\\W2K3.vhd", ".\\W2K3.vhd")));
    const imp = readVmc(vmc);
    expect(imp.config).toMatchObject({ name: "W2K3", memoryMiB: 384, undoDrives: true, encoding: "utf-16le" });
    expect(imp.config.nics).toEqual([{ index: 0, mac: "00:03:ff:a1:b2:c3", network: "External Network (Intel PRO/1000)" }]);
    expect(imp.disks).toHaveLength(1); // the empty CD drive is skipped
    const d = imp.disks[0]!;
    expect(d).toMatchObject({ bus: "ide", controller: 0, location: 0, kind: "disk", foundBy: "relative", vdev: "hda" });
    expect(d.chain.map((c) => [c.path.replace(dir, ""), c.type])).toEqual([["/W2K3/W2K3.vhd", "differencing"], ["/W2K3/base.vhd", "dynamic"]]);
    const xl = parseXlConfig(imp.xlcfg);
    expect(xl).toMatchObject({ name: "W2K3", type: "hvm", memory: 384 });
    expect(xl.disks[0]).toMatchObject({ vdev: "hda", format: "vhd", target: join(dir, "W2K3", "W2K3.vhd") });
    expect(imp.xlcfg).toContain("mac=00:03:ff:a1:b2:c3,bridge=External_Network__Intel_PRO_1000_");
  });

  it("imports onto the Hyper-V host: a suspended child with the VHD offered on VMBus", () => {
    const vmc = join(dir, "W2K3", "W2K3.vmc");
    const h = new HypervHost();
    const r = h.importVmc(vmc);
    expect(r.partition.name).toBe("W2K3");
    expect(r.partition.mappedPages).toBe(384 * 256);
    expect(r.partition.vp(0).state).toBe("suspended");
    const ch = h.vmbus(r.partition).channels;
    expect(ch).toHaveLength(1);
    const info = JSON.parse(execFileSync("qemu-img", ["info", "--output=json", join(dir, "W2K3", "base.vhd")]).toString());
    expect(ch[0]!.vsp.disk.size).toBe(info["virtual-size"]); // the differencing child shows its parent's size
    expect(h.toMimeBundle()["text/plain"]).toContain("W2K3");
  });

  it("UTF-8 with an absolute path, IDE and SCSI disks", () => {
    const vmc = join(dir, "u8.vmc");
    const scsi = `
            <scsi_adapter>
                <scsi_controller id="0">
                    <location id="2">
                        <drive_type type="integer">1</drive_type>
                        <pathname><absolute type="string">${join(dir, "data.vhd")}</absolute></pathname>
                    </location>
                </scsi_controller>
            </scsi_adapter>`;
    writeFileSync(vmc, "\ufeff" + vmcXml(join(dir, "W2K3", "W2K3.vhd"), "", scsi).replace('encoding="UTF-16"', 'encoding="UTF-8"'));
    const imp = readVmc(vmc, "web01");
    expect(imp.config.encoding).toBe("utf-8");
    expect(imp.disks.map((d) => [d.vdev, d.foundBy])).toEqual([["hda", "absolute"], ["sdc", "absolute"]]);
    expect(parseXlConfig(imp.xlcfg).disks.map((d) => d.vdev)).toEqual(["hda", "sdc"]);
  });

  it("a missing VHD is a clear error naming both paths tried", () => {
    const vmc = join(dir, "missing.vmc");
    writeFileSync(vmc, utf16(vmcXml("D:\\VMs\\gone.vhd", ".\\gone.vhd")));
    expect(() => readVmc(vmc)).toThrow(VmcError);
    expect(() => readVmc(vmc)).toThrow(/IDE 0:0 hard disk: not found; tried D:\\VMs\\gone\.vhd \(absolute\) and .*\/gone\.vhd \(relative \.\\gone\.vhd from/);
    expect(() => readVmc(join(dir, "nope.vmc"))).toThrow(/no such file/);
  });

  it("bad input: not XML, wrong root, bad numbers; mutations only ever raise VmcError", () => {
    expect(() => parseVmc(Buffer.from("<preferences><hardware>"), "a.vmc")).toThrow(/a\.vmc: not well-formed XML: line 1: <hardware> \(line 1\) has no end tag/);
    expect(() => parseVmc(Buffer.from("<vmx/>"), "b.vmc")).toThrow(/not <preferences>/);
    expect(() => parseVmc(Buffer.from("<preferences><hardware><memory><ram_size>lots</ram_size></memory></hardware></preferences>"), "c.vmc")).toThrow(/ram_size \(line 1\) is "lots"/);
    const good = Buffer.from(vmcXml("C:\\a.vhd", ".\\a.vhd"));
    let seed = 12345;
    const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) >>> 0; return seed % n; };
    let errors = 0;
    for (let k = 0; k < 2000; k++) {
      const m = Buffer.from(good);
      for (let j = 0; j < 1 + rnd(4); j++) m[rnd(m.length)] = "<>/=\"'&;x0 \n"[rnd(12)]!.charCodeAt(0);
      try { parseVmc(m, "m.vmc"); } catch (e) { expect(e).toBeInstanceOf(VmcError); errors++; }
    }
    expect(errors).toBeGreaterThan(100);
  });
});
