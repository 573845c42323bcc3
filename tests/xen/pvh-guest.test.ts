/**
 * The C PVH guest (tests/guests/pvh-guest.c, built by gcc against libxen-dev) boots like Mini-OS on
 * two domains that talk to each other; every step is checked from outside: Xen's console, the
 * console rings, XenStore contents and permissions, event channel state, grant table flags,
 * hypercall counters, and the toolstack's reaction to shutdown and reboot.
 */
import { gfn } from "../../src/machine/types";
import { port } from "../../src/xen/types";
import { beforeAll, describe, expect, it } from "vitest";
import { XenHost } from "../../src/xen/host";
import { Domain } from "../../src/xen/domain";
import { HYPERVISOR } from "../../src/xen/abi";
import { buildPvhGuest } from "./guest-build";

let host: XenHost;
let ping: Domain;
let pong: Domain;

const cfg = (name: string, cmdline: string, extra = "") => `# a PVH guest
name = "${name}"
type = "pvh"
kernel = "${buildPvhGuest().path}"
memory = 32
vcpus = 1
cmdline = "${cmdline}"
on_reboot = "restart"
${extra}`;

beforeAll(() => {
  host = new XenHost({ pcpus: 2, memoryMiB: 512 });
  ping = host.createDomain(cfg("ping", "role=ping peer=2 rounds=10"));
  pong = host.createDomain(cfg("pong", "role=pong peer=1 rounds=10"));
  const r = host.run({ ns: 50_000_000 });
  expect(r.instructions).toBeGreaterThan(10_000);
});

describe("PVH boot of the C guest", () => {
  it("enters at XEN_ELFNOTE_PHYS32_ENTRY in 32-bit mode, finds the Xen leaves, installs the hypercall page, prints with console_io", () => {
    expect(host.dmesg).toContain("(d1) Bootstrapping...");
    // magic and memory map come from hvm_start_info at EBX, read by the guest itself
    expect(host.dmesg).toContain("(d1) xen_version 4.17 magic 336ec578 memmap 3 ram 32MiB"); // RAM, special pages, ACPI tables
    expect(ping.hypercallPageGpa).toBeDefined();
    const page = ping.guest.read(ping.hypercallPageGpa!, 4096);
    // mov eax, 17; vmcall; ret at 17*32 (xen_version), ud2 in the iret slot
    expect([...page.subarray(17 * 32, 17 * 32 + 9)]).toEqual([0xb8, 17, 0, 0, 0, 0x0f, 0x01, 0xc1, 0xc3]);
    expect([...page.subarray(23 * 32, 23 * 32 + 2)]).toEqual([0x0f, 0x0b]);
  });

  it("prints through the PV console ring after mapping shared_info", () => {
    expect(ping.consoleLog).toContain("console ring up: port 2, shared_info rc 0\n");
    expect(ping.sharedInfoGfn).toBeDefined();
    expect(host.machine.p2m(ping.domid).lookup(gfn(ping.sharedInfoGfn!))?.mfn).toBe(ping.sharedInfoMfn);
  });

  it("reads and writes XenStore over its ring, and is refused dom0's keys", () => {
    expect(ping.consoleLog).toContain("xenstore: name=ping domid=1 data/hello=world dom0-name=EACCES\n");
    expect(host.xenstore.read("/local/domain/1/data/hello")).toBe("world");
    expect(host.xenstore.getPerms("/local/domain/1/data/port")).toEqual([{ perm: "n", id: 1 }, { perm: "r", id: 2 }]);
    expect(ping.storeRing!.bytesIn).toBeGreaterThan(100);
  });

  it("sleeps in SCHEDOP_block until VIRQ_TIMER from set_timer_op, measured with vcpu_time_info", () => {
    const m = /timer: port (\d+) slept (\d+) us/.exec(ping.consoleLog)!;
    expect(m).not.toBeNull();
    const slept = Number(m[2]);
    expect(slept).toBeGreaterThanOrEqual(1000);
    expect(slept).toBeLessThan(1000 + host.quantumNs / 1000 + 10);
    expect(ping.evtchn.get(port(Number(m[1])))?.state).toBe("virq");
  });

  it("ping-pongs over an interdomain event channel set up via a XenStore watch", () => {
    expect(ping.consoleLog).toContain("ping: 10 round trips");
    expect(pong.consoleLog).toContain("pong: 10 round trips");
    expect(pong.consoleLog).toMatch(/pong: watch fired [2-9] times, peer port 4 gref 8/);
    const e = ping.evtchn.get(port(4))!;
    expect(e.state).toBe("interdomain");
    expect(e.remoteDom).toBe(2);
    expect(pong.evtchn.get(e.remotePort)!.remotePort).toBe(4);
    expect(ping.hypercalls.get(HYPERVISOR.event_channel_op)).toBeGreaterThanOrEqual(10);
  });

  it("grants a page that the peer maps, reads and writes; Xen sets GTF_reading|GTF_writing while mapped", () => {
    expect(pong.consoleLog).toContain('pong: map status 0 handle 0 reads "granted by ping"');
    expect(ping.consoleLog).toContain('ping: grant flags while mapped 0x19, page says "pong was here"');
    expect(ping.consoleLog).toContain("ping: grant flags after unmap 0x1");
    expect(pong.consoleLog).toContain("pong: unmap status 0");
    expect(pong.gnttab.mappingCount).toBe(0);
  });

  it("every hypercall is counted per domain and traced", () => {
    expect(pong.hypercalls.get(HYPERVISOR.grant_table_op)).toBe(2);
    const recs = host.traceRecords();
    expect(recs.some((r) => r.dom === 2 && r.name === "grant_table_op" && r.result === 0n)).toBe(true);
  });

  it("idles when every vCPU is blocked, without running instructions", () => {
    expect(ping.vcpus[0]!.runstate).toBe("blocked");
    const r = host.run({ ns: 10_000_000 });
    expect(r.instructions).toBe(0);
  });

  it("xl shutdown: control/shutdown → the guest acks and powers off → on_poweroff=destroy", () => {
    let released = 0;
    host.xenstore.watch("@releaseDomain", "t", -1, () => released++);
    host.requestShutdown(ping, "poweroff");
    host.run({ ns: 5_000_000 });
    expect(ping.consoleLog).toContain("shutdown requested: poweroff");
    expect(host.findDomain("ping")).toBeUndefined();
    expect(host.xenstore.exists("/local/domain/1")).toBe(false);
    expect(released).toBeGreaterThanOrEqual(2); // the initial fire, then the release
    expect(host.toolstackLog).toContain("Action for shutdown reason code 0 is destroy");
  });

  it("xl reboot: the guest shuts down with SHUTDOWN_reboot and on_reboot=restart boots it again with a new domid", () => {
    host.requestShutdown(pong, "reboot");
    host.run({ ns: 5_000_000 });
    expect(pong.consoleLog).toContain("shutdown requested: reboot");
    const again = host.domain("pong");
    expect(again.domid).toBe(3);
    expect(again.uuid).toBe(pong.uuid);
    expect(host.dmesg).toContain("(d3) Bootstrapping...");
  });
});
