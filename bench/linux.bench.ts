/**
 * The real guest's figures (issue 14): Debian's own kernel (linux-image-cloud-amd64, the shipped
 * bzImage) and the busybox initramfs, booted by the Xen host through the PVH entry, beside
 * Debian's QEMU (TCG) booting the same vmlinux and initramfs through its PVH entry in the same run.
 * Each sample boots both, one after the other, so a load spike shows in the ratio's spread.
 *  - linux.xen_boot_to_init_s: wall seconds from `xl create` to the initramfs's first line on
 *    hvc0, beside QEMU's spawn → the same line on its serial console. The target is at most
 *    3× QEMU; the note gives the guest instructions retired and the MIPS over the boot.
 *  - linux.longhorn_boot_to_init_s (issue 16): the same bzImage and initrd as a Xen-enabled child
 *    of the Longhorn host, through the Xen hypercall adapter, to the same line on its PV console,
 *    beside the Xen host's boot of the same sample (QEMU's in the note).
 *  - linux.longhorn_enlightened_boot_to_init_s (issue 16): the same bzImage and initrd started
 *    natively on the Longhorn host by Linux's x86 64-bit boot protocol (enlightened: Hyper-V
 *    detected, reference TSC page clocksource, COM1 console), to the same line, beside the Xen
 *    host's boot of the same sample. Its instructions include the bzImage's own decompressor.
 *  - Every boot here is cold: each host gets a private, empty code cache (code-cache.ts), so a
 *    sample's Longhorn boot or a later sample does not reuse the blocks of an earlier boot; what
 *    the shared cache gives is measured by linux-cache.bench.ts.
 *  - linux.xen_boot_rss_mib: this process's peak resident memory after the boot with a 256 MiB
 *    guest, beside QEMU's peak (VmHWM) with the same 256 MiB guest.
 */
import { resourceUsage } from "node:process";
import { readFileSync } from "node:fs";
import { XenHost } from "../src/xen/host";
import { CodeCache } from "../src/machine/code-cache";
import { HypervHost } from "../src/hyperv";
import { INIT_FIRST_LINE, linuxGuest } from "../tests/support/linux-guest";
import { qemuPvhBoot } from "../tests/support/qemu-pvh";
import { Figure, median, nowMs } from "./harness";

/** Boots per figure (each a Xen boot and a QEMU boot); XENLAB_BENCH_LINUX_SAMPLES overrides. */
const SAMPLES = Number(process.env.XENLAB_BENCH_LINUX_SAMPLES ?? 2);

interface Sample { xenS: number; qemuS: number; instructions: number; rssMiB: number; qemuRssMiB: number; longhornS: number; longhornInstructions: number; nativeS: number; nativeInstructions: number }

function xenBoot(): { s: number; instructions: number } {
  const g = linuxGuest();
  const host = new XenHost({ pcpus: 1, memoryMiB: 512 });
  host.machine.codeCache = new CodeCache();
  host.traceEnabled = false;
  let out = "";
  const t0 = nowMs();
  const d = host.createDomain(`name = "debian"\ntype = "pvh"\nkernel = "${g.bzImage}"\nramdisk = "${g.initrd}"\nmemory = 256\nvcpus = 1\nextra = "console=hvc0"\n`);
  host.consoleListeners.add((dom, text) => { if (dom === d) out += text; });
  const r = host.run({ until: () => out.includes(INIT_FIRST_LINE) || d.isShutdown, maxInstructions: 3e9 });
  const s = (nowMs() - t0) / 1000;
  if (!out.includes(INIT_FIRST_LINE)) throw new Error(`the kernel did not reach /init (${r.stoppedBy}); console:\n${out.slice(-2000)}`);
  return { s, instructions: r.instructions };
}

/**
 * The same kernel and initrd on the Longhorn host to the same line: through the Xen adapter
 * (PVH entry, PV console) or natively, enlightened, by the x86 boot protocol (COM1 console).
 */
