/** Test setup for the blkback tests: the blkfront C guest and disk images made by qemu-img. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GUEST_CFLAGS, GUEST_DIR } from "./guest-build";

let cached: string | undefined;

/** gcc builds tests/guests/blkfront-guest.c with pvh-start.S and guest.ld (Debian's libxen-dev headers). */
export function buildBlkfrontGuest(): string {
  if (cached) return cached;
  const out = join(mkdtempSync(join(tmpdir(), "xenlab-blkfront-")), "blkfront-guest.elf");
  execFileSync("gcc", [...GUEST_CFLAGS, "-T", join(GUEST_DIR, "guest.ld"), "-o", out, join(GUEST_DIR, "pvh-start.S"), join(GUEST_DIR, "blkfront-guest.c")]);
  cached = out;
  return out;
}

export function tmpDir(): string {
  return mkdtempSync(join(tmpdir(), "xenlab-blkback-"));
}

/** Deterministic bytes (xorshift32), so a failing comparison can be reproduced. */
export function pseudoRandom(n: number, seed = 0x2006): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** A raw image and its VHD conversions made by qemu-img (the independent writer). */
export function makeImages(dir: string, size: number): { raw: string; dynamic: string; fixed: string; bytes: Uint8Array } {
  const bytes = pseudoRandom(size);
  const raw = join(dir, "disk.raw");
  writeFileSync(raw, bytes);
  const dynamic = join(dir, "disk-dynamic.vhd"), fixed = join(dir, "disk-fixed.vhd");
  execFileSync("qemu-img", ["convert", "-f", "raw", "-O", "vpc", "-o", "subformat=dynamic,force_size=on", raw, dynamic]);
  execFileSync("qemu-img", ["convert", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed,force_size=on", raw, fixed]);
  return { raw, dynamic, fixed, bytes };
}

/** What qemu-img reads in an image: converted to raw and read back. */
export function qemuRaw(path: string, format: "vpc" | "raw"): Uint8Array {
  const out = join(tmpDir(), "out.raw");
  execFileSync("qemu-img", ["convert", "-f", format, "-O", "raw", path, out]);
  return new Uint8Array(readFileSync(out));
}

/** FNV-1a 64 as the guest computes it, printed in hex. */
export function fnv64(bytes: Uint8Array): string {
  let h = 0xcbf29ce484222325n;
  for (const b of bytes) { h ^= BigInt(b); h = (h * 0x100000001b3n) & 0xffffffffffffffffn; }
  return h.toString(16);
}

/** The sector the guest writes: a label, zeros to byte 64, then (i*7 + sector) & 0xff. */
export function expectedWrittenSector(sector: number): Uint8Array {
  const s = new Uint8Array(512);
  s.set(Buffer.from(`XenLab blkfront wrote sector ${sector}`, "latin1"));
  for (let i = 64; i < 512; i++) s[i] = (i * 7 + sector) & 0xff;
  return s;
}
