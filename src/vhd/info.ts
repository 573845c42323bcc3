import { DiskType } from "./constants";
import { diskSize, vhdTimeToDate } from "./footer";
import { chsBytes } from "./geometry";
import { locatorSpaceBytes, platformName } from "./parent-locator";
import { formatUuid } from "./uuid";
import { VhdDisk } from "./vhd-disk";

/** Everything `info` shows about one file of a chain, as plain data (the --json output). */
export interface VhdInfo {
  file: string;
  type: "fixed" | "dynamic" | "differencing";
  virtualSize: number;
  currentSize: number;
  originalSize: number;
  chsSize: number;
  /** What qemu-img reports for this file (reference §1.5: CHS for most creators, else current size). */
  qemuVirtualSize: number;
  fileSize: number;
  footer: {
    source: string;
    offset: number;
    features: number;
    formatVersion: string;
    timestamp: string;
    creatorApplication: string;
    creatorVersion: string;
    creatorHostOs: string;
    geometry: { cylinders: number; heads: number; sectorsPerTrack: number };
    checksum: string;
    uniqueId: string;
    savedState: number;
  };
  header?: {
    offset: number;
    tableOffset: number;
    maxTableEntries: number;
    blockSize: number;
    allocatedBlocks: number;
    parentUniqueId?: string;
    parentTimestamp?: string;
    parentName?: string;
    parentLocators: Array<{ index: number; platform: string; dataOffset: number; dataSpace: number; dataLength: number }>;
  };
  parent?: { path: string; foundBy: string };
  warnings: string[];
}

/** qemu block/vpc.c vpc_open: which creators get the current size rather than CHS. */
export function qemuVirtualSize(d: VhdDisk): number {
  return diskSize(d.footer, "qemu");
}

export function vhdInfo(d: VhdDisk): VhdInfo {
  const f = d.footer;
  const h = d.header;
  const ver = (v: number) => `${v >>> 16}.${v & 0xffff}`;
  const os = f.creatorHostOs === 0x5769326b ? "Wi2k" : f.creatorHostOs === 0x4d616320 ? "Mac " : `0x${f.creatorHostOs.toString(16)}`;
  return {
    file: d.path,
    type: d.diskTypeName,
    virtualSize: d.size,
    currentSize: f.currentSize,
    originalSize: f.originalSize,
    chsSize: chsBytes(f.geometry),
    qemuVirtualSize: qemuVirtualSize(d),
    fileSize: d.file.size(),
    footer: {
      source: d.footerSource,
      offset: d.footerPosition,
      features: f.features,
      formatVersion: ver(f.formatVersion),
      timestamp: vhdTimeToDate(f.timestamp).toISOString(),
      creatorApplication: f.creatorApplication.replace(/\0/g, "\\0"),
      creatorVersion: ver(f.creatorVersion),
      creatorHostOs: os,
      geometry: { ...f.geometry },
      checksum: `0x${f.checksum.toString(16).padStart(8, "0")}`,
      uniqueId: formatUuid(f.uniqueId),
      savedState: f.savedState,
    },
    header: h && {
      offset: d.headerOffset,
      tableOffset: h.tableOffset,
      maxTableEntries: h.maxTableEntries,
      blockSize: h.blockSize,
      allocatedBlocks: d.allocatedBlocks,
      ...(d.type === DiskType.Differencing
        ? { parentUniqueId: formatUuid(h.parentUniqueId), parentTimestamp: vhdTimeToDate(h.parentTimestamp).toISOString(), parentName: h.parentUnicodeName }
        : {}),
      parentLocators: h.parentLocators
        .filter((l) => l.platformCode !== 0)
        .map((l) => ({ index: l.index, platform: platformName(l.platformCode), dataOffset: l.platformDataOffset, dataSpace: locatorSpaceBytes(l), dataLength: l.platformDataLength })),
    },
    parent: d.parent && d.parentFoundBy ? { path: d.parent.path, foundBy: d.parentFoundBy.source } : undefined,
    warnings: [...d.warnings],
  };
}
