/**
 * Debian's unmodified kernel (the bzImage and busybox initramfs the Xen-host test boots) started
 * natively on the Longhorn host by Linux's own x86 64-bit boot protocol: zero page, e820, cmdline,
 * initrd, the 64-bit entry at the protected-mode kernel + 0x200 (the kernel's own decompressor
 * runs in the partition), Hyper-V's firmware ACPI tables, COM1 as the console. The oracle is the
 * kernel: it detects Microsoft Hyper-V from CPUID 0x40000000.., reports the host build and
 * privileges it read, takes the LAPIC timer rate from the frequency MSR, registers and switches to
 * the reference-TSC-page clocksource, finds COM1 through the DSDT's PNP0501, and runs /init; the
 * shell then answers through the same UART. The host side is checked too: Linux's guest OS id, its
 * hypercall page and its reference TSC page as the partition holds them.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { HypervHost } from "../../src/hyperv";
import { enlightenments } from "../../src/hyperv/enlightenments";
import { buildInitramfs, INIT_FIRST_LINE, linuxGuest } from "../support/linux-guest";

describe("Debian's kernel on the Longhorn host, enlightened, by Linux's x86 boot protocol", () => {
  it("detects Microsoft Hyper-V, uses the hypercall page and hyperv_clocksource_tsc_page, finds ttyS0 from the DSDT and reaches busybox's shell", () => {
    const g = linuxGuest();
    const hv = new HypervHost({ lps: 1, memoryMiB: 512 });
    // The same busybox initramfs with the package's hv_vmbus.ko (as the Xen tests carry xen-blkfront.ko).
    const busybox = new Uint8Array(readFileSync(join(g.modules, "..", "..", "..", "bin", "busybox")));
    const ramdisk = buildInitramfs(busybox, g.modules, g.version, ["drivers/hv/hv_vmbus.ko"]);
    const p = hv.createChild({
      name: "debian-hv", memoryMiB: 256, linux: new Uint8Array(readFileSync(g.bzImage)), ramdisk,
      cmdline: "earlyprintk=serial,ttyS0,115200 console=ttyS0 loglevel=8 nokaslr xenlab.shell",
    });
    const r = hv.run({ until: () => p.console.includes("/ # ") || p.vp(0).state === "suspended", maxInstructions: 4_000_000_000 });
    expect(r.stoppedBy, `console so far:\n${p.console.slice(-3000)}\nhost log:\n${hv.log.slice(-5).join("\n")}`).toBe("until");
    console.log(`Debian ${g.version} on Longhorn, enlightened: ${r.instructions} instructions to the shell prompt`);
    const lines = p.console.split(/\r?\n/).map((l) => l.replace(/^\[\s*\d+\.\d+\] /, ""));
    const esc = g.version.replace(/[.]/g, "\\.");
    expect(lines.some((l) => new RegExp(`^Linux version ${esc} \\(debian-kernel@lists\\.debian\\.org\\)`).test(l))).toBe(true);
    // The boot protocol: Linux's own print of the e820 map the zero page carried.
    expect(lines).toContain("BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable");
    expect(lines).toContain("BIOS-e820: [mem 0x0000000000100000-0x000000000fffffff] usable");
    expect(lines).toContain("BIOS-e820: [mem 0x00000000fc000000-0x00000000fc002fff] ACPI data");
    // mshyperv.c: the CPUID leaves (privileges low/high, hints, misc = frequency MSRs) and the build.
    expect(lines).toContain("Hypervisor detected: Microsoft Hyper-V");
    expect(lines).toContain("Hyper-V: privilege flags low 0xa7f, high 0x30, hints 0x26, misc 0x100");
    expect(lines).toContain("Hyper-V: Host Build 6.0.6001.0-1-0");
    // HV_X64_MSR_APIC_FREQUENCY / HZ (250): the platform LAPIC's 100 MHz bus clock.
    expect(lines).toContain("Hyper-V: LAPIC Timer Frequency: 0x61a80");
    expect(lines).toContain("Booting paravirtualized kernel on Hyper-V");
    expect(lines.some((l) => l.startsWith("clocksource: hyperv_clocksource_tsc_page: mask: 0xffffffffffffffff"))).toBe(true);
    expect(lines).toContain("clocksource: Switched to clocksource hyperv_clocksource_tsc_page");
    // Hyper-V's firmware tables, and COM1 from the DSDT's PNP0501 (no IRQ: polled).
    expect(lines).toContain("ACPI: RSDP 0x00000000FC002000 000024 (v02 VRTUAL)");
    expect(lines.some((l) => /^ACPI: DSDT 0x00000000FC001000 [0-9A-F]{6} \(v02 VRTUAL MICROSFT 00000000 MSFT 00000000\)/.test(l))).toBe(true);
    expect(lines).toContain("00:00: ttyS0 at I/O 0x3f8 (irq = 0, base_baud = 115200) is a 16550A");
    expect(lines).toContain("Run /init as init process");
    expect(lines).toContain(INIT_FIRST_LINE);
    expect(lines).toContain(`xenlab-initramfs: uname ${g.version} cpus 1`);
    expect(lines.filter((l) => /unchecked MSR access error|WARNING:|BUG:|invalid opcode|Oops/.test(l))).toEqual([]);

    // What Linux switched on, as the partition holds it: hyperv_init's guest OS id (Linux vendor
    // 0x8100, hv_generate_guest_id) and hypercall page; the TSC page of the clocksource.
    const names = enlightenments(p).map((e) => `${e.name}: ${e.detail}`);
    expect(p.guestOsId >> 48n).toBe(0x8100n);
    expect(p.hypercallPageGpa).toBeDefined();
    expect(names.some((n) => n.startsWith("hypercall page: at 0x"))).toBe(true);
    expect(names.some((n) => n.startsWith("reference TSC page: at 0x"))).toBe(true);

    // The shell, typed into COM1: Linux's own answer about its clocksource.
    const before = p.console.length;
    p.uart!.input("cat /sys/devices/system/clocksource/clocksource0/current_clocksource\r");
    const s = hv.run({ until: () => /hyperv_clocksource_tsc_page\r?\n[\s\S]*\/ # /.test(p.console.slice(before)), maxInstructions: 1_000_000_000 });
    expect(s.stoppedBy, p.console.slice(before)).toBe("until");

    // hv_vmbus: Linux 6.1 asks for VMBus 5.3 down to 2.4 (WIN8) only — connection.c: "VERSION_WIN7
    // and VERSION_WS2008 are no longer supported in Linux guests and are not listed" — and this
    // Longhorn host offers 0.13 (WS2008) and 1.1 (WIN7): Linux's own refusal, the host's answers.
    // 5.x goes to message connection 4 (VMBUS_MESSAGE_CONNECTION_ID_4), which this host does not
    // have (HV_STATUS_INVALID_CONNECTION_ID, Linux moves on); 4.1 down to 2.4 reach the server.
    const at = p.console.length;
    p.uart!.input(`insmod /lib/modules/${g.version}/drivers/hv/hv_vmbus.ko; echo rc=$?\r`);
    const v = hv.run({ until: () => /rc=\d+/.test(p.console.slice(at).replace(/echo rc=\$\?/, "")), maxInstructions: 1_500_000_000 });
    expect(v.stoppedBy, p.console.slice(at)).toBe("until");
    expect(p.console.slice(at)).toMatch(/hv_vmbus: Unable to connect to host/);
    expect(p.console.slice(at)).toMatch(/insmod: can't insert .*hv_vmbus\.ko': Numerical argument out of domain/);
    const bus = hv.vmbusOf(p)!;
    const ver = (major: number, minor: number) => (major << 16) | minor;
    // Each attempt walks the list newest first (Linux made two: both "Unable to connect" lines).
    const walk = [ver(4, 1), ver(4, 0), ver(3, 0), ver(2, 4)];
    expect(bus.requested.length % walk.length).toBe(0);
    for (let i = 0; i < bus.requested.length; i += walk.length) expect(bus.requested.slice(i, i + walk.length)).toEqual(walk);
    expect(bus.version).toBeUndefined();
    // Each refusal came back as a SynIC message in Linux's SIMP (it waits for the VERSION_RESPONSE
    // before trying the next version); Linux's error path then turns its SynIC off again.
    expect(p.vp(0).synic.counters.delivered).toBeGreaterThanOrEqual(bus.requested.length);
  }, 1_800_000);
});
