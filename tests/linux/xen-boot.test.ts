/**
 * Debian's own kernel (linux-image-cloud-amd64, unmodified bzImage) booting on the Xen host
 * through its PVH entry, `xl create` as a user writes it. The oracle is the kernel itself: what it
 * prints about the platform it found (Xen's CPUID leaves, libxl's ACPI tables, the event-channel
 * callback, x2APIC, the PV console) and what it does not complain about (an MSR it expected to
 * read, a WARNING). The run is bounded by an instruction budget and stops at the line it waits
 * for, so it stays well inside CI time whatever the vCPU's speed.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { consoleSession, xenConsole } from "../../src/xen/console-session";
import { XenHost } from "../../src/xen/host";
import { runXl } from "../../src/xen/xl/xl";
import { INIT_FIRST_LINE, linuxGuest } from "../support/linux-guest";


/** A 32 MiB ext4 filesystem made by mke2fs -d, converted by qemu-img to a dynamic VHD. */
function ext4Vhd(): { vhd: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), "xenlab-linux-disk-"));
  const root = join(dir, "root");
  execFileSync("mkdir", ["-p", root]);
  writeFileSync(join(root, "hello.txt"), "hello from the VHD\n");
  const raw = join(dir, "disk.raw"), vhd = join(dir, "disk.vhd");
  execFileSync("truncate", ["-s", "32M", raw]);
  execFileSync("mke2fs", ["-q", "-t", "ext4", "-d", root, raw]);
  execFileSync("qemu-img", ["convert", "-f", "raw", "-O", "vpc", raw, vhd]);
  return { vhd, dir };
}

