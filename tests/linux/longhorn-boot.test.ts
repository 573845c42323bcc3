/**
 * Debian's own kernel (the same unmodified bzImage and busybox initramfs that tests/linux/
 * xen-boot.test.ts boots on the Xen host) on the Longhorn host, as a Xen-enabled child through the
 * hypercall adapter: PVH entry, Xen's leaves at 0x40000100, the platform's local APIC and ACPI
 * tables, time from the partition's reference clock, timers on synthetic timer 3, event channels
 * as SynIC events, XenStore and the PV console served by the root. The oracle is the kernel
 * itself: the same dmesg lines the Xen host's test checks, and busybox's answers in the shell.
 *
 * Where the transcript differs from the Xen host's (besides timestamps): sched_clock's stable-
 * marking numbers (they are time readings), and the boot console's lines appear in the
 * partition's console too (the root's xen console connection and hvc0 both print there; on Xen
 * the first go to `xl dmesg`). One boot costs about 1.3e9 guest instructions, as on Xen.
 *
 * The disk: a blank dynamic VHD made by XenLab's library, served by the root's blkback (Xen's, over
 * the adapter's grant table and event channels); the package's xen-blkfront.ko connects, busybox's
 * mke2fs formats it, Linux writes a file; afterwards qemu-img, e2fsck and debugfs read the image.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { HypervHost, attachXenDisk, rootXenStore } from "../../src/hyperv";
import { longhornConsole } from "../../src/hyperv/console";
import { createVhd } from "../../src/vhd/create";
import { HVCALL } from "../../src/hyperv/tlfs";
import { consoleSession } from "../../src/xen/console-session";
import { INIT_FIRST_LINE, linuxGuest } from "../support/linux-guest";

describe("Debian's kernel on the Longhorn host through the Xen adapter", () => {
  it("boots to /init and busybox's shell: the kernel finds Xen HVM, the ACPI MADT, the callback vector, x2APIC, the Xen clocksource and vcpuop timer; /sys/hypervisor says xen 4.17; xen-blkfront formats and writes a VHD the root serves; each Xen call became Hyper-V calls", () => {
    const g = linuxGuest();
    const hv = new HypervHost({ lps: 1, memoryMiB: 512 });
    const p = hv.createChild({
      name: "debian", memoryMiB: 256, pvh: new Uint8Array(readFileSync(g.bzImage)), ramdisk: new Uint8Array(readFileSync(g.initrd)),
      cmdline: "earlyprintk=xen console=hvc0 loglevel=8 xenlab.shell",
    });
    const a = p.xenAdapter!;
    const dir = mkdtempSync(join(tmpdir(), "xenlab-longhorn-disk-"));
    const vhd = join(dir, "scratch.vhd");
    createVhd(vhd, { type: "dynamic", size: 16 * 2 ** 20 }).close();
    const vbd = attachXenDisk(hv, p, `format=vhd, vdev=xvda, access=rw, target=${vhd}`);
    const r = hv.run({ until: () => p.console.includes("/ # ") || p.vp(0).state === "suspended", maxInstructions: 2_500_000_000 });
    const out = () => p.console;
    expect(r.stoppedBy, `console so far:\n${out().slice(-3000)}\nhost log:\n${hv.log.slice(-5).join("\n")}`).toBe("until");
    console.log(`Debian ${g.version} on Longhorn through the Xen adapter: ${r.instructions} instructions to the shell prompt`);
    // The translation table keeps the last calls only: the boot's, before the disk's traffic.
    const xl = a.log;
    const lines = out().split(/\r?\n/).map((l) => l.replace(/^\[\s*\d+\.\d+\] /, ""));

    const esc = g.version.replace(/[.]/g, "\\.");
    expect(lines.some((l) => new RegExp(`^Linux version ${esc} \\(debian-kernel@lists\\.debian\\.org\\) \\(gcc-\\d+ .* #1 SMP PREEMPT_DYNAMIC Debian `).test(l))).toBe(true);
    // Xen's leaves behind Hyper-V's (Linux scans 0x40000000.. in 0x100 steps) and XENVER_*.
    expect(lines).toContain("Hypervisor detected: Xen HVM");
    expect(lines).toContain("Xen version: 4.17.0-xenlab");
    expect(lines).toContain("Booting kernel on Xen PVH");
    // The platform's ACPI tables, on root pages mapped into the child: RSDP rev 2, one LAPIC.
    expect(lines).toContain("ACPI: RSDP 0x00000000FC002000 000024 (v02 Xen   )");
    expect(lines.some((l) => /^ACPI: APIC 0x00000000FC00[0-9A-F]{4} 000034 \(v02 Xen    HVM /.test(l))).toBe(true);
    expect(lines).toContain("smpboot: Allowing 1 CPUs, 0 hotplug CPUs");
    // HVM_PARAM_CALLBACK_IRQ: events raise a vector; XENVER_get_features said hvm_callback_vector.
    expect(lines).toContain("xen:events: Xen HVM callback vector for event delivery is enabled");
    expect(lines).toContain("printk: console [hvc0] enabled");
    // The platform's local APIC, in x2APIC mode, on the Longhorn host's device bus.
    expect(lines).toContain("x2apic enabled");
    expect(lines).toContain("Switched APIC routing to physical x2apic.");
    // pvclock from the reference clock (XENFEAT_hvm_safe_pvclock), singleshot timers on stimer 3.
    expect(lines.some((l) => l.startsWith("clocksource: xen: mask: 0xffffffffffffffff"))).toBe(true);
    expect(lines).toContain("Xen: using vcpuop timer interface");
    expect(lines).toContain("installing Xen timer for CPU 0");
    expect(lines).toContain("clocksource: Switched to clocksource xen");
    // The wall clock in shared_info (the root's, at the guest's time 0): audit stamps 2006-07-17.
    expect(lines.some((l) => /^audit: type=2000 audit\(1153094400\.\d+:1\)/.test(l))).toBe(true);
    expect(lines).toContain("Run /init as init process");
    expect(lines).toContain(INIT_FIRST_LINE);
    expect(lines).toContain(`xenlab-initramfs: uname ${g.version} cpus 1`);
    expect(lines.filter((l) => /unchecked MSR access error|WARNING:|BUG:|invalid opcode|Unable to read cpu state/.test(l))).toEqual([]);

    // The shell, typed into the console ring by the root's xenconsoled (the same console session
    // the Xen host's test uses, on the adapter's ring).
    const sh = consoleSession(longhornConsole(hv, p), { maxInstructions: 500_000_000 });
    expect(sh.run("uname -a")).toMatch(new RegExp(`^Linux \\(none\\) ${esc} #1 SMP PREEMPT_DYNAMIC Debian \\S+ \\(\\d{4}-\\d\\d-\\d\\d\\) x86_64 GNU/Linux$`));
    expect(sh.run("cat /sys/hypervisor/type")).toBe("xen");
    expect(sh.run("cat /sys/hypervisor/version/*")).toBe(".0-xenlab\n4\n17");
    const flags = sh.run("grep -m1 ^flags /proc/cpuinfo").split(/\s+/);
    for (const f of ["fpu", "sse2", "x2apic", "tsc_deadline_timer", "hypervisor"]) expect(flags).toContain(f);
    expect(sh.run("dmesg | grep -c 'Run /init as init process'")).toBe("1");

    // The disk: the package's xen-blkfront.ko connects to the root's blkback through XenStore
    // (frontend and backend Connected), Linux sizes it as qemu-img does, formats it and writes.
    const xs = rootXenStore(hv), fe = `/local/domain/${p.domid}/device/vbd/51712`;
    expect(sh.run("insmod $(find /lib -name xen-blkfront.ko)")).toMatch(/blkfront: xvda: flush diskcache: enabled/);
    expect(xs.read(`${fe}/state`)).toBe("4");
    expect(xs.read(`${vbd.backendPath}/state`)).toBe("4");
    const kib = (JSON.parse(execFileSync("qemu-img", ["info", "--output=json", vhd], { encoding: "utf8" })) as { "virtual-size": number })["virtual-size"] / 1024;
    expect(sh.run("cat /proc/partitions")).toMatch(new RegExp(`^\\s*202\\s+0\\s+${kib}\\s+xvda$`, "m"));
    sh.run("mke2fs -q -L longhorn /dev/xvda");
    sh.run("mkdir -p /mnt; mount /dev/xvda /mnt");
    sh.run("echo written on longhorn > /mnt/hello.txt; sync");
    expect(sh.run("cat /mnt/hello.txt")).toBe("written on longhorn");
    sh.run("umount /mnt");
    expect(vbd.stats.writes).toBeGreaterThan(0);
    expect(vbd.stats.errors).toBe(0);

    // What the Xen calls became: timers are stimer 3 writes, sends HvSignalEvent from the child,
    // and the kernel's XenStore traffic (xenbus) went over the root-served ring.
    expect(xl.some((t) => t.xen === "vcpu_op(set_singleshot_timer)" && t.hyperv.some((h) => h.startsWith("HV_X64_MSR_STIMER3_COUNT")))).toBe(true);
    expect(xl.some((t) => t.xen === "vcpu_op(register_runstate_memory_area)" && t.result === 0)).toBe(true);
    expect(hv.trace.some((t) => t.partition === p.id && t.code === HVCALL.SIGNAL_EVENT && t.status === 0)).toBe(true);
    expect(a.xenstoreRequests).toBeGreaterThan(0);
    // poweroff -f: Linux halts with interrupts off (PVH has no power-off method). Xen turns
    // "every vCPU down" into a poweroff; Hyper-V 1.0 leaves the VP halted, which is what we check.
    sh.type("poweroff -f\n");
    sh.waitFor("reboot: System halted");
    expect(out()).toContain("reboot: System halted");

    // The image, read by qemu-img and e2fsprogs: a clean filesystem labelled by busybox, the file
    // Linux wrote, and its blocks on the image are what blkfront wrote through the ring.
    const raw = join(dir, "back.raw");
    execFileSync("qemu-img", ["convert", "-f", "vpc", "-O", "raw", vhd, raw]);
    execFileSync("e2fsck", ["-fn", raw], { stdio: "pipe" }); // throws on a non-zero exit
    const debugfs = (req: string) => execFileSync("debugfs", ["-R", req, raw], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    expect(debugfs("cat /hello.txt")).toBe("written on longhorn\n");
    expect(debugfs("stats")).toMatch(/Filesystem volume name:\s+longhorn/);
    const blockSize = Number(/Block size:\s+(\d+)/.exec(debugfs("stats"))![1]);
    const image = readFileSync(raw);
    const blocks = debugfs("blocks /hello.txt").trim().split(/\s+/).map(Number);
    expect(blocks.length).toBe(1);
    for (const b of blocks) expect(vbd.frontendWrote(b * blockSize, image.subarray(b * blockSize, (b + 1) * blockSize))).toBe(true);
  }, 1_800_000);
});