function longhornBoot(how: "adapter" | "native"): { s: number; instructions: number } {
  const g = linuxGuest();
  const t0 = nowMs();
  const hv = new HypervHost({ lps: 1, memoryMiB: 512 });
  hv.machine.codeCache = new CodeCache();
  hv.traceEnabled = false;
  const kernel = new Uint8Array(readFileSync(g.bzImage)), ramdisk = new Uint8Array(readFileSync(g.initrd));
  const p = how === "adapter"
    ? hv.createChild({ name: "debian", memoryMiB: 256, pvh: kernel, ramdisk, cmdline: "console=hvc0" })
    // xenlab.shell: /init waits at a shell instead of powering off. On COM1 (irq 0, so Linux's 8250
    // driver drains the tty by a timer, 16 bytes per FIFO fill) an init that powers off at once
    // halts the machine before its first line is out ("xenlab-initramfs" and then "System halted").
    : hv.createChild({ name: "debian-hv", memoryMiB: 256, linux: kernel, ramdisk, cmdline: "console=ttyS0 xenlab.shell" });
  const r = hv.run({ until: () => p.console.includes(INIT_FIRST_LINE) || p.vp(0).state === "suspended", maxInstructions: 4e9 });
  const s = (nowMs() - t0) / 1000;
  if (!p.console.includes(INIT_FIRST_LINE)) throw new Error(`the kernel did not reach /init on Longhorn (${how}, ${r.stoppedBy}); console:\n${p.console.slice(-2000)}`);
  return { s, instructions: r.instructions };
}

let cached: Promise<Sample[]> | undefined;
function samples(): Promise<Sample[]> {
  cached ??= (async () => {
    const g = linuxGuest();
    const out: Sample[] = [];
    for (let k = 0; k < SAMPLES; k++) {
      const q = await qemuPvhBoot({ vmlinux: g.vmlinux, initrd: g.initrd, cpus: 1, memoryMiB: 256, firstLine: INIT_FIRST_LINE, timeoutMs: 120_000 });
      const x = xenBoot();
      const rssMiB = resourceUsage().maxRSS / 1024;
      const l = longhornBoot("adapter");
      const n = longhornBoot("native");
      out.push({ nativeS: n.s, nativeInstructions: n.instructions,  xenS: x.s, qemuS: q.firstLineMs / 1000, instructions: x.instructions, rssMiB, qemuRssMiB: q.peakRssKiB / 1024, longhornS: l.s, longhornInstructions: l.instructions });
    }
    return out;
  })();
  return cached;
}

export const figures: Figure[] = [
  {
    name: "linux.xen_boot_to_init_s",
    async run() {
      const s = await samples();
      const insn = median(s.map((x) => x.instructions)), secs = median(s.map((x) => x.xenS));
      return {
        value: secs, unit: "s", anchor: "QEMU 7.2 TCG, same vmlinux + initrd via PVH entry", anchor_value: median(s.map((x) => x.qemuS)),
        samples: s.map((x) => x.xenS), anchor_samples: s.map((x) => x.qemuS),
        note: `target ≤ 3× QEMU; ${(insn / 1e6).toFixed(0)}M guest instructions, ${(insn / 1e6 / secs).toFixed(1)} MIPS`,
      };
    },
  },
  {
    name: "linux.longhorn_boot_to_init_s",
    async run() {
      const s = await samples();
      const insn = median(s.map((x) => x.longhornInstructions)), secs = median(s.map((x) => x.longhornS));
      return {
        value: secs, unit: "s", anchor: "the Xen host booting the same bzImage + initrd in the same sample", anchor_value: median(s.map((x) => x.xenS)),
        samples: s.map((x) => x.longhornS), anchor_samples: s.map((x) => x.xenS),
        note: `through the Xen adapter on Hyper-V; ${(insn / 1e6).toFixed(0)}M guest instructions (Xen host: ${(median(s.map((x) => x.instructions)) / 1e6).toFixed(0)}M), QEMU ${median(s.map((x) => x.qemuS)).toFixed(2)} s`,
      };
    },
  },
  {
    name: "linux.longhorn_enlightened_boot_to_init_s",
    async run() {
      const s = await samples();
      const insn = median(s.map((x) => x.nativeInstructions)), secs = median(s.map((x) => x.nativeS));
      return {
        value: secs, unit: "s", anchor: "the Xen host booting the same bzImage + initrd in the same sample", anchor_value: median(s.map((x) => x.xenS)),
        samples: s.map((x) => x.nativeS), anchor_samples: s.map((x) => x.xenS),
        note: `native, enlightened, by the x86 boot protocol (decompressor included); ${(insn / 1e6).toFixed(0)}M guest instructions (Xen host: ${(median(s.map((x) => x.instructions)) / 1e6).toFixed(0)}M); through the adapter ${median(s.map((x) => x.longhornS)).toFixed(1)} s`,
      };
    },
  },
  {
    name: "linux.xen_boot_rss_mib",
    async run() {
      const s = await samples();
      return {
        value: median(s.map((x) => x.rssMiB)), unit: "MiB", anchor: "QEMU 7.2 TCG peak RSS, 256 MiB guest", anchor_value: median(s.map((x) => x.qemuRssMiB)),
        samples: s.map((x) => x.rssMiB), anchor_samples: s.map((x) => x.qemuRssMiB),
        note: "this process's peak RSS (host of 512 MiB, guest 256 MiB)",
      };
    },
  },
];
