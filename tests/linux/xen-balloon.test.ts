/**
 * Ballooning Debian's kernel on the Xen host: `xl mem-set` writes memory/target in XenStore as
 * libxl_set_memory_target does, the package's built-in balloon driver (CONFIG_XEN_BALLOON=y in its
 * config) watches it and gives pages back with XENMEM_decrease_reservation / takes them again with
 * XENMEM_populate_physmap. The oracles are the kernel's own accounting (/proc/meminfo MemTotal, the
 * driver's xen_memory0 sysfs) and, on the host side, the pages the domain owns in `xl list`.
 */
import { describe, expect, it } from "vitest";
import { consoleSession, xenConsole } from "../../src/xen/console-session";
import { XenHost } from "../../src/xen/host";
import { runXl } from "../../src/xen/xl/xl";
import { linuxGuest } from "../support/linux-guest";

/** `xl list`'s Mem column (MiB) for a domain. */
function xlListMem(host: XenHost, name: string): number {
  const line = runXl(host, ["list", name]).stdout.split("\n").find((l) => l.startsWith(name + " "));
  if (!line) throw new Error(`xl list shows no ${name}`);
  return Number(line.trim().split(/\s+/)[2]);
}

describe("Ballooning Debian's kernel", () => {
  it("xl mem-set 192m: the balloon driver gives 64 MiB back (MemTotal, target_kb, current_kb, xl list); mem-set 256m takes it again", () => {
    const g = linuxGuest();
    const host = new XenHost({ pcpus: 1, memoryMiB: 512 });
    const d = host.createDomain(`name = "debian"\ntype = "pvh"\nkernel = "${g.bzImage}"\nramdisk = "${g.initrd}"\nmemory = 256\nmaxmem = 256\nvcpus = 1\non_crash = "preserve"\nextra = "console=hvc0 loglevel=4 xenlab.shell"\n`);
    let out = "";
    host.consoleListeners.add((dom, text) => { if (dom === d) out += text; });
    const r = host.run({ until: () => out.includes("/ # ") || d.isShutdown, maxInstructions: 2_500_000_000 });
    expect(r.stoppedBy, `console so far:\n${out.slice(-3000)}`).toBe("until");
    expect(d.crashReason).toBeUndefined();
    const sh = consoleSession(xenConsole(host, "debian"), { maxInstructions: 500_000_000 });
    const memTotal = (): number => Number(/^MemTotal:\s+(\d+) kB$/m.exec(sh.run("grep MemTotal /proc/meminfo"))![1]);
    const sys = "/sys/devices/system/xen_memory/xen_memory0";
    const total0 = memTotal(), pages0 = d.totPages, list0 = xlListMem(host, "debian");
    expect(list0).toBeGreaterThanOrEqual(255);

    expect(runXl(host, ["mem-set", "debian", "192m"]).exitCode).toBe(0);
    expect(host.xenstore.read(`/local/domain/${d.domid}/memory/target`)).toBe(String(192 * 1024));
    // The driver's target is the toolstack's less what the kernel never had (static-max - its pages).
    const target = Number(sh.run(`sleep 2; cat ${sys}/target_kb`));
    expect(sh.run(`cat ${sys}/info/current_kb`)).toBe(String(target));
    const total1 = memTotal();
    console.log(`balloon down: MemTotal ${total0} -> ${total1} kB, target_kb ${target}, tot_pages ${pages0} -> ${d.totPages}, xl list ${list0} -> ${xlListMem(host, "debian")} MiB`);
    expect(total0 - total1).toBe(64 * 1024);
    expect(pages0 - d.totPages).toBe(64 * 256);
    expect(list0 - xlListMem(host, "debian")).toBe(64);
    expect(sh.run("dmesg | grep -c -e WARNING -e BUG -e 'Out of memory'")).toBe("0");

    expect(runXl(host, ["mem-set", "debian", "256m"]).exitCode).toBe(0);
    expect(Number(sh.run(`sleep 2; cat ${sys}/info/current_kb`))).toBe(target + 64 * 1024);
    expect(memTotal()).toBe(total0);
    expect(d.totPages).toBe(pages0);
    expect(xlListMem(host, "debian")).toBe(list0);
    // Above maxmem is refused by the toolstack, naming the limit.
    const over = runXl(host, ["mem-set", "debian", "300m"]);
    expect(over.exitCode).toBe(1);
    expect(over.stderr).toMatch(/above maxmem/);
    // The guest's pages are really usable again: a 16 MiB tmpfs file fits and reads back.
    expect(sh.run("dd if=/dev/zero of=/tmp/f bs=1M count=16 2>/dev/null; wc -c < /tmp/f")).toBe(String(16 * 1024 * 1024));
  }, 900_000);
});
