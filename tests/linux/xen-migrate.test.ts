/**
 * Live migration of Debian's own kernel between two Xen hosts, pre-copy as libxc's xc_sr_save does
 * (src/xen/migrate.ts): a shell loop keeps writing while the pages go over, and the oracles are
 * the guest's own: its counter goes on from where it was, its boot_id is the one it booted with,
 * a file written before the move has the same md5sum after it (every page of its tmpfs came
 * across), and its dmesg shows no BUG or WARNING.
 */
import { describe, expect, it } from "vitest";
import { consoleSession, xenConsole } from "../../src/xen/console-session";
import { XenHost } from "../../src/xen/host";
import { migrateDomain } from "../../src/xen/migrate";
import { linuxGuest } from "../support/linux-guest";

const WRITER = "i=0; while true; do i=$((i+1)); echo $i > /tmp/counter; dd if=/dev/zero of=/tmp/blob bs=4k count=64 2>/dev/null; usleep 20000; done";

describe("Live migration of Debian's kernel", () => {
  it("a writing shell loop moves from hosta to hostb in pre-copy rounds; its counter, boot_id and files carry on", () => {
    const g = linuxGuest();
    const a = new XenHost({ hostname: "hosta", pcpus: 1, memoryMiB: 512 });
    const b = new XenHost({ hostname: "hostb", pcpus: 1, memoryMiB: 512 });
    const d = a.createDomain(`name = "debian"\ntype = "pvh"\nkernel = "${g.bzImage}"\nramdisk = "${g.initrd}"\nmemory = 256\nmaxmem = 256\nvcpus = 1\non_crash = "preserve"\nextra = "console=hvc0 loglevel=4 xenlab.shell"\n`);
    let out = "";
    a.consoleListeners.add((dom, text) => { if (dom === d) out += text; });
    const r = a.run({ until: () => out.includes("/ # ") || d.isShutdown, maxInstructions: 2_500_000_000 });
    expect(r.stoppedBy, `console so far:\n${out.slice(-3000)}`).toBe("until");
    const sh = consoleSession(xenConsole(a, "debian"), { maxInstructions: 1_000_000_000 });
    const bootId = sh.run("cat /proc/sys/kernel/random/boot_id");
    const sum = sh.run("dd if=/dev/urandom of=/tmp/r bs=4k count=256 2>/dev/null; md5sum /tmp/r");
    sh.run(`(${WRITER}) &`);
    const before = Number(sh.run("sleep 1; cat /tmp/counter"));
    expect(before).toBeGreaterThan(0);

    const m = migrateDomain(a, d, b);
    console.log(`rounds: ${m.rounds.map((x) => `${x.pagesSent}${x.final ? " (final)" : ""}`).join(" -> ")} pages; unlogged ${m.unloggedPages}; wall ${m.rounds.map((x) => x.wallMs.toFixed(0)).join("+")} ms`);
    expect(a.findDomain("debian")).toBeUndefined();
    // Round 0 sends the guest's written RAM (tens of MiB); each later round only what the loop
    // dirtied meanwhile, so the copy converges; Xen's own writes were logged too.
    expect(m.rounds[0]!.pagesSent).toBeGreaterThan(5000);
    expect(m.rounds.at(-1)!.final).toBe(true);
    expect(m.rounds[1]!.pagesSent).toBeLessThan(m.rounds[0]!.pagesSent / 10);
    expect(m.unloggedPages).toBe(0);

    const sh2 = consoleSession(xenConsole(b, "debian"), { maxInstructions: 1_000_000_000 });
    const after = Number(sh2.run("cat /tmp/counter"));
    expect(after).toBeGreaterThanOrEqual(before);
    expect(Number(sh2.run("sleep 1; cat /tmp/counter"))).toBeGreaterThan(after);
    expect(sh2.run("cat /proc/sys/kernel/random/boot_id")).toBe(bootId);
    expect(sh2.run("md5sum /tmp/r")).toBe(sum);
    expect(sh2.run("wc -c < /tmp/blob")).toBe(String(64 * 4096));
    expect(sh2.run("dmesg | grep -c -e WARNING -e BUG")).toBe("0");
  }, 900_000);
});
