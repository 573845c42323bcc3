import { latin1z, u16, u32, u8 } from "../bytes";
import { FsError } from "../errors";

/**
 * The BIOS Parameter Block, field offsets from Microsoft's "FAT: General Overview of On-Disk
 * Format" (fatgen103, 2000), section 3. FAT12 vs FAT16 is decided by the count of data clusters
 * as that document demands (never by the BS_FilSysType string); FAT32 by its BPB layout.
 */
export type FatType = "fat12" | "fat16" | "fat32";

export const FAT12_MAX_CLUSTERS = 4084; // fatgen103: < 4085 clusters is FAT12
export const FAT16_MAX_CLUSTERS = 65524; // < 65525 is FAT16, otherwise FAT32

export interface BootSector {
  type: FatType;
  bytesPerSector: number;
  sectorsPerCluster: number;
  reservedSectors: number;
  numFats: number;
  rootEntryCount: number;
  totalSectors: number;
  media: number;
  fatSectors: number;
  /** FAT32 BPB_ExtFlags: bit 7 set = mirroring off, only FAT (bits 0-3) is active. */
  extFlags: number;
  rootCluster: number;
  fsInfoSector: number;
  volumeId: number;
  volumeLabel: string;
  // derived
  clusterBytes: number;
  rootDirSectors: number;
  firstDataSector: number;
  clusterCount: number;
}

/** Cheap test used by auto-detection: a jump instruction and a sane BPB. */
export function looksLikeFat(b: Uint8Array): boolean {
  try {
    parseBootSector(b);
    return true;
  } catch {
    return false;
  }
}

export function parseBootSector(b: Uint8Array): BootSector {
  const bad = (field: string, offset: number, why: string) =>
    new FsError("ENOFS", `not a FAT boot sector: ${why}`, { field: `fat.${field}`, offset });
  const jmp = u8(b, 0);
  if (jmp !== 0xeb && jmp !== 0xe9) throw bad("BS_jmpBoot", 0, `jump byte 0x${jmp.toString(16)}`);
  if (b[510] !== 0x55 || b[511] !== 0xaa) throw bad("signature", 510, "no 55 AA signature");
  const bytesPerSector = u16(b, 11);
  if (![512, 1024, 2048, 4096].includes(bytesPerSector)) throw bad("BPB_BytsPerSec", 11, `${bytesPerSector} bytes per sector`);
  const sectorsPerCluster = u8(b, 13);
  if (sectorsPerCluster === 0 || (sectorsPerCluster & (sectorsPerCluster - 1)) !== 0) {
    throw bad("BPB_SecPerClus", 13, `${sectorsPerCluster} sectors per cluster`);
  }
  const reservedSectors = u16(b, 14);
  if (reservedSectors === 0) throw bad("BPB_RsvdSecCnt", 14, "no reserved sectors");
  const numFats = u8(b, 16);
  if (numFats === 0 || numFats > 4) throw bad("BPB_NumFATs", 16, `${numFats} FATs`);
  const rootEntryCount = u16(b, 17);
  const totalSectors = u16(b, 19) || u32(b, 32);
  if (totalSectors === 0) throw bad("BPB_TotSec", 19, "zero sectors");
  const fat16Size = u16(b, 22);
  const fatSectors = fat16Size || u32(b, 36);
  if (fatSectors === 0) throw bad("BPB_FATSz", 22, "zero-sized FAT");
  const rootDirSectors = Math.ceil((rootEntryCount * 32) / bytesPerSector);
  const firstDataSector = reservedSectors + numFats * fatSectors + rootDirSectors;
  if (firstDataSector >= totalSectors) throw bad("BPB_TotSec", 19, "metadata larger than the volume");
  const clusterCount = Math.floor((totalSectors - firstDataSector) / sectorsPerCluster);
  // A zero BPB_FATSz16 means FAT32 whatever the cluster count, as Linux (fs/fat/inode.c) and
  // fsck.fat decide it: mkfs.fat makes such small FAT32 volumes. Otherwise the count decides.
  const isFat32 = fat16Size === 0;
  const type: FatType = isFat32 ? "fat32" : clusterCount <= FAT12_MAX_CLUSTERS ? "fat12" : "fat16";
  if (!isFat32 && clusterCount > FAT16_MAX_CLUSTERS) throw bad("BPB_FATSz16", 22, `${clusterCount} clusters is too many for FAT12/16`);
  if (isFat32 && rootEntryCount !== 0) throw bad("BPB_RootEntCnt", 17, "FAT32 volume with a fixed root directory");
  if (!isFat32 && rootEntryCount === 0) throw bad("BPB_RootEntCnt", 17, "FAT12/16 without a root directory");
  // The FAT must hold an entry for every cluster (fatgen103 section 3.5).
  const bitsPerEntry = type === "fat12" ? 12 : type === "fat16" ? 16 : 32;
  if (fatSectors * bytesPerSector * 8 < (clusterCount + 2) * bitsPerEntry) throw bad("BPB_FATSz", 22, "FAT too small for the clusters");
  const ext = isFat32 ? 64 : 36; // BS_DrvNum offset: the extended boot record follows the BPB
  const hasExtBoot = u8(b, ext + 2) === 0x29;
  return {
    type,
    bytesPerSector,
    sectorsPerCluster,
    reservedSectors,
    numFats,
    rootEntryCount,
    totalSectors,
    media: u8(b, 21),
    fatSectors,
    extFlags: isFat32 ? u16(b, 40) : 0,
    rootCluster: isFat32 ? u32(b, 44) : 0,
    fsInfoSector: isFat32 ? u16(b, 48) : 0,
    volumeId: hasExtBoot ? u32(b, ext + 3) : 0,
    volumeLabel: hasExtBoot ? latin1z(b, ext + 7, 11).trimEnd() : "",
    clusterBytes: bytesPerSector * sectorsPerCluster,
    rootDirSectors,
    firstDataSector,
    clusterCount,
  };
}
