/** Console input through the ring, and Jupyter interrupts stopping long runs cleanly. */
import { afterEach, describe, expect, it } from "vitest";
import { XenHost } from "../../src/xen/host";
import { KeyboardInterrupt, setInterruptSource } from "../../src/interrupt";
import { echoGuest, labCode } from "./helpers";

afterEach(() => setInterruptSource(() => false));

describe("PV console input", () => {
  it("typed input lands in the in[] ring, the guest is woken by the console event and echoes it", () => {
    const host = new XenHost({ pcpus: 1, memoryMiB: 128 });
    // Echo loop: drain in[in_cons..in_prod) to console_io one byte at a time, else block.
    const d = host.createLabDomain("echo", echoGuest());
    host.run({ ns: 1e6 });
    expect(d.vcpus[0]!.runstate).toBe("blocked");
    expect(host.consoleInput(d, "hello xen\n")).toBe(10);
    host.run({ ns: 1e6 });
    expect(host.dmesg).toContain("(d1) hello xen");
    expect(d.vcpus[0]!.runstate).toBe("blocked");
  });
});

describe("interrupts", () => {
  it("a Jupyter interrupt stops host.run between slices; the host stays consistent and runs again", () => {
    const host = new XenHost({ pcpus: 2, memoryMiB: 128 });
    const d = host.createLabDomain("spin", labCode("l: inc rax\n jmp l"));
    const t0 = Date.now();
    setInterruptSource(() => Date.now() - t0 > 150);
    expect(() => host.run({ ns: 1e12 })).toThrow(KeyboardInterrupt);
    const took = Date.now() - t0;
    expect(took).toBeLessThan(150 + 100 + 200); // interrupt checked every ~20 ms of wall time
    setInterruptSource(() => false);
    const now = host.now, rax = d.vcpus[0]!.cpu!.getReg("rax");
    expect(host.now % host.quantumNs).toBe(0); // stopped on a quantum boundary
    const r = host.run({ ns: 1e6 });
    expect(r.endNs).toBe(now + 1e6);
    expect(d.vcpus[0]!.cpu!.getReg("rax")).toBeGreaterThan(rax);
  });
});
