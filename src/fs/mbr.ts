import { BlockDevice } from "../vhd/block-device";
import { u32, u8 } from "./bytes";
import { FsError } from "./errors";
import { readAt } from "./partition";
import { PartitionEntry } from "./partition-entry";

/** MBR layout (IBM PC/AT; Microsoft "Master Boot Record" docs): 4 entries of 16 bytes at 446. */
export const MBR_TABLE_OFFSET = 446;
export const MBR_ENTRY_SIZE = 16;
export const MBR_SIGNATURE_OFFSET = 510; // 0x55 0xAA
export const MBR_DISK_ID_OFFSET = 440; // Windows disk signature
export const MBR_SECTOR = 512;

/** Partition types that hold an EBR chain (DOS extended CHS, Windows LBA, Linux extended). */
export const MBR_EXTENDED_TYPES: ReadonlySet<number> = new Set([0x05, 0x0f, 0x85]);
/** The single partition of a protective MBR covering a GPT disk (UEFI spec 5.2.3). */
export const MBR_TYPE_GPT_PROTECTIVE = 0xee;
/** A chain longer than this is treated as a loop (Linux msdos.c stops at 128 logicals too). */
export const MAX_LOGICAL_PARTITIONS = 128;

/** Names as util-linux's fdisk lists them for the common types. */
export const MBR_TYPE_NAMES: Readonly<Record<number, string>> = {
  0x01: "FAT12",
  0x04: "FAT16 <32M",
  0x05: "Extended",
  0x06: "FAT16",
  0x07: "HPFS/NTFS/exFAT",
  0x0b: "W95 FAT32",
  0x0c: "W95 FAT32 (LBA)",
  0x0e: "W95 FAT16 (LBA)",
  0x0f: "W95 Ext'd (LBA)",
  0x11: "Hidden FAT12",
  0x27: "Hidden NTFS WinRE",
  0x82: "Linux swap / Solaris",
  0x83: "Linux",
  0x85: "Linux extended",
  0x8e: "Linux LVM",
  0xa5: "FreeBSD",
  0xee: "GPT",
  0xef: "EFI (FAT-12/16/32)",
  0xfd: "Linux raid autodetect",
};

export interface MbrEntryRaw {
  bootable: boolean;
  type: number;
  startLba: number;
  sectors: number;
}

export function hasMbrSignature(sector0: Uint8Array): boolean {
  return sector0[MBR_SIGNATURE_OFFSET] === 0x55 && sector0[MBR_SIGNATURE_OFFSET + 1] === 0xaa;
}

export function parseMbrEntries(sector: Uint8Array): MbrEntryRaw[] {
  const out: MbrEntryRaw[] = [];
  for (let i = 0; i < 4; i++) {
    const off = MBR_TABLE_OFFSET + i * MBR_ENTRY_SIZE;
    out.push({
      bootable: u8(sector, off) === 0x80,
      type: u8(sector, off + 4),
      startLba: u32(sector, off + 8),
      sectors: u32(sector, off + 12),
    });
  }
  return out;
}

/** True when every entry is plausible: boot flag 0 or 0x80, and used entries inside 2^32 sectors. */
export function mbrEntriesLookValid(sector: Uint8Array): boolean {
  for (let i = 0; i < 4; i++) {
    const flag = u8(sector, MBR_TABLE_OFFSET + i * MBR_ENTRY_SIZE);
    if (flag !== 0 && flag !== 0x80) return false;
  }
  return parseMbrEntries(sector).some((e) => e.type !== 0 && e.sectors !== 0);
}

function mbrTypeHex(type: number): string {
  return `0x${type.toString(16).padStart(2, "0")}`;
}

export interface MbrTable {
  diskId: string;
  partitions: PartitionEntry[];
  extended?: { start: number; size: number };
}

/**
 * Reads an MBR and its extended partition's EBR chain. Primary partitions are numbered 1-4 by
 * slot and logical ones from 5 in chain order, as Linux names them (sda5, sda6...).
 */