describe("Debian's kernel on the Xen host", () => {
  it("boots with two vCPUs to the initramfs's /init: its dmesg on hvc0 names Xen HVM, libxl's ACPI tables, PVH boot, the AP brought up by INIT/SIPI, the callback vector, x2APIC, the Xen clocksource and vcpuop timer, no MSR it reads is refused; busybox's shell answers on hvc0, xen-blkfront mounts an ext4 VHD read-write, the shell answers after xl save + xl restore, poweroff shuts the domain down and the disk checks clean", () => {
    const g = linuxGuest();
    const host = new XenHost({ pcpus: 2, memoryMiB: 512 });
    const disk = ext4Vhd();
    let d = host.createDomain(`name = "debian"\ntype = "pvh"\nkernel = "${g.bzImage}"\nramdisk = "${g.initrd}"\nmemory = 256\nvcpus = 2\non_crash = "preserve"\non_poweroff = "preserve"\ndisk = [ 'format=vhd, vdev=xvda, access=rw, target=${disk.vhd}' ]\nextra = "earlyprintk=xen console=hvc0 loglevel=8 xenlab.shell"\n`);
    let out = "";
    host.consoleListeners.add((dom, text) => { if (dom === d) out += text; });
    // Until busybox's sh (the initramfs execs it for xenlab.shell) prompts: about 1.3e9 instructions.
    const r = host.run({ until: () => out.includes("/ # ") || d.isShutdown, maxInstructions: 2_500_000_000 });
    const lines = out.split(/\r?\n/).map((l) => l.replace(/^\[\s*\d+\.\d+\] /, ""));
    expect(r.stoppedBy, `console so far:\n${out.slice(-3000)}`).toBe("until");
    console.log(`Debian ${g.version} on the Xen host: ${r.instructions} instructions to the shell prompt`);
    expect(d.crashReason).toBeUndefined();

    // The banner of the package's own build (uname -r is the version the package names).
    const esc = g.version.replace(/[.]/g, "\\.");
    expect(lines.some((l) => new RegExp(`^Linux version ${esc} \\(debian-kernel@lists\\.debian\\.org\\) \\(gcc-\\d+ .* #1 SMP PREEMPT_DYNAMIC Debian `).test(l))).toBe(true);
    expect(lines).toContain("Command line: earlyprintk=xen console=hvc0 loglevel=8 xenlab.shell");
    // CPUID 0x40000000 "XenVMMXenVMM", and XENVER_version/extraversion.
    expect(lines).toContain("Hypervisor detected: Xen HVM");
    expect(lines).toContain("Xen version: 4.17.0-xenlab");
    expect(lines).toContain("Booting kernel on Xen PVH");
    // libxl's tables at 0xfc000000: RSDP rev 2, MADT with one LAPIC per vCPU (44 + 2 × 8 bytes).
    expect(lines).toContain("ACPI: RSDP 0x00000000FC002000 000024 (v02 Xen   )");
    expect(lines.some((l) => /^ACPI: APIC 0x00000000FC00[0-9A-F]{4} 00003C \(v02 Xen    HVM /.test(l))).toBe(true);
    expect(lines).toContain("smpboot: Allowing 2 CPUs, 0 hotplug CPUs");
    // SMP: the AP came up through INIT/SIPI (real mode at the trampoline's vector), with its own
    // Xen timer, and the TSC sync check found no warp between the two vCPUs.
    expect(lines).toContain("smp: Bringing up secondary CPUs ...");
    expect(lines).toContain("installing Xen timer for CPU 1");
    expect(lines).toContain("smp: Brought up 1 node, 2 CPUs");
    expect(lines.some((l) => /^smpboot: Total of 2 processors activated/.test(l))).toBe(true);
    expect(lines.filter((l) => /TSC warp|Marking TSC unstable/.test(l))).toEqual([]);
    expect(host.dmesg.some((l) => /d\d+v1: startup IPI, vector 0x[0-9a-f]+: real mode at/.test(l))).toBe(true);
    expect(lines).toContain("xen:events: Xen HVM callback vector for event delivery is enabled");
    // hvc0 is the PV console ring served by xenconsoled; the boot console (console_io) hands over.
    expect(lines).toContain("printk: console [hvc0] enabled");
    // CPUID.1:ECX x2APIC and MSR_APIC_BASE.EXTD.
    expect(lines).toContain("x2apic enabled");
    expect(lines).toContain("Switched APIC routing to physical x2apic.");
    // Time: the pvclock clocksource (vcpu_time_info) and VCPUOP_set_singleshot_timer clockevents.
    expect(lines.some((l) => l.startsWith("clocksource: xen: mask: 0xffffffffffffffff"))).toBe(true);
    expect(lines).toContain("Xen: using vcpuop timer interface");
    expect(lines).toContain("installing Xen timer for CPU 0");
    // The initramfs: the kernel runs /init, busybox's sh echoes and finds the kernel and one CPU.
    expect(lines).toContain("Run /init as init process");
    expect(lines).toContain(INIT_FIRST_LINE);
    expect(lines).toContain(`xenlab-initramfs: uname ${g.version} cpus 2`);
    expect(lines.indexOf(INIT_FIRST_LINE)).toBeGreaterThan(lines.indexOf("Run /init as init process"));
    expect(lines.filter((l) => /unchecked MSR access error|WARNING:|BUG:|invalid opcode/.test(l))).toEqual([]);

    // The shell, typed into the console ring as `xl console` does (the library's console session):
    // each answer is what busybox printed between its echo of the command and the next prompt.
    // The session finds the domain by name, so it follows it through xl save + xl restore.
    const sh = consoleSession(xenConsole(host, "debian"), { maxInstructions: 500_000_000 });
    expect(sh.run("uname -a")).toMatch(new RegExp(`^Linux \\(none\\) ${esc} #1 SMP PREEMPT_DYNAMIC Debian \\S+ \\(\\d{4}-\\d\\d-\\d\\d\\) x86_64 GNU/Linux$`));
    // /sys/hypervisor: the hypervisor type, XENVER_version and XENVER_extraversion.
    // (Commands stay shorter than the 80-column line busybox wraps at.)
    expect(sh.run("cat /sys/hypervisor/type")).toBe("xen");
    expect(sh.run("cat /sys/hypervisor/version/*")).toBe(".0-xenlab\n4\n17"); // extra, major, minor
    // /proc/cpuinfo shows the CPUID this host presents: Xen's x2APIC, TSC-deadline and hypervisor bits.
    const flags = sh.run("grep -m1 ^flags /proc/cpuinfo").split(/\s+/);
    for (const f of ["fpu", "sse2", "x2apic", "tsc_deadline_timer", "hypervisor"]) expect(flags).toContain(f);
    expect(sh.run("grep -c ^processor /proc/cpuinfo")).toBe("2");
    expect(sh.run("nproc")).toBe("2");
    // Xen's APIC IDs: 2 × vcpu_id.
    expect(sh.run("grep ^apicid /proc/cpuinfo").split("\n").map((l) => l.replace(/\s+/g, " "))).toEqual(["apicid : 0", "apicid : 2"]);
    expect(sh.run("dmesg | grep -c 'Run /init as init process'")).toBe("1");
    // The disk: xen-blkfront (a module of the same package, in the initramfs) connects to blkback
    // serving the dynamic VHD; ext4 mounts read-write, a file is read, one written, synced, unmounted.
    // (loglevel=8: the kernel's messages appear in the shell's output too.)
    expect(sh.run("insmod $(find /lib -name xen-blkfront.ko)")).toMatch(/blkfront: xvda: flush diskcache: enabled/);
    expect(host.xenstore.read(`/local/domain/${d.domid}/device/vbd/51712/state`)).toBe("4"); // XenbusStateConnected
    expect(host.xenstore.read(`/local/domain/0/backend/qdisk/${d.domid}/51712/state`)).toBe("4");
    // The disk's size as qemu-img reads the VHD (vpc rounds 32 MiB up to its CHS geometry), in KiB.
    const kib = (JSON.parse(execFileSync("qemu-img", ["info", "--output=json", disk.vhd], { encoding: "utf8" })) as { "virtual-size": number })["virtual-size"] / 1024;
    expect(sh.run("cat /proc/partitions")).toMatch(new RegExp(`^\\s*202\\s+0\\s+${kib}\\s+xvda$`, "m"));
    sh.run("mkdir /mnt; mount /dev/xvda /mnt");
    expect(sh.run("cat /mnt/hello.txt").split("\n")).toContain("hello from the VHD");
    sh.run("echo written by linux > /mnt/new.txt; sync");
    sh.run("umount /mnt");
    expect(sh.run("dmesg | grep -c 'EXT4-fs (xvda): mounted filesystem'").split("\n")).toContain("1");
    expect(sh.run("dmesg | grep -c 'EXT4-fs (xvda): unmounting'").split("\n")).toContain("1");
    // xl save / xl restore of the running kernel (a checkpoint: the guest is not asked to suspend,
    // so it never learns it moved): the restored domain's shell answers; its timers work (sleep
    // returns), so its VCPUOP singleshot timers, event channels and x2APIC state came back; both
    // vCPUs are still online and the kernel logged nothing about it.
    const chk = join(disk.dir, "debian.chk");
    expect(runXl(host, ["save", "debian", chk]).exitCode).toBe(0);
    const restored = runXl(host, ["restore", chk]);
    expect(restored.exitCode, restored.stderr).toBe(0);
    d = restored.domain!;
    expect(d.restoredFrom).toBe("debian");
    expect(sh.run("sleep 1; echo slept")).toBe("slept");
    expect(sh.run("grep -c ^processor /proc/cpuinfo; nproc")).toBe("2\n2");
    expect(sh.run("dmesg | grep -c -e WARNING -e 'unchecked MSR' -e BUG")).toBe("0");
    // poweroff -f: PVH has no power-off method, so Linux halts (cli; hlt) and Xen, with every
    // vCPU down, shuts the domain down as poweroff (hvm_hlt).
    sh.type("poweroff -f\n");
    sh.waitFor(() => d.isShutdown);
    expect(out).toContain("reboot: System halted");
    expect(d.shutdownReason).toBe("poweroff");
    // Afterwards the disk is a clean ext4 with the guest's file in it, read by e2fsprogs through
    // qemu-img's reading of the VHD.
    const back = join(disk.dir, "back.raw");
    execFileSync("qemu-img", ["convert", "-f", "vpc", "-O", "raw", disk.vhd, back]);
    execFileSync("e2fsck", ["-fn", back], { stdio: "pipe" }); // throws on a non-zero exit
    expect(execFileSync("debugfs", ["-R", "cat /new.txt", back], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })).toBe("written by linux\n");
    // Lines after the hand-over came only through the console ring, not Xen's console_io.
    expect(host.dmesg.some((l) => l.includes("x2apic enabled"))).toBe(false);
    expect(host.dmesg.some((l) => l.includes("Hypervisor detected: Xen HVM"))).toBe(true);

  }, 900_000);
});
