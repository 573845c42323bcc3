import { vhdChecksum } from "./checksum";
import { DiskType, HEADER_COOKIE, HEADER_DATA_OFFSET, HEADER_SIZE, PARENT_LOCATOR_COUNT, PARENT_NAME_BYTES, PLATFORM } from "./constants";
import { Finding, finding, throwFirstError } from "./finding";
import { LOCATOR_ENTRY_SIZE, LOCATOR_TABLE_OFFSET, ParentLocator, locatorSpaceBytes, platformName } from "./parent-locator";
import { isNullUuid } from "./uuid";

/** The 1024-byte dynamic disk header (spec "Dynamic Disk Header Format"). */
export interface DynamicHeader {
  cookie: string; // 0, "cxsparse"
  dataOffset: bigint; // 8, unused, all ones
  tableOffset: number; // 16, u64 absolute offset of the BAT
  headerVersion: number; // 24, u32
  maxTableEntries: number; // 28, u32
  blockSize: number; // 32, u32 bytes, a power of two
  checksum: number; // 36, u32
  parentUniqueId: Uint8Array; // 40, 16 bytes
  parentTimestamp: number; // 56, u32 seconds since 2000
  reserved1: number; // 60, u32
  parentUnicodeName: string; // 64, 512 bytes UTF-16BE
  parentLocators: ParentLocator[]; // 576, 8 x 24 bytes
  reservedNonZero: number; // 768..1023
}

export const HEADER_FIELD = {
  cookie: 0,
  dataOffset: 8,
  tableOffset: 16,
  headerVersion: 24,
  maxTableEntries: 28,
  blockSize: 32,
  checksum: 36,
  parentUniqueId: 40,
  parentTimestamp: 56,
  reserved1: 60,
  parentUnicodeName: 64,
  parentLocators: LOCATOR_TABLE_OFFSET,
  reserved2: 768,
} as const;

export function decodeHeader(raw: Uint8Array): DynamicHeader {
  const b = Buffer.from(raw.buffer, raw.byteOffset, HEADER_SIZE);
  const table = b.readBigUInt64BE(16);
  const name = Buffer.from(b.subarray(64, 64 + PARENT_NAME_BYTES)).swap16().toString("utf16le");
  const locators: ParentLocator[] = [];
  for (let i = 0; i < PARENT_LOCATOR_COUNT; i++) {
    const o = LOCATOR_TABLE_OFFSET + i * LOCATOR_ENTRY_SIZE;
    const off = b.readBigUInt64BE(o + 16);
    locators.push({
      index: i,
      platformCode: b.readUInt32BE(o),
      platformDataSpace: b.readUInt32BE(o + 4),
      platformDataLength: b.readUInt32BE(o + 8),
      reserved: b.readUInt32BE(o + 12),
      platformDataOffset: off > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(off),
    });
  }
  let reservedNonZero = 0;
  for (let i = 768; i < HEADER_SIZE; i++) if (b[i] !== 0) reservedNonZero++;
  return {
    cookie: b.toString("latin1", 0, 8),
    dataOffset: b.readBigUInt64BE(8),
    tableOffset: table > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(table),
    headerVersion: b.readUInt32BE(24),
    maxTableEntries: b.readUInt32BE(28),
    blockSize: b.readUInt32BE(32),
    checksum: b.readUInt32BE(36),
    parentUniqueId: new Uint8Array(b.subarray(40, 56)),
    parentTimestamp: b.readUInt32BE(56),
    reserved1: b.readUInt32BE(60),
    parentUnicodeName: name.replace(/\0.*$/s, ""),
    parentLocators: locators,
    reservedNonZero,
  };
}

export function encodeHeader(h: DynamicHeader): Buffer {
  const b = Buffer.alloc(HEADER_SIZE);
  b.write(h.cookie, 0, 8, "latin1");
  b.writeBigUInt64BE(h.dataOffset, 8);
  b.writeBigUInt64BE(BigInt(h.tableOffset), 16);
  b.writeUInt32BE(h.headerVersion >>> 0, 24);
  b.writeUInt32BE(h.maxTableEntries >>> 0, 28);
  b.writeUInt32BE(h.blockSize >>> 0, 32);
  Buffer.from(h.parentUniqueId).copy(b, 40);
  b.writeUInt32BE(h.parentTimestamp >>> 0, 56);
  b.writeUInt32BE(h.reserved1 >>> 0, 60);
  const name = Buffer.from(h.parentUnicodeName, "utf16le").swap16();
  if (name.length > PARENT_NAME_BYTES) throw new RangeError(`parent name is longer than ${PARENT_NAME_BYTES / 2} UTF-16 units`);
  name.copy(b, 64);
  for (const l of h.parentLocators) {
    const o = LOCATOR_TABLE_OFFSET + l.index * LOCATOR_ENTRY_SIZE;
    b.writeUInt32BE(l.platformCode >>> 0, o);
    b.writeUInt32BE(l.platformDataSpace >>> 0, o + 4);
    b.writeUInt32BE(l.platformDataLength >>> 0, o + 8);
    b.writeUInt32BE(l.reserved >>> 0, o + 12);
    b.writeBigUInt64BE(BigInt(l.platformDataOffset), o + 16);
  }
  const sum = vhdChecksum(b, 36);
  b.writeUInt32BE(sum, 36);
  h.checksum = sum;
  return b;
}

