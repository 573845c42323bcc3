/** Little-endian field access on byte arrays (every FAT, ext and GPT field is little-endian). */

export function u8(b: Uint8Array, off: number): number {
  return b[off] ?? 0;
}

export function u16(b: Uint8Array, off: number): number {
  return (b[off] ?? 0) | ((b[off + 1] ?? 0) << 8);
}

export function u32(b: Uint8Array, off: number): number {
  return ((b[off] ?? 0) | ((b[off + 1] ?? 0) << 8) | ((b[off + 2] ?? 0) << 16)) + (b[off + 3] ?? 0) * 0x1000000;
}

/** A 64-bit field as a number; values past 2^53 (never valid for a disk offset) become Infinity. */
export function u64(b: Uint8Array, off: number): number {
  const lo = u32(b, off);
  const hi = u32(b, off + 4);
  if (hi >= 0x200000) return Infinity;
  return hi * 0x100000000 + lo;
}

export function put16(b: Uint8Array, off: number, v: number): void {
  b[off] = v & 0xff;
  b[off + 1] = (v >>> 8) & 0xff;
}

export function put32(b: Uint8Array, off: number, v: number): void {
  b[off] = v & 0xff;
  b[off + 1] = (v >>> 8) & 0xff;
  b[off + 2] = (v >>> 16) & 0xff;
  b[off + 3] = (v >>> 24) & 0xff;
}

/** Decodes UTF-16LE code units up to the first NUL (GPT names, VFAT long names). */
export function utf16z(b: Uint8Array, off: number, units: number): string {
  const codes: number[] = [];
  for (let i = 0; i < units; i++) {
    const c = u16(b, off + 2 * i);
    if (c === 0) break;
    codes.push(c);
  }
  return String.fromCharCode(...codes);
}

export function latin1z(b: Uint8Array, off: number, len: number): string {
  let s = "";
  for (let i = 0; i < len; i++) {
    const c = b[off + i] ?? 0;
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s;
}

export function utf8z(b: Uint8Array, off: number, len: number): string {
  let end = off;
  while (end < off + len && b[end] !== 0) end++;
  return Buffer.from(b.buffer, b.byteOffset + off, end - off).toString("utf8");
}
