import { PLATFORM, SECTOR } from "./constants";

/** One of the eight 24-byte parent locator entries of the dynamic header (spec "Parent Locator Entry"). */
export interface ParentLocator {
  index: number;
  platformCode: number; // +0 u32
  /** +4 u32 as stored: sectors per the spec, bytes in Windows/VirtualBox/vhd-util files. */
  platformDataSpace: number;
  platformDataLength: number; // +8 u32, bytes
  reserved: number; // +12 u32
  platformDataOffset: number; // +16 u64, absolute file offset
}

export const LOCATOR_TABLE_OFFSET = 576; // within the dynamic header
export const LOCATOR_ENTRY_SIZE = 24;

/**
 * The space reserved for a locator's data in bytes. blktap's rule (include/libvhd.h
 * vhd_parent_locator_size, "MICROSOFT_COMPAT"): values below 512 are sectors as the spec says,
 * multiples of 512 are bytes as Windows writes them.
 */
export function locatorSpaceBytes(l: ParentLocator): number {
  return l.platformDataSpace < SECTOR ? l.platformDataSpace * SECTOR : l.platformDataSpace;
}

export function platformName(code: number): string {
  for (const [name, value] of Object.entries(PLATFORM)) if (value === code) return name === "Mac" ? "Mac " : name;
  const b = Buffer.alloc(4);
  b.writeUInt32BE(code >>> 0);
  return /^[\x20-\x7e]{4}$/.test(b.toString("latin1")) ? b.toString("latin1") : `0x${(code >>> 0).toString(16)}`;
}

/** Decodes a UTF-16 path whose byte order is LE in practice (Q8), detecting BE by its zero bytes. */
export function decodeUtf16Guess(bytes: Uint8Array): string {
  let evenZero = 0;
  let oddZero = 0;
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    if (bytes[i] === 0 && bytes[i + 1] !== 0) evenZero++;
    if (bytes[i + 1] === 0 && bytes[i] !== 0) oddZero++;
  }
  const buf = Buffer.from(bytes.subarray(0, bytes.length & ~1));
  const s = evenZero > oddZero ? Buffer.from(buf).swap16().toString("utf16le") : buf.toString("utf16le");
  return s.replace(/\0+$/, "").replace(/^\ufeff/, "");
}

/**
 * The path a locator's data names, or undefined for platforms that hold no path we can use
 * (the classic Mac OS alias record).
 */
export function decodeLocatorPath(code: number, data: Uint8Array): string | undefined {
  switch (code) {
    case PLATFORM.W2ku:
    case PLATFORM.W2ru:
      return decodeUtf16Guess(data);
    case PLATFORM.Wi2k:
    case PLATFORM.Wi2r:
      return Buffer.from(data).toString("latin1").replace(/\0+$/, "");
    case PLATFORM.MacX: {
      const url = Buffer.from(data).toString("utf8").replace(/\0+$/, "");
      const path = url.startsWith("file://") ? url.slice("file://".length) : url;
      try {
        return decodeURI(path);
      } catch {
        return path;
      }
    }
    default:
      return undefined;
  }
}

export function encodeLocatorPath(code: number, path: string): Buffer {
  switch (code) {
    case PLATFORM.W2ku:
    case PLATFORM.W2ru:
      return Buffer.from(path, "utf16le");
    case PLATFORM.MacX:
      return Buffer.from(`file://${encodeURI(path)}`, "utf8");
    default:
      return Buffer.from(path, "latin1");
  }
}
