/** Builds the C PVH test guest with gcc against Debian's libxen-dev headers (test setup). */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const GUEST_DIR = join(__dirname, "..", "guests");
export const GUEST_CFLAGS = [
  "-O2", "-ffreestanding", "-nostdlib", "-static", "-no-pie", "-fno-pic", "-mno-red-zone", "-mgeneral-regs-only",
  "-fno-stack-protector", "-fcf-protection=none", "-Wall", "-Werror", "-Wl,--build-id=none", "-Wl,--no-warn-rwx-segments", "-Wa,--noexecstack",
];

let cached: { path: string; bytes: Uint8Array } | undefined;

export function buildPvhGuest(): { path: string; bytes: Uint8Array } {
  if (cached) return cached;
  const out = join(mkdtempSync(join(tmpdir(), "xenlab-guest-")), "pvh-guest.elf");
  execFileSync("gcc", [...GUEST_CFLAGS, "-T", join(GUEST_DIR, "guest.ld"), "-o", out, join(GUEST_DIR, "pvh-start.S"), join(GUEST_DIR, "pvh-guest.c")]);
  cached = { path: out, bytes: new Uint8Array(readFileSync(out)) };
  return cached;
}
