import { BAT_UNUSED, FOOTER_SIZE, HEADER_SIZE, SECTOR } from "./constants";
import { BlockFile, readAt } from "./block-file";
import { DynamicHeader } from "./dynamic-header";
import { locatorSpaceBytes } from "./parent-locator";

/** A byte range of the file and what occupies it. */
export interface Region {
  start: number;
  end: number;
  what: string;
}

export const BATMAP_COOKIE = "tdbatmap";

export function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

export function batBytes(entries: number): number {
  return roundUp(entries * 4, SECTOR);
}

/**
 * The metadata regions of a dynamic/differencing file: footer copy, header, BAT (padded to a
 * sector), parent locator data, and blktap's `tdbatmap` when present (vhd-util writes it right
 * after the BAT; qemu overwrites it, reference Q6). Blocks must not overlap any of these.
 */
export function metadataRegions(file: BlockFile, headerOffset: number, h: DynamicHeader): Region[] {
  const out: Region[] = [
    { start: 0, end: FOOTER_SIZE, what: "footer copy" },
    { start: headerOffset, end: headerOffset + HEADER_SIZE, what: "dynamic header" },
    { start: h.tableOffset, end: h.tableOffset + batBytes(h.maxTableEntries), what: "BAT" },
  ];
  for (const l of h.parentLocators) {
    if (l.platformCode === 0 || l.platformDataLength === 0) continue;
    const space = Math.max(locatorSpaceBytes(l), l.platformDataLength);
    out.push({ start: l.platformDataOffset, end: l.platformDataOffset + space, what: `parent locator ${l.index} data` });
  }
  const batEnd = h.tableOffset + batBytes(h.maxTableEntries);
  if (batEnd + SECTOR <= file.size()) {
    const hdr = readAt(file, batEnd, SECTOR);
    if (hdr.toString("latin1", 0, 8) === BATMAP_COOKIE) {
      // blktap include/vhd.h struct dd_batmap_hdr: cookie, u64 batmap_offset, u32 batmap_size (sectors)
      const off = Number(hdr.readBigUInt64BE(8));
      const sectors = hdr.readUInt32BE(16);
      out.push({ start: batEnd, end: batEnd + SECTOR, what: "tdbatmap header" });
      if (Number.isSafeInteger(off) && off + sectors * SECTOR <= file.size()) {
        out.push({ start: off, end: off + sectors * SECTOR, what: "tdbatmap" });
      }
    }
  }
  return out;
}

export function endOfMetadata(regions: Region[]): number {
  return roundUp(Math.max(...regions.map((r) => r.end)), SECTOR);
}

export function isAllocated(entry: number): boolean {
  return entry !== BAT_UNUSED;
}

const ZEROS = Buffer.alloc(64 * 1024);

/** True if every byte is zero (memcmp against a zero page: this is on the convert hot path). */
export function allZero(b: Uint8Array): boolean {
  for (let off = 0; off < b.length; off += ZEROS.length) {
    const n = Math.min(ZEROS.length, b.length - off);
    if (Buffer.compare(b.subarray(off, off + n), ZEROS.subarray(0, n)) !== 0) return false;
  }
  return true;
}
