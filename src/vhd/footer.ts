import { vhdChecksum } from "./checksum";
import {
  DiskType,
  FEATURE_RESERVED,
  FIXED_DATA_OFFSET,
  FOOTER_COOKIE,
  FOOTER_SIZE,
  MAX_VHD_SIZE,
  VHD_EPOCH_UNIX,
} from "./constants";
import { Finding, finding, throwFirstError } from "./finding";
import { Chs, chsBytes, chsSectors, chsForSectors, isMaxChs } from "./geometry";
import { isNullUuid } from "./uuid";

/** The 512-byte hard disk footer (spec "Hard Disk Footer Format"); offsets in the comments. */
export interface VhdFooter {
  cookie: string; // 0, 8 bytes "conectix"
  features: number; // 8, u32
  formatVersion: number; // 12, u32
  dataOffset: bigint; // 16, u64: header offset (dynamic) or all-ones (fixed)
  timestamp: number; // 24, u32 seconds since 2000-01-01 UTC
  creatorApplication: string; // 28, 4 chars
  creatorVersion: number; // 32, u32 major<<16|minor
  creatorHostOs: number; // 36, u32 "Wi2k" / "Mac "
  originalSize: number; // 40, u64
  currentSize: number; // 48, u64
  geometry: Chs; // 56, u16 cylinders, u8 heads, u8 sectors/track
  diskType: DiskType; // 60, u32
  checksum: number; // 64, u32
  uniqueId: Uint8Array; // 68, 16 bytes
  savedState: number; // 84, u8
  /** Byte 85: blktap's "hidden" flag (reserved in the spec). */
  hidden: number;
  /** Bytes 86..511 that are not zero (spec: reserved, zero). */
  reservedNonZero: number;
}

export const FOOTER_FIELD = {
  cookie: 0,
  features: 8,
  formatVersion: 12,
  dataOffset: 16,
  timestamp: 24,
  creatorApplication: 28,
  creatorVersion: 32,
  creatorHostOs: 36,
  originalSize: 40,
  currentSize: 48,
  geometry: 56,
  diskType: 60,
  checksum: 64,
  uniqueId: 68,
  savedState: 84,
  hidden: 85,
  reserved: 86,
} as const;

function u64(b: Buffer, at: number): bigint {
  return b.readBigUInt64BE(at);
}

/** Reads every field without judging it (check reports on a footer it could not trust). */
export function decodeFooter(raw: Uint8Array): VhdFooter {
  const b = Buffer.from(raw.buffer, raw.byteOffset, FOOTER_SIZE);
  let reservedNonZero = 0;
  for (let i = FOOTER_FIELD.reserved; i < FOOTER_SIZE; i++) if (b[i] !== 0) reservedNonZero++;
  const cur = u64(b, 48);
  const orig = u64(b, 40);
  return {
    cookie: b.toString("latin1", 0, 8),
    features: b.readUInt32BE(8),
    formatVersion: b.readUInt32BE(12),
    dataOffset: u64(b, 16),
    timestamp: b.readUInt32BE(24),
    creatorApplication: b.toString("latin1", 28, 32),
    creatorVersion: b.readUInt32BE(32),
    creatorHostOs: b.readUInt32BE(36),
    originalSize: orig > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(orig),
    currentSize: cur > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(cur),
    geometry: { cylinders: b.readUInt16BE(56), heads: b[58]!, sectorsPerTrack: b[59]! },
    diskType: b.readUInt32BE(60),
    checksum: b.readUInt32BE(64),
    uniqueId: new Uint8Array(b.subarray(68, 84)),
    savedState: b[84]!,
    hidden: b[85]!,
    reservedNonZero,
  };
}

