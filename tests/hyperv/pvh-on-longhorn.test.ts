/**
 * The C PVH test guest of the Xen host (tests/guests/pvh-guest.c, gcc -ffreestanding against
 * libxen-dev), unmodified, on the Longhorn host through the Xen hypercall adapter: boot by the
 * PVH protocol, Xen's CPUID leaves found at 0x40000100, console ring, shared_info, XenStore,
 * the timer VIRQ and SCHEDOP_block, 20 XenStore reads and SCHEDOP_shutdown (its "xsbench" role).
 * Its console transcript is compared byte for byte with the Xen host's.
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { XenHost } from "../../src/xen/host";
import { HypervHost } from "../../src/hyperv";
import { HVCALL } from "../../src/hyperv/tlfs";
import { buildPvhGuest } from "../xen/guest-build";

/**
 * Xen's builder lists libxl's ACPI tables in the memory map (E820_ACPI, libxl_x86_acpi.c); the
 * Hyper-V loader gives RAM and the special pages only, so the guest's entry count differs there.
 */
const sameMap = (c: string) => c.replace(/ memmap \d+ /, " memmap N ");

describe("the Xen PVH guest on Longhorn", () => {
  it("boots through the hypercall adapter with the same console as on Xen", () => {
    const { path } = buildPvhGuest();
    const xen = new XenHost({ pcpus: 1, memoryMiB: 256 });
    const d = xen.createDomain(`name = "pvh"\ntype = "pvh"\nkernel = "${path}"\nmemory = 16\ncmdline = "role=xsbench rounds=20"`);
    xen.run({ until: () => d.consoleLog.includes("timer:"), maxInstructions: 20_000_000 });

    const hv = new HypervHost({ lps: 1 });
    const p = hv.createChild({ name: "pvh", memoryMiB: 16, pvh: new Uint8Array(readFileSync(path)), cmdline: "role=xsbench rounds=20" });
    hv.run({ until: () => p.console.includes("timer:"), maxInstructions: 20_000_000 });
    expect(d.consoleLog).toContain("timer: port 3 slept");
    expect(sameMap(p.console)).toBe(sameMap(d.consoleLog));
    // role=xsbench: 20 more XenStore reads over the ring, then SCHEDOP_shutdown(poweroff).
    xen.run({ ns: 20_000_000 });
    hv.run({ until: () => p.shutdownReason !== undefined, maxInstructions: 20_000_000 });
    expect(d.consoleLog).toContain("xsbench: 20 reads of name=pvh\n");
    expect(sameMap(p.console)).toBe(sameMap(d.consoleLog));
    expect(p.shutdownReason).toBe(0); // SHUTDOWN_poweroff
    expect(p.vp(0).state).toBe("suspended");
    // What the boot cost on each side: Xen hypercalls, and the Hyper-V calls they became.
    const a = p.xenAdapter!;
    const xenCalls = [...a.counts.values()].reduce((n, c) => n + c.calls, 0);
    const hvCalls = [...a.counts.values()].reduce((n, c) => n + c.hv, 0);
    expect(xenCalls).toBeGreaterThan(20);
    expect(hvCalls).toBe(hv.trace.filter((t) => t.partition === p.id).length);
    expect(a.counts.get("event_channel_op")!.hv).toBeGreaterThan(0);
    expect(a.toMimeBundle()["text/plain"]).toContain("set_timer_op");
  });
});

describe("two Xen PVH guests on Longhorn: event channels, XenStore between domains, grants", () => {
  // ping offers an event channel and a grant through XenStore; pong binds, they exchange 10
  // events, pong maps the grant, writes into it and unmaps it.
  it("ping/pong give the same consoles as on the Xen host", () => {
    const { path } = buildPvhGuest();
    const cfg = (name: string, cmdline: string) => `name = "${name}"\ntype = "pvh"\nkernel = "${path}"\nmemory = 32\ncmdline = "${cmdline}"`;
    const xen = new XenHost({ pcpus: 2, memoryMiB: 512 });
    const xa = xen.createDomain(cfg("ping", "role=ping peer=2 rounds=10"));
    const xb = xen.createDomain(cfg("pong", "role=pong peer=1 rounds=10"));
    xen.run({ until: () => xa.consoleLog.includes("after unmap") && xb.consoleLog.includes("unmap status"), maxInstructions: 50_000_000 });

    const hv = new HypervHost({ lps: 2 });
    const image = new Uint8Array(readFileSync(path));
    const a = hv.createChild({ name: "ping", memoryMiB: 32, pvh: image, cmdline: "role=ping peer=2 rounds=10" });
    const b = hv.createChild({ name: "pong", memoryMiB: 32, pvh: image, cmdline: "role=pong peer=1 rounds=10" });
    hv.run({ until: () => a.console.includes("after unmap") && b.console.includes("unmap status"), maxInstructions: 50_000_000 });
    expect(xa.consoleLog).toContain("ping: grant flags while mapped 0x19");
    // Identical except for how long the timer sleep took: the wake-up latency is each host's
    // scheduler's (Xen's credit scheduler with two busy domains vs our round-robin of VPs); alone,
    // both wake exactly on time (the test above).
    const us = /timer: port (\d+) slept (\d+) us/;
    const norm = (c: string) => sameMap(c.replace(us, "timer: port $1 slept N us"));
    expect({ ping: norm(a.console), pong: norm(b.console) }).toEqual({ ping: norm(xa.consoleLog), pong: norm(xb.consoleLog) });
    for (const c of [a.console, b.console]) expect(Number(us.exec(c)![2])).toBeGreaterThanOrEqual(1000);
    // The grant became a root-side mapping of ping's frame into pong (and was undone).
    expect(b.xenAdapter!.counts.get("grant_table_op")).toEqual({ calls: 2, hv: 0 });
    expect(b.xenAdapter!.gnttab.mappingCount).toBe(0);
    // Xen's GrantTable kept the state; the mapping was the root's HvMapGpaPages of ping's frame
    // into pong, and unmap mapped pong's own page back (pong mapped over a RAM page of its own).
    expect(b.xenAdapter!.log.filter((t) => t.xen.startsWith("grant_table_op")).flatMap((t) => t.hyperv)).toEqual([
      expect.stringMatching(/^root: HvMapGpaPages\(domain 2 gfn 0x[0-9a-f]+ <- domain 1's grant \d+\)$/),
      expect.stringMatching(/^root: HvMapGpaPages \(the guest's own page back\)\(domain 2 gfn 0x[0-9a-f]+\)$/),
    ]);
    const rootMaps = hv.trace.filter((t) => t.partition === hv.root.id && t.code === HVCALL.MAP_GPA_PAGES).length;
    expect(rootMaps).toBeGreaterThanOrEqual(2);
    expect(a.xenAdapter!.toMimeBundle()["text/plain"]).toMatch(/event_channel_op\s+\d+\s+\d+/);
  });
});
