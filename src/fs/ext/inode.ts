import { u16, u32 } from "../bytes";

/** struct ext4_inode field offsets (fs/ext4/ext4.h). */
export const I_BLOCK_OFFSET = 40;
export const I_BLOCK_BYTES = 60; // EXT4_N_BLOCKS (15) * 4

// i_mode file types (S_IFMT)
export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;

// i_flags (ext4.h EXT4_*_FL)
export const INODE_FLAGS: Array<[number, string]> = [
  [0x00000010, "IMMUTABLE"],
  [0x00000020, "APPEND"],
  [0x00000800, "ENCRYPT"],
  [0x00001000, "INDEX"], // hashed-tree directory
  [0x00040000, "HUGE_FILE"],
  [0x00080000, "EXTENTS"],
  [0x00200000, "EA_INODE"],
  [0x10000000, "INLINE_DATA"],
];
export const FL_INDEX = 0x1000;
export const FL_EXTENTS = 0x80000;
export const FL_INLINE_DATA = 0x10000000;
export const FL_ENCRYPT = 0x800;

/** An inode number; the root directory is 2. */
export type Ino = number & { readonly __brand: "Ino" };

export interface ExtInode {
  ino: Ino;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: Date;
  linksCount: number;
  /** i_blocks in 512-byte units (HUGE_FILE aside). */
  blocks512: number;
  flags: number;
  fileAcl: number;
  generation: number;
  /** The raw 60-byte i_block: extent root, block map or fast-symlink text. */
  iBlock: Uint8Array;
  /** The whole on-disk inode (for the in-inode extended attributes past i_extra_isize). */
  raw: Uint8Array;
}

/** In-inode extended attributes (fs/ext4/xattr.h): a magic, then entries, values after them. */
const XATTR_MAGIC = 0xea020000;
const GOOD_OLD_INODE_SIZE = 128;
/** e_name_index 7 = "system."; the inline-data attribute is "system.data" (fs/ext4/inline.c). */
const XATTR_INDEX_SYSTEM = 7;

/**
 * The value of the in-inode "system.data" attribute: the part of an inline-data file or
 * directory that did not fit in i_block. Empty when absent. Offsets are checked against the inode.
 */
export function inlineDataTail(inode: ExtInode): Uint8Array | undefined {
  const b = inode.raw;
  if (b.length <= GOOD_OLD_INODE_SIZE + 4) return new Uint8Array(0);
  const extra = u16(b, GOOD_OLD_INODE_SIZE);
  const hdr = GOOD_OLD_INODE_SIZE + extra;
  if (extra % 4 !== 0 || hdr + 4 > b.length || u32(b, hdr) !== XATTR_MAGIC) return new Uint8Array(0);
  const first = hdr + 4;
  for (let o = first; o + 16 <= b.length && u32(b, o) !== 0; ) {
    const nameLen = b[o]!;
    const index = b[o + 1]!;
    const valueOffs = u16(b, o + 2);
    const valueSize = u32(b, o + 8);
    const name = Buffer.from(b.subarray(o + 16, o + 16 + nameLen)).toString("latin1");
    if (index === XATTR_INDEX_SYSTEM && name === "data") {
      if (first + valueOffs + valueSize > b.length) return undefined; // corrupt: the caller says so
      return b.subarray(first + valueOffs, first + valueOffs + valueSize);
    }
    o += (16 + nameLen + 3) & ~3;
  }
  return new Uint8Array(0);
}

export function parseInode(ino: Ino, b: Uint8Array): ExtInode {
  return {
    ino,
    mode: u16(b, 0),
    uid: u16(b, 2) | (u16(b, 120) << 16),
    gid: u16(b, 24) | (u16(b, 122) << 16),
    size: u32(b, 4) + u32(b, 108) * 0x100000000,
    mtime: new Date(u32(b, 16) * 1000),
    linksCount: u16(b, 26),
    blocks512: u32(b, 28) + u16(b, 116) * 0x100000000,
    flags: u32(b, 32),
    fileAcl: u32(b, 104) + u16(b, 118) * 0x100000000,
    generation: u32(b, 100),
    // views, not copies: the block cache never mutates its blocks
    iBlock: b.subarray(I_BLOCK_OFFSET, I_BLOCK_OFFSET + I_BLOCK_BYTES),
    raw: b,
  };
}

export function flagNames(flags: number): string[] {
  return INODE_FLAGS.filter(([bit]) => flags & bit).map(([, name]) => name);
}
