/**
 * Running a firmware image on the vCPU and on QEMU (the oracle) the same way: a 64 KiB image at
 * F0000, started at F000:FFF0, writing bytes to the debug port 0xe9 and ending with `out 0xf4`.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Machine, Vcpu, domId, gfn } from "../../src/machine";
import { TMP } from "./helpers";

export const DEBUG_PORT = 0xe9;
export const EXIT_PORT = 0xf4;

export interface FirmwareRun {
  out: Uint8Array;
  v: Vcpu;
  m: Machine;
  /** How the run ended: "exit-port", or the kind of the exit that stopped it. */
  end: string;
}

/** 8 MiB of RAM, the image at F0000 (as a PC maps the top 64 KiB of its BIOS), reset at F000:FFF0. */
export function firmwareGuest(image: Uint8Array): { m: Machine; v: Vcpu } {
  if (image.length !== 0x10000) throw new Error(`firmware image must be 64 KiB, got ${image.length}`);
  const m = new Machine(16);
  const dom = domId(1);
  m.populate(dom, gfn(0), 2048);
  m.guest(dom).write(0xf0000, image);
  const v = new Vcpu(m, dom, 0, { mode: "real16", cs: 0xf000, rip: 0xfff0 });
  return { m, v };
}

/** Runs until `out 0xf4` (or another exit), collecting what the guest writes to port 0xe9. */
export function runFirmware(image: Uint8Array, budget = 5_000_000, setup?: (v: Vcpu) => void): FirmwareRun {
  const { m, v } = firmwareGuest(image);
  setup?.(v);
  const out: number[] = [];
  let left = budget;
  for (;;) {
    const before = v.icount;
    const x = v.run(left);
    left -= v.icount - before;
    if (x.kind === "io" && x.direction === "out" && x.port === DEBUG_PORT) { out.push(x.value & 0xff); continue; }
    if (x.kind === "io" && x.direction === "out" && x.port === EXIT_PORT) return { out: Uint8Array.from(out), v, m, end: "exit-port" };
    return { out: Uint8Array.from(out), v, m, end: x.kind === "unsupported" || x.kind === "triple-fault" ? `${x.kind}: ${x.reason}` : x.kind };
  }
}

export function qemuAvailable(): boolean {
  return existsSync("/usr/bin/qemu-system-x86_64");
}

/**
 * The same image as QEMU's BIOS (TCG: an exact software x86), with isa-debugcon on 0xe9 and
 * isa-debug-exit on 0xf4. `cpu`: a -cpu model, e.g. "qemu64,vendor=GenuineIntel" where the
 * vendor's behaviour matters (QEMU gives AMD's #UD for SYSENTER in long mode to its default AMD model).
 */
export function runOnQemu(image: Uint8Array, cpu?: string): Uint8Array {
  const tag = Math.random().toString(36).slice(2);
  const bios = join(TMP, `fw-${tag}.bin`), out = join(TMP, `fw-${tag}.out`);
  writeFileSync(bios, image);
  try {
    execFileSync("qemu-system-x86_64", [
      "-accel", "tcg", ...(cpu ? ["-cpu", cpu] : []), "-bios", bios, "-display", "none", "-nodefaults", "-m", "64", "-no-reboot",
      "-debugcon", `file:${out}`, "-device", `isa-debug-exit,iobase=0x${EXIT_PORT.toString(16)},iosize=4`,
    ], { timeout: 60_000, stdio: "pipe" });
  } catch (e) {
    // isa-debug-exit makes QEMU exit with status (value << 1) | 1: 1 for `out 0xf4, 0`.
    if ((e as { status?: number }).status !== 1) throw e;
  }
  return new Uint8Array(readFileSync(out));
}
