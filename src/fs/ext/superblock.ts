import { latin1z, u16, u32 } from "../bytes";
import { FsError } from "../errors";
import { readGuid, Guid } from "../guid";
import { crc32cRaw } from "./checksum";

/**
 * The ext2/3/4 superblock, 1024 bytes at byte 1024 of the volume. Offsets from the kernel's
 * fs/ext4/ext4.h (struct ext4_super_block) and e2fsprogs lib/ext2fs/ext2_fs.h.
 */
export const SUPERBLOCK_OFFSET = 1024;
export const SUPERBLOCK_SIZE = 1024;
export const EXT_MAGIC = 0xef53;
export const ROOT_INO = 2;

// s_feature_compat
export const COMPAT_HAS_JOURNAL = 0x0004;
export const COMPAT_DIR_INDEX = 0x0020;
// s_feature_incompat
export const INCOMPAT_COMPRESSION = 0x0001;
export const INCOMPAT_FILETYPE = 0x0002;
export const INCOMPAT_RECOVER = 0x0004;
export const INCOMPAT_JOURNAL_DEV = 0x0008;
export const INCOMPAT_META_BG = 0x0010;
export const INCOMPAT_EXTENTS = 0x0040;
export const INCOMPAT_64BIT = 0x0080;
export const INCOMPAT_FLEX_BG = 0x0200;
export const INCOMPAT_DIRDATA = 0x1000;
export const INCOMPAT_INLINE_DATA = 0x8000;
export const INCOMPAT_ENCRYPT = 0x10000;
// s_feature_ro_compat
export const RO_COMPAT_SPARSE_SUPER = 0x0001;
export const RO_COMPAT_HUGE_FILE = 0x0008;
export const RO_COMPAT_METADATA_CSUM = 0x0400;
export const INCOMPAT_CSUM_SEED = 0x2000;
/** s_checksum: CRC-32C of the superblock up to this offset (ext4.h struct ext4_super_block). */
export const SB_CHECKSUM_OFFSET = 0x3fc;
const SB_CHECKSUM_SEED_OFFSET = 0x270;

/** Incompatible features we cannot read through, with their ext4.h names. */
const UNSUPPORTED_INCOMPAT: Array<[number, string]> = [
  [INCOMPAT_COMPRESSION, "compression"],
  [INCOMPAT_JOURNAL_DEV, "journal_dev (an external journal device, not a filesystem)"],
  [INCOMPAT_DIRDATA, "dirdata"],
  [INCOMPAT_ENCRYPT, "encrypt"],
];

export type ExtKind = "ext2" | "ext3" | "ext4";

export interface Superblock {
  inodesCount: number;
  blocksCount: number;
  freeBlocksCount: number;
  freeInodesCount: number;
  firstDataBlock: number;
  blockSize: number;
  blocksPerGroup: number;
  inodesPerGroup: number;
  revLevel: number;
  /** s_state: 1 cleanly unmounted, 2 errors detected. */
  state: number;
  firstIno: number;
  inodeSize: number;
  featureCompat: number;
  featureIncompat: number;
  featureRoCompat: number;
  uuid: Guid;
  volumeName: string;
  descSize: number;
  firstMetaBg: number;
  groupCount: number;
  /** metadata_csum: the seed every inode/descriptor checksum starts from, or undefined without the feature. */
  csumSeed?: number;
  /** What mount(8) would call it: ext4 when extents/64bit/flex_bg are on, ext3 with a journal. */
  kind: ExtKind;
}

export function looksLikeExt(sb: Uint8Array): boolean {
  return u16(sb, 56) === EXT_MAGIC;
}

