/**
 * Debian's hv_vmbus on a Longhorn host that also offers VMBus 2.4 (WIN8), the oldest version Linux
 * 5.17 and later ask for (connection.c vmbus_versions[]; the 2008 host's 0.13 and 1.1 were dropped
 * from it). The same unmodified kernel and busybox initramfs as tests/linux/longhorn-enlightened,
 * booted natively by the x86 boot protocol, with a VHD on the child's synthetic SCSI controller.
 * The oracle is Linux: its own "Vmbus version:2.4" line, and the channel offer as its vmbus bus
 * registered it in sysfs (class_id, device_id, the relid), read from the guest's shell.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { HypervHost, HV_SCSI_GUID, LONGHORN_VMBUS_VERSIONS, VMBUS_VERSION } from "../../src/hyperv";
import { longhornConsole } from "../../src/hyperv/console";
import { createVhd } from "../../src/vhd/create";
import { VhdDisk } from "../../src/vhd";
import { consoleSession } from "../../src/xen/console-session";
import { buildInitramfs, INIT_FIRST_LINE, linuxGuest } from "../support/linux-guest";

const ver = (major: number, minor: number) => (major << 16) | minor;

describe("Debian's hv_vmbus on a Longhorn host offering VMBus 2.4 (WIN8) beside 0.13 and 1.1", () => {
  it("connects at 2.4, takes the host's SCSI channel offer and registers it in /sys/bus/vmbus/devices", () => {
    const g = linuxGuest();
    const hv = new HypervHost({ lps: 1, memoryMiB: 512, vmbusVersions: [...LONGHORN_VMBUS_VERSIONS, VMBUS_VERSION.WIN8] });
    const busybox = new Uint8Array(readFileSync(join(g.modules, "..", "..", "..", "bin", "busybox")));
    const ramdisk = buildInitramfs(busybox, g.modules, g.version, ["drivers/hv/hv_vmbus.ko"]);
    const p = hv.createChild({
      name: "debian-hv", memoryMiB: 256, linux: new Uint8Array(readFileSync(g.bzImage)), ramdisk,
      cmdline: "earlyprintk=serial,ttyS0,115200 console=ttyS0 loglevel=8 nokaslr xenlab.shell",
    });
    const dir = mkdtempSync(join(tmpdir(), "xenlab-longhorn-scsi-"));
    const vhd = join(dir, "scsi.vhd");
    createVhd(vhd, { type: "dynamic", size: 16 * 2 ** 20 }).close();
    hv.attachDisk(p, VhdDisk.open(vhd), vhd);
    const bus = hv.vmbus(p);
    const ch = bus.channels[0]!;

    const r = hv.run({ until: () => p.console.includes("/ # ") || p.vp(0).state === "suspended", maxInstructions: 4_000_000_000 });
    expect(r.stoppedBy, `console so far:\n${p.console.slice(-3000)}`).toBe("until");
    expect(p.console).toContain(INIT_FIRST_LINE);
    const sh = consoleSession(longhornConsole(hv, p), { maxInstructions: 1_500_000_000 });

    // Linux walks its list newest first: 5.3..5.0 go to message connection 4 (absent here), then
    // 4.1, 4.0, 3.0 on connection 1 are refused and 2.4 is accepted.
    const out = sh.run(`insmod /lib/modules/${g.version}/drivers/hv/hv_vmbus.ko; echo rc=$?`);
    expect(out).toMatch(/rc=0$/);
    const dmesg = sh.run("dmesg").split(/\r?\n/).map((l) => l.replace(/^\[\s*\d+\.\d+\] /, ""));
    expect(dmesg).toContain("hv_vmbus: Vmbus version:2.4");
    expect(dmesg.filter((l) => /Unable to connect|WARNING:|BUG:|Oops|hv_vmbus: .*(fail|error)/i.test(l))).toEqual([]);
    expect(bus.requested).toEqual([ver(4, 1), ver(4, 0), ver(3, 0), ver(2, 4)]);
    expect(bus.version).toBe(VMBUS_VERSION.WIN8);
    // Below 5.0 the contact carries the interrupt page and both monitor pages (hv_vmbus allocates
    // them in vmbus_connect); target VP 0 (VMBUS_CONNECT_CPU's VP index).
    expect(bus.contact!.interruptPage % 4096).toBe(0);
    expect(bus.contact!.interruptPage).toBeGreaterThan(0);
    expect(bus.contact!.monitorPage1).toBeGreaterThan(0);
    expect(bus.contact!.monitorPage2).toBeGreaterThan(0);
    expect(bus.contact!.targetVcpu).toBe(0);
    expect(bus.log.map((m) => `${m.dir} ${m.type}`)).toEqual(expect.arrayContaining(["in REQUESTOFFERS", "out OFFERCHANNEL", "out ALLOFFERS_DELIVERED"]));

    // The offer as Linux's vmbus bus registered it (vmbus_device_register, dev_name = the instance GUID).
    expect(sh.run("ls /sys/bus/vmbus/devices")).toBe(ch.instance);
    const dev = `/sys/bus/vmbus/devices/${ch.instance}`;
    expect(sh.run(`cat ${dev}/class_id`)).toBe(`{${HV_SCSI_GUID}}`);
    expect(sh.run(`cat ${dev}/device_id`)).toBe(`{${ch.instance}}`);
    expect(sh.run(`cat ${dev}/id`)).toBe(String(ch.relid));
    expect(p.vp(0).synic.counters.delivered).toBeGreaterThanOrEqual(bus.requested.length + 2);
  }, 1_800_000);
});
