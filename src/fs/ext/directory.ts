import { u16, u32, u8 } from "../bytes";
import { FsError } from "../errors";
import { crc32cRaw } from "./checksum";
import { Ino } from "./inode";

/** One name in a directory (struct ext4_dir_entry_2, fs/ext4/ext4.h). */
export interface ExtDirent {
  name: string;
  ino: Ino;
  /** ext dirent file_type (1 file, 2 dir, 7 symlink...) or 0 when the FILETYPE feature is off. */
  fileType: number;
}

export interface DirentOptions {
  blockSize: number;
  /** INCOMPAT_FILETYPE: name_len is one byte followed by file_type; otherwise a 16-bit name_len. */
  hasType: boolean;
  /** metadata_csum: the directory inode's checksum seed. */
  seed?: number;
}

/**
 * Parses the dirents of a directory. `regions` are byte ranges of `data` that each hold whole
 * dirents (the blocks, or an inline directory's two areas). Every rec_len is checked to stay in
 * its region, so a corrupt entry is an FsError, never a loop or a read past the data.
 */
export function parseDirents(
  data: Uint8Array,
  regions: Array<[number, number]>,
  opts: DirentOptions,
  path: string,
  out: Map<string, ExtDirent>,
): void {
  const bs = opts.blockSize;
  const { hasType, seed } = opts;
  if (seed !== undefined) {
    for (const [start, end] of regions) {
      // struct ext4_dir_entry_tail: a 12-byte fake dirent (inode 0, rec_len 12, type 0xDE)
      // ending each leaf block, holding CRC-32C of the block before it. htree index blocks
      // carry a dx_tail instead and are not checked here.
      const t = end - 12;
      if (end - start !== bs || u32(data, t) !== 0 || u16(data, t + 4) !== 12 || data[t + 7] !== 0xde) continue;
      if (crc32cRaw(seed, data, start, t) !== u32(data, t + 8)) {
        throw new FsError("ECORRUPT", `directory block ${start / bs} checksum does not match`, { path, field: "ext dirent tail det_checksum", offset: t + 8 });
      }
    }
  }
  // Linear walk of every block: htree interior blocks look like one empty dirent spanning the
  // block, and the dx_root hides behind ".."'s rec_len, so hashed directories read the same way.
  for (const [start, end] of regions) {
    let o = start;
    while (o + 8 <= end) {
      const ino = u32(data, o);
      let recLen = u16(data, o + 4);
      if (recLen === 0 || recLen === 65535) recLen = bs; // ext4_rec_len_from_disk for 64 KiB blocks
      const nameLen = hasType ? u8(data, o + 6) : u16(data, o + 6);
      if (recLen < 8 || recLen % 4 !== 0 || o + recLen > end || (ino !== 0 && 8 + nameLen > recLen)) {
        throw new FsError("ECORRUPT", `directory entry at byte ${o} has rec_len ${recLen}, name_len ${nameLen}`, { path, field: "ext dirent rec_len", offset: o });
      }
      if (ino !== 0 && nameLen > 0) {
        const name = Buffer.from(data.subarray(o + 8, o + 8 + nameLen)).toString("utf8");
        if (name !== "." && name !== "..") out.set(name, { name, ino: ino as Ino, fileType: hasType ? u8(data, o + 7) : 0 });
        else if (name === "..") out.set("..", { name, ino: ino as Ino, fileType: 2 });
      }
      o += recLen;
    }
  }
}
