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
import { buildPvhGuest } from "../xen/guest-build";

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
    expect(p.console).toBe(d.consoleLog);
    // role=xsbench: 20 more XenStore reads over the ring, then SCHEDOP_shutdown(poweroff).
    xen.run({ ns: 20_000_000 });
    hv.run({ until: () => p.shutdownReason !== undefined, maxInstructions: 20_000_000 });
    expect(d.consoleLog).toContain("xsbench: 20 reads of name=pvh\n");
    expect(p.console).toBe(d.consoleLog);
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
