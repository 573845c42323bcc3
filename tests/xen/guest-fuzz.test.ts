/** Random machine code in lab domains: every outcome is a domain state (crash, reboot, power off, still running), never a host exception. */
import { describe, expect, it } from "vitest";
import { XenHost } from "../../src/xen/host";

describe("guest code fuzz", () => {
  it("80 domains of random bytes leave the host running and consistent", () => {
    const host = new XenHost({ pcpus: 2, memoryMiB: 512 });
    let seed = 99;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const outcomes = new Map<string, number>();
    for (let i = 0; i < 80; i++) {
      const code = new Uint8Array(64).map(() => Math.floor(rnd() * 256));
      const d = host.createLabDomain(`fz${i}`, code, { memoryMiB: 4, extra: 'on_crash = "preserve"\non_reboot = "preserve"\non_poweroff = "preserve"' });
      host.run({ ns: 50_000 });
      const what = d.shutdownReason ?? d.vcpus[0]!.runstate;
      outcomes.set(what, (outcomes.get(what) ?? 0) + 1);
      host.destroyDomain(d);
    }
    expect(host.domains.size).toBe(1);
    expect([...outcomes.keys()].some((k) => k === "crash" || k === "reboot")).toBe(true);
    // The host still runs a well-behaved guest afterwards.
    host.createLabDomain("ok", new Uint8Array([0xfa, 0xf4]));
    host.run({ ns: 1e6 });
    expect(host.findDomain("ok")).toBeUndefined(); // cli; hlt → powered off and destroyed
  });
});