export function readMbr(dev: BlockDevice): MbrTable {
  const sector0 = readAt(dev, 0, MBR_SECTOR, "mbr");
  if (!hasMbrSignature(sector0)) {
    throw new FsError("ENOFS", "no MBR boot signature 55 AA", { field: "mbr.signature", offset: MBR_SIGNATURE_OFFSET });
  }
  const diskId = `0x${u32(sector0, MBR_DISK_ID_OFFSET).toString(16).padStart(8, "0")}`;
  const partitions: PartitionEntry[] = [];
  let extended: { start: number; size: number } | undefined;
  parseMbrEntries(sector0).forEach((e, slot) => {
    if (e.type === 0 || e.sectors === 0) return;
    const entry = makeEntry(dev, slot + 1, e, e.startLba, false, `mbr.entry[${slot}]`, MBR_TABLE_OFFSET + slot * MBR_ENTRY_SIZE);
    partitions.push(entry);
    if (MBR_EXTENDED_TYPES.has(e.type)) {
      if (extended) throw new FsError("ECORRUPT", "two extended partitions in the MBR", { field: `mbr.entry[${slot}].type` });
      extended = { start: e.startLba, size: e.sectors };
    }
  });
  if (extended) partitions.push(...readEbrChain(dev, extended.start, extended.size));
  return { diskId, partitions, extended: extended && { start: extended.start * MBR_SECTOR, size: extended.size * MBR_SECTOR } };
}

/**
 * Walks the EBR chain. Each EBR holds the logical partition (relative to the EBR itself) in its
 * first entry and the link to the next EBR (relative to the extended partition) in its second.
 */
function readEbrChain(dev: BlockDevice, extStart: number, extSectors: number): PartitionEntry[] {
  const out: PartitionEntry[] = [];
  const seen = new Set<number>();
  let ebrLba = extStart;
  for (let n = 0; ; n++) {
    const field = `ebr[${n}]@lba ${ebrLba}`;
    if (seen.has(ebrLba)) throw new FsError("ECORRUPT", `EBR chain loops back to LBA ${ebrLba}`, { field, offset: ebrLba * MBR_SECTOR });
    if (n >= MAX_LOGICAL_PARTITIONS) {
      throw new FsError("ECORRUPT", `EBR chain longer than ${MAX_LOGICAL_PARTITIONS} links`, { field, offset: ebrLba * MBR_SECTOR });
    }
    seen.add(ebrLba);
    const sector = readAt(dev, ebrLba * MBR_SECTOR, MBR_SECTOR, field);
    if (!hasMbrSignature(sector)) {
      throw new FsError("ECORRUPT", "EBR without the 55 AA signature", { field: `${field}.signature`, offset: ebrLba * MBR_SECTOR + MBR_SIGNATURE_OFFSET });
    }
    const [logical, link] = parseMbrEntries(sector) as [MbrEntryRaw, MbrEntryRaw];
    if (logical.type !== 0 && logical.sectors !== 0) {
      const abs = ebrLba + logical.startLba;
      if (abs + logical.sectors > extStart + extSectors) {
        throw new FsError("ECORRUPT", "logical partition extends past its extended partition", {
          field: `${field}.entry[0]`,
          offset: ebrLba * MBR_SECTOR + MBR_TABLE_OFFSET,
        });
      }
      out.push(makeEntry(dev, 5 + out.length, logical, abs, true, `${field}.entry[0]`, ebrLba * MBR_SECTOR + MBR_TABLE_OFFSET));
    }
    if (link.type === 0 || link.sectors === 0) break;
    if (!MBR_EXTENDED_TYPES.has(link.type)) {
      throw new FsError("ECORRUPT", `EBR link has type ${mbrTypeHex(link.type)}, not an extended type`, { field: `${field}.entry[1].type` });
    }
    ebrLba = extStart + link.startLba;
    if (link.startLba >= extSectors) {
      throw new FsError("ECORRUPT", "EBR link points outside the extended partition", { field: `${field}.entry[1]` });
    }
  }
  return out;
}

function makeEntry(
  dev: BlockDevice,
  index: number,
  e: MbrEntryRaw,
  absLba: number,
  logical: boolean,
  field: string,
  offset: number,
): PartitionEntry {
  const start = absLba * MBR_SECTOR;
  const size = e.sectors * MBR_SECTOR;
  if (start + size > dev.size) {
    throw new FsError("ECORRUPT", `partition ${index} (LBA ${absLba}+${e.sectors}) ends past the disk (${dev.size} bytes)`, { field, offset });
  }
  return {
    index,
    scheme: "mbr",
    startLba: absLba,
    sectors: e.sectors,
    start,
    size,
    type: mbrTypeHex(e.type),
    typeName: MBR_TYPE_NAMES[e.type] ?? "unknown",
    bootable: e.bootable,
    logical,
    extended: MBR_EXTENDED_TYPES.has(e.type),
  };
}
