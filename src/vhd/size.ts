import { VhdUsageError } from "./errors";

/**
 * Parses a size the way qemu-img does: a number with an optional suffix K, M, G, T (powers of
 * 1024, also "KiB" / "k"), or plain bytes. `defaultUnit` applies to a bare number (qemu: bytes).
 */
export function parseSize(text: string, defaultUnit = 1): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kKmMgGtTpPeE]?)(i?[bB])?\s*$/.exec(text);
  if (!m) throw new VhdUsageError(`invalid size "${text}" (expected a number with an optional K, M, G or T suffix)`);
  const unit = m[2] ? 1024 ** "KMGTPE".indexOf(m[2].toUpperCase()) * 1024 : defaultUnit;
  const bytes = Number(m[1]) * unit;
  if (!Number.isSafeInteger(Math.round(bytes)) || Math.round(bytes) !== bytes) throw new VhdUsageError(`invalid size "${text}": not a whole number of bytes`);
  return bytes;
}

/** 104857600 -> "100 MiB" (exact where possible). */
export function formatSize(bytes: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${bytes} bytes` : `${Number.isInteger(v) ? v : v.toFixed(2)} ${units[i]}`;
}
