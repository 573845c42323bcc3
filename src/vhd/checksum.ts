/**
 * The footer and dynamic header checksum (spec: "one's complement of the sum of all the bytes in
 * the footer without the checksum field"), as an unsigned 32-bit integer.
 */
export function vhdChecksum(bytes: Uint8Array, checksumOffset: number): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (i >= checksumOffset && i < checksumOffset + 4) continue;
    sum = (sum + bytes[i]!) >>> 0;
  }
  return ~sum >>> 0;
}
