import { BlockDevice } from "../vhd/block-device";
import { u32, u64, utf16z } from "./bytes";
import { crc32 } from "./crc32";
import { FsError } from "./errors";
import { Guid, gptTypeName, readGuid, ZERO_GUID } from "./guid";
import { readAt } from "./partition";
import { PartitionEntry } from "./partition-entry";

/** GPT header layout: UEFI spec 2.10, section 5.3.2 table 5-5. */
export const GPT_SIGNATURE = "EFI PART";
export const GPT_REVISION_1_0 = 0x00010000;
export const GPT_HEADER_MIN_SIZE = 92;
export const GPT_ENTRY_MIN_SIZE = 128;
/** Far more than any real table (the spec's minimum is 16 KiB); bounds what a corrupt header can make us read. */
export const GPT_ENTRY_ARRAY_MAX_BYTES = 4 * 1024 * 1024;

export interface GptHeader {
  lba: number;
  revision: number;
  headerSize: number;
  headerCrc: number;
  myLba: number;
  alternateLba: number;
  firstUsableLba: number;
  lastUsableLba: number;
  diskGuid: Guid;
  entriesLba: number;
  entryCount: number;
  entrySize: number;
  entriesCrc: number;
}

export interface GptTable {
  sectorSize: number;
  header: GptHeader;
  /** True when the primary header or its entry array was bad and the backup at the last LBA was used. */
  usedBackup: boolean;
  /** What was wrong with the primary (or backup), as FsErrors naming the field. */
  problems: FsError[];
  partitions: PartitionEntry[];
}

/** True when "EFI PART" is at LBA 1 for the given sector size (used to pick 512 or 4096). */
export function hasGptSignature(dev: BlockDevice, sectorSize: number): boolean {
  if (dev.size < sectorSize * 2) return false;
  const b = readAt(dev, sectorSize, 8, "gpt.signature");
  return Buffer.from(b).toString("latin1") === GPT_SIGNATURE;
}

export function readGpt(dev: BlockDevice, sectorSize = 512): GptTable {
  const problems: FsError[] = [];
  const lastLba = Math.floor(dev.size / sectorSize) - 1;
  const primary = tryRead(dev, sectorSize, 1, "gpt.primary", problems);
  if (primary) return { sectorSize, header: primary.header, usedBackup: false, problems, partitions: primary.partitions };
  const backupLba = lastLba;
  const backup = tryRead(dev, sectorSize, backupLba, "gpt.backup", problems);
  if (backup) return { sectorSize, header: backup.header, usedBackup: true, problems, partitions: backup.partitions };
  const first = problems[0]!;
  throw new FsError("ECORRUPT", `no valid GPT header: ${problems.map((p) => p.message).join("; ")}`, {
    field: first.field,
    offset: first.offset,
  });
}

function tryRead(
  dev: BlockDevice,
  sectorSize: number,
  lba: number,
  what: string,
  problems: FsError[],
): { header: GptHeader; partitions: PartitionEntry[] } | undefined {
  try {
    const header = readHeader(dev, sectorSize, lba, what);
    return { header, partitions: readEntries(dev, sectorSize, header, what) };
  } catch (e) {
    if (!(e instanceof FsError)) throw e;
    problems.push(e);
    return undefined;
  }
}

function readHeader(dev: BlockDevice, sectorSize: number, lba: number, what: string): GptHeader {
  const at = lba * sectorSize;
  const b = readAt(dev, at, sectorSize, `${what}.header`);
  if (Buffer.from(b.subarray(0, 8)).toString("latin1") !== GPT_SIGNATURE) {
    throw new FsError("ECORRUPT", `${what} header has no "EFI PART" signature`, { field: `${what}.signature`, offset: at });
  }
  const headerSize = u32(b, 12);
  if (headerSize < GPT_HEADER_MIN_SIZE || headerSize > sectorSize) {
    throw new FsError("ECORRUPT", `${what} header size ${headerSize} is outside ${GPT_HEADER_MIN_SIZE}..${sectorSize}`, {
      field: `${what}.header_size`,
      offset: at + 12,
    });
  }
  const headerCrc = u32(b, 16);
  const copy = b.slice(0, headerSize);
  copy.fill(0, 16, 20); // the CRC is computed with its own field zeroed
  const actual = crc32(copy);
  if (actual !== headerCrc) {
    throw new FsError("ECORRUPT", `${what} header CRC32 is 0x${hex(headerCrc)}, computed 0x${hex(actual)}`, {
      field: `${what}.header_crc32`,
      offset: at + 16,
    });
  }
  const h: GptHeader = {
    lba,
    revision: u32(b, 8),
    headerSize,
    headerCrc,
    myLba: u64(b, 24),
    alternateLba: u64(b, 32),
    firstUsableLba: u64(b, 40),
    lastUsableLba: u64(b, 48),
    diskGuid: readGuid(b, 56),
    entriesLba: u64(b, 72),
    entryCount: u32(b, 80),
    entrySize: u32(b, 84),
    entriesCrc: u32(b, 88),
  };
  if (h.myLba !== lba) {
    throw new FsError("ECORRUPT", `${what} header says it is at LBA ${h.myLba}, found at ${lba}`, { field: `${what}.my_lba`, offset: at + 24 });
  }
  if (h.entrySize < GPT_ENTRY_MIN_SIZE || h.entrySize % 8 !== 0 || h.entrySize * h.entryCount > GPT_ENTRY_ARRAY_MAX_BYTES) {
    throw new FsError("ECORRUPT", `${what} entry array of ${h.entryCount} x ${h.entrySize} bytes is not valid`, {
      field: `${what}.size_of_partition_entry`,
      offset: at + 84,
    });
  }
  return h;
}

function readEntries(dev: BlockDevice, sectorSize: number, h: GptHeader, what: string): PartitionEntry[] {
  const bytes = h.entryCount * h.entrySize;
  const at = h.entriesLba * sectorSize;
  const arr = readAt(dev, at, bytes, `${what}.partition_entry_lba`);
  const actual = crc32(arr);
  if (actual !== h.entriesCrc) {
    throw new FsError("ECORRUPT", `${what} entry array CRC32 is 0x${hex(h.entriesCrc)}, computed 0x${hex(actual)}`, {
      field: `${what}.partition_entry_array_crc32`,
      offset: at,
    });
  }
  const out: PartitionEntry[] = [];
  for (let i = 0; i < h.entryCount; i++) {
    const off = i * h.entrySize;
    const type = readGuid(arr, off);
    if (type === ZERO_GUID) continue;
    const first = u64(arr, off + 32);
    const last = u64(arr, off + 40);
    if (!(last >= first) || (last + 1) * sectorSize > dev.size) {
      throw new FsError("ECORRUPT", `${what} entry ${i + 1} spans LBA ${first}..${last}, outside the disk`, {
        field: `${what}.entry[${i}].lba`,
        offset: at + off + 32,
      });
    }
    out.push({
      index: i + 1,
      scheme: "gpt",
      startLba: first,
      sectors: last - first + 1,
      start: first * sectorSize,
      size: (last - first + 1) * sectorSize,
      type,
      typeName: gptTypeName(type),
      uuid: readGuid(arr, off + 16),
      name: utf16z(arr, off + 56, 36),
      attributes: (BigInt(u32(arr, off + 52)) << 32n) | BigInt(u32(arr, off + 48)),
    });
  }
  return out;
}

function hex(n: number): string {
  return n.toString(16).padStart(8, "0");
}