export function encodeFooter(f: VhdFooter): Buffer {
  const b = Buffer.alloc(FOOTER_SIZE);
  b.write(f.cookie, 0, 8, "latin1");
  b.writeUInt32BE(f.features >>> 0, 8);
  b.writeUInt32BE(f.formatVersion >>> 0, 12);
  b.writeBigUInt64BE(f.dataOffset, 16);
  b.writeUInt32BE(f.timestamp >>> 0, 24);
  b.write(f.creatorApplication.padEnd(4, " ").slice(0, 4), 28, 4, "latin1");
  b.writeUInt32BE(f.creatorVersion >>> 0, 32);
  b.writeUInt32BE(f.creatorHostOs >>> 0, 36);
  b.writeBigUInt64BE(BigInt(f.originalSize), 40);
  b.writeBigUInt64BE(BigInt(f.currentSize), 48);
  b.writeUInt16BE(f.geometry.cylinders, 56);
  b[58] = f.geometry.heads;
  b[59] = f.geometry.sectorsPerTrack;
  b.writeUInt32BE(f.diskType >>> 0, 60);
  Buffer.from(f.uniqueId).copy(b, 68);
  b[84] = f.savedState;
  b[85] = f.hidden;
  const sum = vhdChecksum(b, 64);
  b.writeUInt32BE(sum, 64);
  f.checksum = sum;
  return b;
}

/**
 * Every problem with a footer read at `base` (its offset in the file), most serious first.
 * Errors make the footer unusable; warnings are deviations real creators produce.
 */
export function footerFindings(raw: Uint8Array, base: number, now = Date.now()): Finding[] {
  const out: Finding[] = [];
  const f = decodeFooter(raw);
  const at = (field: keyof typeof FOOTER_FIELD) => base + FOOTER_FIELD[field];
  if (f.cookie !== FOOTER_COOKIE) {
    out.push(finding("error", "footer cookie", at("cookie"), `expected "conectix", found ${JSON.stringify(f.cookie)}`));
    return out; // not a footer at all: the other fields are noise
  }
  const sum = vhdChecksum(raw.subarray(0, FOOTER_SIZE), 64);
  if (sum !== f.checksum) {
    out.push(finding("error", "footer checksum", at("checksum"), `stored 0x${hex(f.checksum)}, computed 0x${hex(sum)}`));
  }
  if (f.formatVersion >>> 16 !== 1) {
    out.push(finding("error", "footer file format version", at("formatVersion"), `major version ${f.formatVersion >>> 16} is not 1`));
  }
  if (f.diskType !== DiskType.Fixed && f.diskType !== DiskType.Dynamic && f.diskType !== DiskType.Differencing) {
    out.push(finding("error", "footer disk type", at("diskType"), `${f.diskType} is not 2 (fixed), 3 (dynamic) or 4 (differencing)`));
  }
  const rawCur = Buffer.from(raw.buffer, raw.byteOffset).readBigUInt64BE(48);
  if (rawCur > BigInt(MAX_VHD_SIZE)) {
    out.push(finding("error", "footer current size", at("currentSize"), `${rawCur} bytes exceeds the 2040 GiB VHD limit`));
  } else if (f.currentSize % 512 !== 0) {
    out.push(finding("error", "footer current size", at("currentSize"), `${f.currentSize} is not a multiple of 512`));
  } else if (f.currentSize === 0) {
    out.push(finding("error", "footer current size", at("currentSize"), "disk size is 0"));
  }
  if (f.diskType === DiskType.Fixed) {
    if (f.dataOffset !== FIXED_DATA_OFFSET && f.dataOffset !== 0xffffffffn) {
      out.push(finding("warning", "footer data offset", at("dataOffset"), `fixed disk data offset 0x${f.dataOffset.toString(16)} is not all ones`));
    }
  } else if (f.diskType === DiskType.Dynamic || f.diskType === DiskType.Differencing) {
    if (f.dataOffset === FIXED_DATA_OFFSET || f.dataOffset % 512n !== 0n || f.dataOffset < 512n || f.dataOffset > BigInt(Number.MAX_SAFE_INTEGER)) {
      out.push(finding("error", "footer data offset", at("dataOffset"), `0x${f.dataOffset.toString(16)} is not a sector-aligned dynamic header offset`));
    }
  }
  if (!(f.features & FEATURE_RESERVED)) {
    out.push(finding("warning", "footer features", at("features"), `reserved bit 1 is clear (0x${hex(f.features)})`));
  }
  if (f.features & ~0x3) {
    out.push(finding("warning", "footer features", at("features"), `unknown feature bits 0x${hex(f.features & ~0x3)}`));
  }
  const unix = f.timestamp + VHD_EPOCH_UNIX;
  if (unix > now / 1000 + 1800) {
    out.push(finding("warning", "footer time stamp", at("timestamp"), `${new Date(unix * 1000).toISOString()} is in the future`));
  }
  const g = f.geometry;
  if (g.heads > 16 || g.sectorsPerTrack === 0 || g.heads === 0 || g.cylinders === 0) {
    out.push(finding("warning", "footer disk geometry", at("geometry"), `${g.cylinders}/${g.heads}/${g.sectorsPerTrack} is not a valid CHS triple`));
  } else if (chsSectors(g) * 512 > f.currentSize && chsSectors(chsForSectors(f.currentSize / 512)) < chsSectors(g)) {
    out.push(finding("warning", "footer disk geometry", at("geometry"), `CHS ${g.cylinders}/${g.heads}/${g.sectorsPerTrack} is larger than the current size (qemu force_size style)`));
  }
  if (f.savedState > 1) out.push(finding("warning", "footer saved state", at("savedState"), `${f.savedState} is not 0 or 1`));
  if (f.hidden > 1) out.push(finding("warning", "footer reserved (hidden)", at("hidden"), `${f.hidden} is not 0 or 1`));
  if (f.reservedNonZero) out.push(finding("warning", "footer reserved", at("reserved"), `${f.reservedNonZero} reserved bytes are not zero`));
  if (isNullUuid(f.uniqueId)) out.push(finding("warning", "footer unique id", at("uniqueId"), "unique id is all zeros"));
  return out;
}

