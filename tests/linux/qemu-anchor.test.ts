import { describe, expect, it } from "vitest";
import { INIT_FIRST_LINE, linuxGuest } from "../support/linux-guest";
import { dmesgFacts, qemuPvhBoot } from "../support/qemu-pvh";

describe("the anchor: QEMU TCG boots the same vmlinux and initramfs through its PVH entry", () => {
  it("reaches the initramfs's /init, which sees the kernel's version and CPU count, then powers off", async () => {
    const g = linuxGuest();
    const r = await qemuPvhBoot({ vmlinux: g.vmlinux, initrd: g.initrd, cpus: 2, firstLine: INIT_FIRST_LINE, timeoutMs: 120_000 });
    expect(r.output).toContain(INIT_FIRST_LINE);
    expect(r.output).toContain(`xenlab-initramfs: uname ${g.version} cpus 2`);
    expect(r.output).toContain("xenlab-initramfs: done");
    const facts = dmesgFacts(r.output);
    expect(facts.version).toBe(g.version);
    expect(facts.e820.some((e) => e.endsWith("usable"))).toBe(true);
    console.log(`qemu TCG: first /init line after ${r.firstLineMs.toFixed(0)} ms, exit after ${r.exitMs.toFixed(0)} ms; ${facts.hypervisor}`);
  }, 180_000);
});
