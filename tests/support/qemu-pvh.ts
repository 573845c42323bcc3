/**
 * The speed and behaviour anchor for the real guest: Debian's qemu-system-x86 (TCG) booting the
 * same ELF vmlinux and initramfs through its PVH entry (`-kernel vmlinux` finds
 * XEN_ELFNOTE_PHYS32_ENTRY, hw/i386/x86.c load_linux → pvh_start_addr), console on ttyS0.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";

export interface QemuBoot {
  output: string; // everything on the serial console
  firstLineMs: number; // spawn → `firstLine` seen on the console
  exitMs: number; // spawn → qemu exited (poweroff)
  peakRssKiB: number; // qemu's VmHWM when `firstLine` appeared
}

export function qemuPvhBoot(opts: { vmlinux: string; initrd: string; append?: string; memoryMiB?: number; cpus?: number; firstLine: string; timeoutMs?: number }): Promise<QemuBoot> {
  const args = [
    "-accel", "tcg", "-M", "pc", "-m", String(opts.memoryMiB ?? 256), "-smp", String(opts.cpus ?? 1),
    "-kernel", opts.vmlinux, "-initrd", opts.initrd, "-append", opts.append ?? "console=ttyS0 panic=-1",
    "-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio", "-monitor", "none",
  ];
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn("qemu-system-x86_64", args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "", err = "", firstLineMs = -1, peakRssKiB = NaN;
    const timer = setTimeout(() => { p.kill("SIGKILL"); reject(new Error(`qemu did not finish within ${opts.timeoutMs ?? 60000} ms; console:\n${output.slice(-3000)}`)); }, opts.timeoutMs ?? 60_000);
    p.stdout.on("data", (b: Buffer) => {
      output += b.toString("latin1");
      if (firstLineMs < 0 && output.includes(opts.firstLine)) {
        firstLineMs = performance.now() - t0;
        try { peakRssKiB = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${p.pid}/status`, "utf8"))?.[1] ?? NaN); } catch { /* already gone */ }
      }
    });
    p.stderr.on("data", (b: Buffer) => { err += b.toString(); });
    p.on("error", (e) => { clearTimeout(timer); reject(e); });
    p.on("exit", () => {
      clearTimeout(timer);
      if (firstLineMs < 0) reject(new Error(`qemu exited before "${opts.firstLine}": ${err}\n${output.slice(-3000)}`));
      else resolve({ output: output.replace(/\r/g, ""), firstLineMs, exitMs: performance.now() - t0, peakRssKiB });
    });
  });
}

/** Facts a kernel's dmesg states, to compare one boot with another. */
export function dmesgFacts(log: string): { version?: string; pvh: boolean; cpus?: number; e820: string[]; hypervisor?: string } {
  return {
    version: /Linux version (\S+)/.exec(log)?.[1],
    pvh: /Booting paravirtualized kernel on (\w.*)/.test(log),
    hypervisor: /Booting paravirtualized kernel on (.*)/.exec(log)?.[1]?.trim(),
    cpus: Number(/Allowing (\d+) present CPUs|smpboot: Allowing (\d+) CPUs/.exec(log)?.slice(1).find(Boolean) ?? NaN) || undefined,
    e820: [...log.matchAll(/BIOS-e820: \[mem (0x[0-9a-f]+-0x[0-9a-f]+)\] (\w+)/g)].map((m) => `${m[1]} ${m[2]}`),
  };
}