/** Decodes and validates a footer; throws VhdFormatError naming the first bad field. */
export function parseFooter(raw: Uint8Array, base: number, file?: string): VhdFooter {
  throwFirstError(footerFindings(raw, base), file);
  return decodeFooter(raw);
}

export function vhdTimeToDate(t: number): Date {
  return new Date((t + VHD_EPOCH_UNIX) * 1000);
}

export function dateToVhdTime(d: Date): number {
  return Math.max(0, Math.floor(d.getTime() / 1000) - VHD_EPOCH_UNIX) >>> 0;
}

function hex(n: number): string {
  return (n >>> 0).toString(16).padStart(8, "0");
}

/**
 * Which size a disk shows (qemu's force_size_calc, block/vpc.c vpc_open):
 *   "current": the footer's current size (Hyper-V, disk2vhd, libvhdi, tapdisk, XenLab's default);
 *   "chs":     cylinders x heads x sectors (Virtual PC), never more than the current size;
 *   "qemu":    what qemu-img picks without the option, by creator application: the current size
 *              for "win ", "qem2", "d2v ", "CTXS" and "tap\0", or when the geometry is
 *              65535/16/255; the CHS size for "vpc ", "qemu" and every other creator ("vs  ").
 */
export type SizeCalc = "current" | "chs" | "qemu";

const QEMU_CURRENT_SIZE_CREATORS = ["win ", "qem2", "d2v ", "CTXS", "tap\0"];

export function diskSize(f: VhdFooter, calc: SizeCalc): number {
  const chs = chsBytes(f.geometry);
  if (calc === "current" || isMaxChs(f.geometry) || chs === 0) return f.currentSize;
  if (calc === "qemu" && QEMU_CURRENT_SIZE_CREATORS.includes(f.creatorApplication)) return f.currentSize;
  return Math.min(chs, f.currentSize);
}
