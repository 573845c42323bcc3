import { randomBytes } from "node:crypto";

/** VHD unique ids are 16 raw bytes; vhdiinfo and vhd-util print them in stored byte order. */
export function formatUuid(bytes: Uint8Array): string {
  const h = Buffer.from(bytes).toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function newUuid(): Uint8Array {
  const b = randomBytes(16);
  b[6] = (b[6]! & 0x0f) | 0x40; // RFC 4122 version 4
  b[8] = (b[8]! & 0x3f) | 0x80;
  return new Uint8Array(b);
}

export function isNullUuid(bytes: Uint8Array): boolean {
  return bytes.every((b) => b === 0);
}

export function uuidEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
