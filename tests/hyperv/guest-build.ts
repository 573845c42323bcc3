/** Builds the Hyper-V C test guest with gcc -ffreestanding at test time. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const DIR = join(__dirname, "guest");
const CFLAGS = [
  "-O2", "-ffreestanding", "-nostdlib", "-static", "-no-pie", "-fno-pic", "-fno-strict-aliasing", "-mno-red-zone", "-mgeneral-regs-only",
  "-fno-stack-protector", "-fcf-protection=none", "-Wall", "-Werror", "-Wl,--build-id=none", "-Wl,--no-warn-rwx-segments",
];
let cached: Uint8Array | undefined;
export function buildHvGuest(): Uint8Array {
  if (cached) return cached;
  const out = join(mkdtempSync(join(tmpdir(), "xenlab-hvguest-")), "hv-guest.elf");
  execFileSync("gcc", [...CFLAGS, "-T", join(DIR, "hv-guest.ld"), "-o", out, join(DIR, "hv-guest.c")]);
  cached = new Uint8Array(readFileSync(out));
  return cached;
}