export function parseSuperblock(b: Uint8Array): Superblock {
  const bad = (field: string, off: number, why: string) =>
    new FsError("ECORRUPT", `ext superblock: ${why}`, { field: `ext.superblock.${field}`, offset: SUPERBLOCK_OFFSET + off });
  if (u16(b, 56) !== EXT_MAGIC) {
    throw new FsError("ENOFS", "no ext2/3/4 magic 0xEF53", { field: "ext.superblock.s_magic", offset: SUPERBLOCK_OFFSET + 56 });
  }
  const logBlock = u32(b, 24);
  if (logBlock > 6) throw bad("s_log_block_size", 24, `block size 2^(10+${logBlock})`); // 1 KiB .. 64 KiB
  const blockSize = 1024 << logBlock;
  const revLevel = u32(b, 76);
  const featureIncompat = revLevel >= 1 ? u32(b, 96) : 0;
  const is64 = (featureIncompat & INCOMPAT_64BIT) !== 0;
  const blocksCount = u32(b, 4) + (is64 ? u32(b, 336) * 0x100000000 : 0);
  const blocksPerGroup = u32(b, 32);
  const inodesPerGroup = u32(b, 40);
  const inodesCount = u32(b, 0);
  const firstDataBlock = u32(b, 20);
  if (blocksPerGroup === 0 || blocksPerGroup > blockSize * 8) throw bad("s_blocks_per_group", 32, `${blocksPerGroup} blocks per group`);
  if (inodesPerGroup === 0 || inodesPerGroup > blockSize * 8) throw bad("s_inodes_per_group", 40, `${inodesPerGroup} inodes per group`);
  if (blocksCount <= firstDataBlock) throw bad("s_blocks_count", 4, `${blocksCount} blocks`);
  const inodeSize = revLevel >= 1 ? u16(b, 88) : 128;
  if (inodeSize < 128 || inodeSize > blockSize || (inodeSize & (inodeSize - 1)) !== 0) throw bad("s_inode_size", 88, `inode size ${inodeSize}`);
  const descSize = is64 ? u16(b, 254) : 32;
  if (descSize < 32 || descSize > 1024 || (descSize & (descSize - 1)) !== 0) throw bad("s_desc_size", 254, `descriptor size ${descSize}`);
  const groupCount = Math.ceil((blocksCount - firstDataBlock) / blocksPerGroup);
  if (inodesCount > groupCount * inodesPerGroup || inodesCount < inodesPerGroup) throw bad("s_inodes_count", 0, `${inodesCount} inodes in ${groupCount} groups`);
  for (const [bit, name] of UNSUPPORTED_INCOMPAT) {
    if (featureIncompat & bit) {
      throw new FsError("EUNSUPPORTED", `ext feature ${name} is not supported`, { field: "ext.superblock.s_feature_incompat", offset: SUPERBLOCK_OFFSET + 96 });
    }
  }
  const featureCompat = revLevel >= 1 ? u32(b, 92) : 0;
  const featureRoCompat = revLevel >= 1 ? u32(b, 100) : 0;
  let csumSeed: number | undefined;
  if (featureRoCompat & RO_COMPAT_METADATA_CSUM) {
    const want = u32(b, SB_CHECKSUM_OFFSET);
    const got = crc32cRaw(0xffffffff, b, 0, SB_CHECKSUM_OFFSET);
    if (want !== got) throw bad("s_checksum", SB_CHECKSUM_OFFSET, `checksum 0x${want.toString(16)}, computed 0x${got.toString(16)}`);
    // fs/ext4/super.c: the seed is s_checksum_seed with csum_seed, else CRC-32C of the UUID.
    csumSeed = featureIncompat & INCOMPAT_CSUM_SEED ? u32(b, SB_CHECKSUM_SEED_OFFSET) : crc32cRaw(0xffffffff, b, 104, 120);
  }
  const ext4ish = featureIncompat & (INCOMPAT_EXTENTS | INCOMPAT_64BIT | INCOMPAT_FLEX_BG | INCOMPAT_INLINE_DATA) || featureRoCompat & (RO_COMPAT_HUGE_FILE | RO_COMPAT_METADATA_CSUM);
  return {
    inodesCount,
    blocksCount,
    freeBlocksCount: u32(b, 12) + (is64 ? u32(b, 344) * 0x100000000 : 0),
    freeInodesCount: u32(b, 16),
    firstDataBlock,
    blockSize,
    blocksPerGroup,
    inodesPerGroup,
    revLevel,
    state: u16(b, 58),
    firstIno: revLevel >= 1 ? u32(b, 84) : 11,
    inodeSize,
    featureCompat,
    featureIncompat,
    featureRoCompat,
    uuid: readGuid(b, 104),
    volumeName: latin1z(b, 120, 16),
    descSize,
    firstMetaBg: u32(b, 260),
    groupCount,
    csumSeed,
    kind: ext4ish ? "ext4" : featureCompat & COMPAT_HAS_JOURNAL ? "ext3" : "ext2",
  };
}
