import { u16, u32 } from "../bytes";
import { FsError } from "../errors";
import { crc32cRaw } from "./checksum";
import { ExtInode, I_BLOCK_BYTES } from "./inode";

/** A run of logical file blocks mapped to consecutive physical blocks. */
export interface BlockRun {
  logical: number;
  physical: number;
  length: number;
  /** An uninitialised (preallocated) extent: reads as zeros. */
  uninit: boolean;
}

/** What the mappers need from the filesystem: block reads and the volume's block count. */
export interface BlockSource {
  readonly blockSize: number;
  readonly blocksCount: number;
  readBlock(block: number, field: string): Uint8Array;
  /** metadata_csum: the per-inode checksum seed, or undefined when checksums are off. */
  inodeSeed(inode: ExtInode): number | undefined;
}

/** Extent tree constants (fs/ext4/ext4_extents.h). */
export const EXTENT_MAGIC = 0xf30a;
export const EXTENT_MAX_DEPTH = 5; // EXT4_MAX_EXTENT_DEPTH
const EXT_INIT_MAX_LEN = 32768; // ee_len above this marks an uninitialised extent

export interface ExtentMap {
  runs: BlockRun[];
  depth: number;
}

/**
 * Walks an extent tree from the root in i_block. Each node is checked (magic, entry counts within
 * the node, depth decreasing by one per level, no node visited twice, physical blocks inside the
 * volume), so a corrupt tree yields an FsError, never a loop.
 */
export function extentRuns(src: BlockSource, inode: ExtInode, path: string, maxLogical: number): ExtentMap {
  const runs: BlockRun[] = [];
  const seen = new Set<number>();
  const field = (what: string) => `ext inode ${inode.ino} extent ${what}`;
  const walk = (node: Uint8Array, expectDepth: number | undefined, where: string) => {
    if (u16(node, 0) !== EXTENT_MAGIC) throw new FsError("ECORRUPT", `bad extent header magic in ${where}`, { path, field: field("eh_magic") });
    const entries = u16(node, 2);
    const max = u16(node, 4);
    const depth = u16(node, 6);
    if (entries > max || 12 + max * 12 > node.length) throw new FsError("ECORRUPT", `extent node ${where} claims ${entries}/${max} entries`, { path, field: field("eh_entries") });
    if (depth > EXTENT_MAX_DEPTH || (expectDepth !== undefined && depth !== expectDepth)) {
      throw new FsError("ECORRUPT", `extent node ${where} has depth ${depth}${expectDepth !== undefined ? `, expected ${expectDepth}` : ""}`, { path, field: field("eh_depth") });
    }
    for (let i = 0; i < entries; i++) {
      const o = 12 + i * 12;
      const logical = u32(node, o);
      if (depth === 0) {
        let len = u16(node, o + 4);
        const uninit = len > EXT_INIT_MAX_LEN;
        if (uninit) len -= EXT_INIT_MAX_LEN;
        const physical = u16(node, o + 6) * 0x100000000 + u32(node, o + 8);
        if (len === 0) continue;
        if (physical + len > src.blocksCount || physical === 0) {
          throw new FsError("ECORRUPT", `extent ${logical}+${len} -> block ${physical} lies outside the volume`, { path, field: field("ee_start") });
        }
        if (logical < maxLogical) runs.push({ logical, physical, length: Math.min(len, maxLogical - logical), uninit });
      } else {
        const child = u32(node, o + 4) + u16(node, o + 8) * 0x100000000;
        if (logical >= maxLogical && i > 0) continue; // beyond the file's size: nothing to read there
        if (child === 0 || child >= src.blocksCount) throw new FsError("ECORRUPT", `extent index points at block ${child}`, { path, field: field("ei_leaf") });
        if (seen.has(child)) throw new FsError("ECORRUPT", `extent tree visits block ${child} twice`, { path, field: field("ei_leaf") });
        seen.add(child);
        const blk = src.readBlock(child, field("ei_leaf"));
        const seed = src.inodeSeed(inode);
        if (seed !== undefined) {
          // struct ext4_extent_tail follows eh_max entries: CRC-32C of the node up to it.
          const tail = 12 + 12 * u16(blk, 4);
          if (tail + 4 <= blk.length && u16(blk, 0) === EXTENT_MAGIC && crc32cRaw(seed, blk, 0, tail) !== u32(blk, tail)) {
            throw new FsError("ECORRUPT", `extent block ${child} checksum does not match`, { path, field: field("et_checksum"), offset: child * src.blockSize + tail });
          }
        }
        walk(blk, depth - 1, `block ${child}`);
      }
    }
  };
  const rootDepth = u16(inode.iBlock, 6);
  walk(inode.iBlock.subarray(0, I_BLOCK_BYTES), undefined, "i_block");
  runs.sort((a, b) => a.logical - b.logical);
  for (let i = 1; i < runs.length; i++) {
    const prev = runs[i - 1]!;
    if (runs[i]!.logical < prev.logical + prev.length) throw new FsError("ECORRUPT", `extents overlap at logical block ${runs[i]!.logical}`, { path, field: field("ee_block") });
  }
  return { runs, depth: rootDepth };
}

/**
 * The ext2/3 block map: 12 direct pointers, then single, double and triple indirect blocks
 * (ext2_fs.h EXT2_NDIR_BLOCKS, EXT2_IND_BLOCK...). Zero pointers are holes. Only the blocks
 * below the file's size are walked, which bounds the work by the size.
 */
export function blockMapRuns(src: BlockSource, inode: ExtInode, path: string, maxLogical: number): BlockRun[] {
  const per = src.blockSize / 4;
  const runs: BlockRun[] = [];
  const seen = new Set<number>();
  const add = (logical: number, physical: number) => {
    if (physical >= src.blocksCount) throw new FsError("ECORRUPT", `block ${logical} maps to ${physical}, outside the volume`, { path, field: `ext inode ${inode.ino} i_block` });
    const last = runs[runs.length - 1];
    if (last && last.logical + last.length === logical && last.physical + last.length === physical) last.length++;
    else runs.push({ logical, physical, length: 1, uninit: false });
  };
  // level 0: a data block; level n: a block of pointers covering per^n blocks each.
  const walk = (ptr: number, level: number, logical: number) => {
    if (ptr === 0 || logical >= maxLogical) return;
    if (level === 0) return add(logical, ptr);
    if (ptr >= src.blocksCount) throw new FsError("ECORRUPT", `indirect block ${ptr} outside the volume`, { path, field: `ext inode ${inode.ino} i_block` });
    if (seen.has(ptr)) throw new FsError("ECORRUPT", `indirect block ${ptr} used twice`, { path, field: `ext inode ${inode.ino} i_block` });
    seen.add(ptr);
    const blk = src.readBlock(ptr, `ext inode ${inode.ino} indirect block`);
    const span = per ** (level - 1);
    for (let i = 0; i < per; i++) walk(u32(blk, i * 4), level - 1, logical + i * span);
  };
  for (let i = 0; i < 12; i++) walk(u32(inode.iBlock, i * 4), 0, i);
  walk(u32(inode.iBlock, 48), 1, 12);
  walk(u32(inode.iBlock, 52), 2, 12 + per);
  walk(u32(inode.iBlock, 56), 3, 12 + per + per * per);
  return runs;
}
