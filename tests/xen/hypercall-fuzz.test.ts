/**
 * Guests are untrusted: 20,000 hypercalls with random numbers, sub-ops and arguments (valid and
 * invalid pointers into random guest memory) must come back as values in RAX — never a host
 * exception — and leave the host able to run.
 */
import { describe, expect, it } from "vitest";
import { XenHost } from "../../src/xen/host";
import { dispatchHypercall } from "../../src/xen/hypercalls";
import { labCode } from "./helpers";

describe("hypercall fuzz", () => {
  it("random hypercalls from two domains never throw in the host", () => {
    const host = new XenHost({ pcpus: 2, memoryMiB: 256 });
    const doms = [host.createLabDomain("f1", labCode("sti\n l: hlt\n jmp l"), { vcpus: 2 }), host.createLabDomain("f2", labCode("sti\n l: hlt\n jmp l"))];
    host.run({ ns: 1e6 });
    let seed = 1234567;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const pick = <T>(a: T[]): T => a[Math.floor(rnd() * a.length)]!;
    const buf = 0x200000;
    const values = (): bigint => BigInt(pick([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 16, 17, 0x7ff0, 0x7ff4, 2, 3, -1, 4096, 1 << 20, buf, buf + 8, buf + 4090, buf + 0x100, 0xfeffc000, 0x7fffffffffff, -0x800000000000]));
    let results = 0;
    for (let i = 0; i < 20_000; i++) {
      const d = pick(doms);
      if (!host.domains.has(d.domid)) continue;
      // Random bytes in the argument area (with plausible small numbers mixed in).
      const junk = new Uint8Array(512);
      for (let k = 0; k < junk.length; k++) junk[k] = rnd() < 0.6 ? 0 : Math.floor(rnd() * 256);
      d.guest.write(buf, junk);
      const v = pick(d.vcpus.filter((x) => x.online));
      const cpu = v.cpu!;
      cpu.setReg("rax", BigInt(Math.floor(rnd() * 45)));
      for (const r of ["rdi", "rsi", "rdx", "r10", "r8"]) cpu.setReg(r, values());
      dispatchHypercall(host, v);
      expect(typeof cpu.getReg("rax")).toBe("bigint");
      results++;
      // Blocked or shut down vCPUs are fine; bring them back so the fuzz keeps going.
      if (v.runstate === "blocked") host.makeRunnable(v, false);
    }
    expect(results).toBeGreaterThan(10_000);
    // The host still schedules and tears down cleanly.
    host.run({ ns: 2e6 });
    for (const d of [...host.domains.values()]) if (d.domid !== 0) host.destroyDomain(d);
    expect(host.domains.size).toBe(1);
  });
});
