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
  /** The raw 60-byte i_block: extent root, block map or fast-symlink text. */
  iBlock: Uint8Array;
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
    iBlock: b.slice(I_BLOCK_OFFSET, I_BLOCK_OFFSET + I_BLOCK_BYTES),
  };
}

export function flagNames(flags: number): string[] {
  return INODE_FLAGS.filter(([bit]) => flags & bit).map(([, name]) => name);
}