export function emptyLocators(): ParentLocator[] {
  return Array.from({ length: PARENT_LOCATOR_COUNT }, (_, index) => ({
    index,
    platformCode: 0,
    platformDataSpace: 0,
    platformDataLength: 0,
    reserved: 0,
    platformDataOffset: 0,
  }));
}

export function bitmapBytes(blockSize: number): number {
  return Math.ceil(blockSize / 512 / 8 / 512) * 512;
}

/**
 * Every problem with a dynamic header read at `base`. `fileSize` bounds the BAT and the locators;
 * `currentSize` (from the footer) bounds the BAT length from below.
 */
export function headerFindings(raw: Uint8Array, base: number, fileSize: number, diskType: DiskType, currentSize: number): Finding[] {
  const out: Finding[] = [];
  const h = decodeHeader(raw);
  const at = (field: keyof typeof HEADER_FIELD) => base + HEADER_FIELD[field];
  if (h.cookie !== HEADER_COOKIE) {
    out.push(finding("error", "header cookie", at("cookie"), `expected "cxsparse", found ${JSON.stringify(h.cookie)}`));
    return out;
  }
  const sum = vhdChecksum(raw.subarray(0, HEADER_SIZE), 36);
  if (sum !== h.checksum) {
    out.push(finding("error", "header checksum", at("checksum"), `stored 0x${h.checksum.toString(16)}, computed 0x${sum.toString(16)}`));
  }
  if (h.headerVersion >>> 16 !== 1) {
    out.push(finding("error", "header version", at("headerVersion"), `0x${h.headerVersion.toString(16)} is not 1.x`));
  }
  const bs = h.blockSize;
  if (bs < 512 || (bs & (bs - 1)) !== 0) {
    out.push(finding("error", "header block size", at("blockSize"), `${bs} is not a power of two of at least 512`));
  } else {
    const needed = Math.ceil(currentSize / bs);
    if (h.maxTableEntries < needed) {
      out.push(finding("error", "header max table entries", at("maxTableEntries"), `${h.maxTableEntries} entries of ${bs} bytes cannot cover the ${currentSize}-byte disk (needs ${needed})`));
    }
  }
  if (h.tableOffset === Number.MAX_SAFE_INTEGER || h.tableOffset < 512 || h.tableOffset + h.maxTableEntries * 4 > fileSize) {
    out.push(finding("error", "header table offset", at("tableOffset"), `BAT at ${h.tableOffset} with ${h.maxTableEntries} entries does not fit in the ${fileSize}-byte file`));
  } else if (h.tableOffset % 512 !== 0) {
    out.push(finding("warning", "header table offset", at("tableOffset"), `BAT offset ${h.tableOffset} is not sector-aligned`));
  } else if (h.tableOffset < base + HEADER_SIZE && h.tableOffset + h.maxTableEntries * 4 > base) {
    out.push(finding("error", "header table offset", at("tableOffset"), `BAT at ${h.tableOffset} overlaps the dynamic header at ${base}`));
  }
  if (h.dataOffset !== HEADER_DATA_OFFSET) {
    out.push(finding("warning", "header data offset", at("dataOffset"), `0x${h.dataOffset.toString(16)} is not all ones`));
  }
  if (h.reservedNonZero || h.reserved1) out.push(finding("warning", "header reserved", at("reserved2"), "reserved bytes are not zero"));
  if (diskType === DiskType.Differencing) {
    if (isNullUuid(h.parentUniqueId)) {
      out.push(finding("error", "header parent unique id", at("parentUniqueId"), "a differencing disk needs its parent's unique id"));
    }
  } else if (!isNullUuid(h.parentUniqueId) || h.parentUnicodeName !== "") {
    out.push(finding("warning", "header parent unique id", at("parentUniqueId"), "a dynamic disk names a parent"));
  }
  const seen = new Set<number>();
  for (const l of h.parentLocators) {
    const o = at("parentLocators") + l.index * LOCATOR_ENTRY_SIZE;
    if (l.platformCode === 0) continue;
    const name = platformName(l.platformCode);
    const known = (Object.values(PLATFORM) as readonly number[]).includes(l.platformCode);
    if (!known) {
      out.push(finding("warning", `parent locator ${l.index} platform code`, o, `unknown platform code ${name}`));
      continue;
    }
    if (seen.has(l.platformCode)) out.push(finding("warning", `parent locator ${l.index} platform code`, o, `duplicate ${name} locator`));
    seen.add(l.platformCode);
    const space = locatorSpaceBytes(l);
    if (l.platformDataOffset === Number.MAX_SAFE_INTEGER || l.platformDataOffset + l.platformDataLength > fileSize) {
      out.push(finding(diskType === DiskType.Differencing ? "error" : "warning", `parent locator ${l.index} data offset`, o + 16, `${name} data at ${l.platformDataOffset} (+${l.platformDataLength}) lies outside the ${fileSize}-byte file`));
    } else if (l.platformDataLength > space) {
      out.push(finding("warning", `parent locator ${l.index} data length`, o + 8, `${l.platformDataLength} bytes exceed the ${space}-byte data space`));
    } else if (l.platformDataOffset < base + HEADER_SIZE && l.platformDataOffset + l.platformDataLength > base) {
      out.push(finding("error", `parent locator ${l.index} data offset`, o + 16, `${name} data overlaps the dynamic header`));
    }
  }
  return out;
}

export function parseHeader(raw: Uint8Array, base: number, fileSize: number, diskType: DiskType, currentSize: number, file?: string): DynamicHeader {
  throwFirstError(headerFindings(raw, base, fileSize, diskType, currentSize), file);
  return decodeHeader(raw);
}
