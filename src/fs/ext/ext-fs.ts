import { BlockDevice } from "../../vhd/block-device";
import { u16, u32 } from "../bytes";
import { FsError } from "../errors";
import { DEFAULT_MAX_READ, FileStat, FileSystem, FileType, MAX_SYMLINK_HOPS } from "../filesystem";
import { readAt } from "../partition";
import { childPath, joinPath } from "../path";
import { crc32cRaw, le32 } from "./checksum";
import { ExtDirent, parseDirents } from "./directory";
import { BlockRun, blockMapRuns, BlockSource, extentRuns } from "./block-runs";
import {
  ExtInode,
  FL_ENCRYPT,
  FL_EXTENTS,
  FL_INLINE_DATA,
  flagNames,
  I_BLOCK_BYTES,
  Ino,
  inlineDataTail,
  parseInode,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
} from "./inode";
import {
  INCOMPAT_FILETYPE,
  INCOMPAT_META_BG,
  INCOMPAT_RECOVER,
  parseSuperblock,
  ROOT_INO,
  RO_COMPAT_SPARSE_SUPER,
  Superblock,
  SUPERBLOCK_OFFSET,
  SUPERBLOCK_SIZE,
} from "./superblock";

/** Blocks kept in the read cache (inode-table and directory blocks are read over and over). */
const BLOCK_CACHE_ENTRIES = 4096;
/** Parsed directories kept for lookups (path resolution re-reads the same directories). */
const DIR_CACHE_ENTRIES = 256;
/** Parsed inodes kept (a listing stats every child, then reading looks each one up again). */
const INODE_CACHE_ENTRIES = 16384;
const ZERO16 = new Uint8Array(2);
/** Largest directory we read (ext4 largedir tops out around 2 GiB; real ones are far smaller). */
const MAX_DIR_BYTES = 256 * 1024 * 1024;


/**
 * ext2/ext3/ext4, read-only. The journal is not replayed: a volume that needs recovery is
 * readable but `needsRecovery` says its newest changes may be missing.
 */
export class ExtFileSystem extends FileSystem implements BlockSource {
  readonly type: string;
  readonly label: string;
  readonly readOnly = true;
  readonly totalBytes: number;
  readonly sb: Superblock;
  readonly blockSize: number;
  readonly blocksCount: number;
  readonly needsRecovery: boolean;
  private readonly groupTables = new Map<number, number>();
  private readonly blockCache = new Map<number, Uint8Array>();
  private readonly dirCache = new Map<number, Map<string, ExtDirent>>();
  private readonly inodeCache = new Map<Ino, ExtInode>();

  private constructor(readonly device: BlockDevice, sb: Superblock) {
    super();
    this.sb = sb;
    this.type = sb.kind;
    this.label = sb.volumeName;
    this.blockSize = sb.blockSize;
    this.blocksCount = sb.blocksCount;
    this.totalBytes = sb.blocksCount * sb.blockSize;
    this.needsRecovery = (sb.featureIncompat & INCOMPAT_RECOVER) !== 0;
    if (this.totalBytes > device.size) {
      throw new FsError("ECORRUPT", `${sb.blocksCount} blocks of ${sb.blockSize} bytes do not fit the device (${device.size} bytes)`, {
        field: "ext.superblock.s_blocks_count",
        offset: SUPERBLOCK_OFFSET + 4,
      });
    }
    const root = this.inode(ROOT_INO as Ino);
    if ((root.mode & S_IFMT) !== S_IFDIR) throw new FsError("ECORRUPT", "inode 2 (the root) is not a directory", { field: "ext inode 2 i_mode", path: "/" });
  }

  static open(device: BlockDevice): ExtFileSystem {
    return new ExtFileSystem(device, parseSuperblock(readAt(device, SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE, "ext.superblock")));
  }

  override warnings(): string[] {
    const out: string[] = [];
    if (this.needsRecovery) out.push("the journal needs recovery and is not replayed: the newest changes may be missing");
    // s_state (offset 58): EXT2_VALID_FS 1, EXT2_ERROR_FS 2 (fs/ext4/ext4.h)
    if (this.sb.state & 2) out.push("the filesystem is marked as having errors (s_state)");
    return out;
  }

  freeBytes(): number {
    return this.sb.freeBlocksCount * this.blockSize;
  }

  readBlock(block: number, field: string): Uint8Array {
    const hit = this.blockCache.get(block);
    if (hit) return hit;
    if (!Number.isSafeInteger(block) || block < 0 || block >= this.blocksCount) {
      throw new FsError("ECORRUPT", `block ${block} is outside the volume (${this.blocksCount} blocks)`, { field });
    }
    const b = readAt(this.device, block * this.blockSize, this.blockSize, field);
    if (this.blockCache.size >= BLOCK_CACHE_ENTRIES) this.blockCache.delete(this.blockCache.keys().next().value as number);
    this.blockCache.set(block, b);
    return b;
  }

  // ---- group descriptors and inodes ----

  /** sparse_super: superblock backups live in groups 0, 1 and powers of 3, 5 and 7. */
  private groupHasSuper(g: number): boolean {
    if (!(this.sb.featureRoCompat & RO_COMPAT_SPARSE_SUPER)) return true;
    if (g <= 1) return true;
    for (const base of [3, 5, 7]) {
      let p = base;
      while (p < g) p *= base;
      if (p === g) return true;
    }
    return false;
  }

  /** The block holding group `g`'s descriptor (after the superblock, or per meta_bg group). */
  private descriptorLocation(g: number): { block: number; offset: number } {
    const perBlock = this.blockSize / this.sb.descSize;
    const blockIdx = Math.floor(g / perBlock);
    const offset = (g % perBlock) * this.sb.descSize;
    const gdtStart = this.sb.firstDataBlock + 1;
    if (!(this.sb.featureIncompat & INCOMPAT_META_BG) || blockIdx < this.sb.firstMetaBg) return { block: gdtStart + blockIdx, offset };
    // meta_bg: the descriptor block of a metagroup sits in the metagroup's first group.
    const firstGroup = blockIdx * perBlock;
    const groupStart = this.sb.firstDataBlock + firstGroup * this.sb.blocksPerGroup;
    return { block: groupStart + (this.groupHasSuper(firstGroup) ? 1 : 0), offset };
  }

  private inodeTable(g: number): number {
    const cached = this.groupTables.get(g);
    if (cached !== undefined) return cached;
    const { block, offset } = this.descriptorLocation(g);
    const field = `ext group ${g} descriptor bg_inode_table`;
    const d = this.readBlock(block, field).subarray(offset, offset + this.sb.descSize);
    if (this.sb.csumSeed !== undefined) {
      // ext4_group_desc_csum: CRC-32C over the group number and the descriptor with bg_checksum
      // (offset 0x1E) left out, low 16 bits kept.
      let c = crc32cRaw(this.sb.csumSeed, le32(g));
      c = crc32cRaw(c, d, 0, 0x1e);
      c = crc32cRaw(c, Uint8Array.of(0, 0));
      c = crc32cRaw(c, d, 0x20, this.sb.descSize);
      if ((c & 0xffff) !== u16(d, 0x1e)) {
        throw new FsError("ECORRUPT", `group ${g} descriptor checksum 0x${u16(d, 0x1e).toString(16)}, computed 0x${(c & 0xffff).toString(16)}`, {
          field: `ext group ${g} descriptor bg_checksum`,
          offset: block * this.blockSize + offset + 0x1e,
        });
      }
    }
    const table = u32(d, 8) + (this.sb.descSize >= 64 ? u32(d, 0x28) * 0x100000000 : 0);
    const tableBlocks = Math.ceil((this.sb.inodesPerGroup * this.sb.inodeSize) / this.blockSize);
    if (table === 0 || table + tableBlocks > this.blocksCount) {
      throw new FsError("ECORRUPT", `group ${g} inode table at block ${table} lies outside the volume`, { field, offset: block * this.blockSize + offset + 8 });
    }
    this.groupTables.set(g, table);
    return table;
  }

  inode(ino: Ino, path?: string): ExtInode {
    const hit = this.inodeCache.get(ino);
    if (hit) return hit;
    const inode = this.readInode(ino, path);
    if (this.inodeCache.size >= INODE_CACHE_ENTRIES) this.inodeCache.delete(this.inodeCache.keys().next().value as Ino);
    this.inodeCache.set(ino, inode);
    return inode;
  }

  private readInode(ino: Ino, path?: string): ExtInode {
    if (!Number.isSafeInteger(ino) || ino < 1 || ino > this.sb.inodesCount) {
      throw new FsError("ECORRUPT", `inode number ${ino} is outside 1..${this.sb.inodesCount}`, { path, field: "ext dirent inode" });
    }
    const g = Math.floor((ino - 1) / this.sb.inodesPerGroup);
    const index = (ino - 1) % this.sb.inodesPerGroup;
    const byte = index * this.sb.inodeSize;
    const block = this.inodeTable(g) + Math.floor(byte / this.blockSize);
    const within = byte % this.blockSize;
    const b = this.readBlock(block, `ext inode ${ino}`);
    const raw = b.subarray(within, within + this.sb.inodeSize);
    if (this.sb.csumSeed !== undefined) this.checkInode(ino, raw, path, block * this.blockSize + within);
    return parseInode(ino, raw);
  }

  /**
   * ext4_inode_csum: CRC-32C seeded with the fs seed, the inode number and i_generation, over the
   * inode with i_checksum_lo (0x7C) and, when the extra fields hold it, i_checksum_hi (0x82) zeroed.
   */
  private checkInode(ino: Ino, raw: Uint8Array, path: string | undefined, offset: number): void {
    const extra = raw.length > 128 ? u16(raw, 128) : 0;
    const hasHi = raw.length > 128 && extra >= 4;
    let c = crc32cRaw(this.sb.csumSeed!, le32(ino));
    c = crc32cRaw(c, raw, 100, 104); // i_generation
    c = crc32cRaw(c, raw, 0, 0x7c);
    c = crc32cRaw(c, ZERO16);
    if (hasHi) {
      c = crc32cRaw(c, raw, 0x7e, 0x82);
      c = crc32cRaw(c, ZERO16);
      c = crc32cRaw(c, raw, 0x84, raw.length);
    } else c = crc32cRaw(c, raw, 0x7e, raw.length);
    const stored = u16(raw, 0x7c) + (hasHi ? u16(raw, 0x82) * 0x10000 : 0);
    const want = hasHi ? c >>> 0 : c & 0xffff;
    if (stored !== want) {
      throw new FsError("ECORRUPT", `inode ${ino} checksum 0x${stored.toString(16)}, computed 0x${want.toString(16)}`, {
        path,
        field: `ext inode ${ino} i_checksum`,
        offset: offset + 0x7c,
      });
    }
  }

  /** ext4_inode_csum_seed: CRC-32C of the inode number and generation, from the fs seed. */
  inodeSeed(inode: ExtInode): number | undefined {
    if (this.sb.csumSeed === undefined) return undefined;
    return crc32cRaw(crc32cRaw(this.sb.csumSeed, le32(inode.ino)), le32(inode.generation));
  }

  // ---- file data ----

  /** The block runs of an inode (extents or block map) up to its size. */
  runs(inode: ExtInode, path: string): BlockRun[] {
    const maxLogical = Math.ceil(inode.size / this.blockSize);
    if (inode.flags & FL_EXTENTS) return extentRuns(this, inode, path, maxLogical).runs;
    return blockMapRuns(this, inode, path, maxLogical);
  }

  /** Depth of an inode's extent tree (0 = extents in the inode), or undefined for a block-mapped inode. */
  extentDepth(path: string): number | undefined {
    const { inode } = this.lookup(path, false);
    if (!(inode.flags & FL_EXTENTS)) return undefined;
    return extentRuns(this, inode, path, Math.ceil(inode.size / this.blockSize)).depth;
  }

  private readData(inode: ExtInode, path: string, maxBytes: number): Uint8Array {
    if (inode.size > maxBytes) throw new FsError("EFBIG", `file of ${inode.size} bytes is over the ${maxBytes}-byte read limit`, { path });
    if (inode.flags & FL_ENCRYPT) throw new FsError("EUNSUPPORTED", "encrypted inode", { path, field: `ext inode ${inode.ino} i_flags` });
    if (inode.flags & FL_INLINE_DATA) {
      const out = new Uint8Array(inode.size);
      // The first 60 bytes live in i_block, the rest in the in-inode "system.data" attribute.
      const tail = this.inlineTail(inode, path);
      if (inode.size > I_BLOCK_BYTES + tail.length) {
        throw new FsError("ECORRUPT", `inline file of ${inode.size} bytes holds only ${I_BLOCK_BYTES + tail.length}`, { path, field: `ext inode ${inode.ino} i_size` });
      }
      out.set(inode.iBlock.subarray(0, Math.min(inode.size, I_BLOCK_BYTES)));
      if (inode.size > I_BLOCK_BYTES) out.set(tail.subarray(0, inode.size - I_BLOCK_BYTES), I_BLOCK_BYTES);
      return out;
    }
    // Not zero-filled up front: every byte is either read or zeroed below (holes, uninitialised
    // extents, the tail), which saves clearing each file twice.
    const data = Buffer.allocUnsafe(inode.size);
    const bs = this.blockSize;
    let done = 0;
    for (const r of this.runs(inode, path)) {
      if (r.uninit) continue; // preallocated, reads as zeros
      const start = r.logical * bs;
      const len = Math.min(r.length * bs, inode.size - start);
      if (len <= 0) continue;
      const at = r.physical * bs;
      if (at + len > this.device.size) throw new FsError("ECORRUPT", `data block ${r.physical} outside the device`, { path, field: `ext inode ${inode.ino} i_block` });
      if (start > done) data.fill(0, done, start);
      this.device.read(at, data.subarray(start, start + len));
      done = start + len;
    }
    if (done < inode.size) data.fill(0, done);
    return data;
  }

  private inlineTail(inode: ExtInode, path: string): Uint8Array {
    const tail = inlineDataTail(inode);
    if (!tail) throw new FsError("ECORRUPT", "system.data attribute runs past the inode", { path, field: `ext inode ${inode.ino} xattr e_value_offs` });
    return tail;
  }

  private isFastSymlink(inode: ExtInode): boolean {
    // fs/ext4/inode.c ext4_inode_is_fast_symlink: no data blocks besides an xattr block.
    if (inode.flags & (FL_EXTENTS | FL_INLINE_DATA)) return false;
    const eaBlocks = inode.fileAcl ? this.blockSize / 512 : 0;
    return inode.blocks512 - eaBlocks === 0;
  }

  private symlinkTarget(inode: ExtInode, path: string): string {
    if (inode.size > this.blockSize) throw new FsError("ECORRUPT", `symlink of ${inode.size} bytes`, { path, field: `ext inode ${inode.ino} i_size` });
    let bytes: Uint8Array;
    if (this.isFastSymlink(inode)) {
      if (inode.size >= I_BLOCK_BYTES) throw new FsError("ECORRUPT", `fast symlink of ${inode.size} bytes`, { path, field: `ext inode ${inode.ino} i_size` });
      bytes = inode.iBlock.subarray(0, inode.size);
    } else bytes = this.readData(inode, path, this.blockSize);
    return Buffer.from(bytes).toString("utf8");
  }

  // ---- directories ----

  private dirEntries(inode: ExtInode, path: string): Map<string, ExtDirent> {
    const cached = this.dirCache.get(inode.ino);
    if (cached) return cached;
    const hasType = (this.sb.featureIncompat & INCOMPAT_FILETYPE) !== 0;
    const out = new Map<string, ExtDirent>();
    // Regions that each hold whole dirents: every block of a normal directory; for an inline
    // directory (fs/ext4/inline.c) i_block after the 4-byte parent inode, then system.data.
    let data: Uint8Array;
    let regions: Array<[number, number]>;
    if (inode.flags & FL_INLINE_DATA) {
      const tail = this.inlineTail(inode, path);
      data = new Uint8Array(I_BLOCK_BYTES + tail.length);
      data.set(inode.iBlock);
      data.set(tail, I_BLOCK_BYTES);
      out.set("..", { name: "..", ino: u32(inode.iBlock, 0) as Ino, fileType: 2 });
      regions = [[4, I_BLOCK_BYTES]];
      if (tail.length) regions.push([I_BLOCK_BYTES, data.length]);
    } else {
      data = this.readData(inode, path, MAX_DIR_BYTES);
      regions = [];
      for (let o = 0; o < data.length; o += this.blockSize) regions.push([o, Math.min(data.length, o + this.blockSize)]);
    }
    const seed = inode.flags & FL_INLINE_DATA ? undefined : this.inodeSeed(inode);
    parseDirents(data, regions, { blockSize: this.blockSize, hasType, seed }, path, out);
    if (this.dirCache.size >= DIR_CACHE_ENTRIES) this.dirCache.delete(this.dirCache.keys().next().value as number);
    this.dirCache.set(inode.ino, out);
    return out;
  }

  /**
   * Resolves a path, following symlinks in the middle (and at the end if `followLast`), with
   * ".." taken from the directory itself as the kernel does. ELOOP after 40 hops.
   */
  lookup(path: string, followLast: boolean): { inode: ExtInode; path: string; name: string } {
    if (typeof path !== "string") throw new FsError("EINVAL", "path must be a string");
    const todo = path.split("/").filter((p) => p !== "" && p !== ".");
    let dirs: Ino[] = [ROOT_INO as Ino];
    let names: string[] = [];
    let inode = this.inode(ROOT_INO as Ino, "/");
    let hops = 0;
    while (todo.length) {
      const name = todo.shift()!;
      const here = joinPath(names);
      if ((inode.mode & S_IFMT) !== S_IFDIR) throw new FsError("ENOTDIR", "not a directory", { path: here });
      if (name === "..") {
        if (dirs.length > 1) {
          dirs.pop();
          names.pop();
        }
        inode = this.inode(dirs[dirs.length - 1]!, joinPath(names));
        continue;
      }
      const entry = this.dirEntries(inode, here).get(name);
      const full = childPath(here, name);
      if (!entry) throw new FsError("ENOENT", "no such file or directory", { path: full });
      const child = this.inode(entry.ino, full);
      if ((child.mode & S_IFMT) === S_IFLNK && (todo.length > 0 || followLast)) {
        if (++hops > MAX_SYMLINK_HOPS) throw new FsError("ELOOP", "too many levels of symbolic links", { path: full });
        const target = this.symlinkTarget(child, full);
        todo.unshift(...target.split("/").filter((p) => p !== "" && p !== "."));
        if (target.startsWith("/")) {
          dirs = [ROOT_INO as Ino];
          names = [];
          inode = this.inode(ROOT_INO as Ino, "/");
        }
        continue;
      }
      inode = child;
      names.push(name);
      dirs.push(entry.ino);
    }
    return { inode, path: joinPath(names), name: names[names.length - 1] ?? "/" };
  }

  private toStat(inode: ExtInode, path: string, name: string): FileStat {
    const fmt = inode.mode & S_IFMT;
    const type: FileType = fmt === S_IFDIR ? "dir" : fmt === S_IFREG ? "file" : fmt === S_IFLNK ? "symlink" : "other";
    const st: FileStat = {
      path,
      name,
      type,
      size: inode.size,
      mode: inode.mode,
      mtime: inode.mtime,
      inode: inode.ino,
      nlink: inode.linksCount,
      uid: inode.uid,
      gid: inode.gid,
      flags: flagNames(inode.flags),
    };
    if (type === "symlink") st.target = this.symlinkTarget(inode, path);
    return st;
  }

  stat(path: string): FileStat {
    const r = this.lookup(path, false);
    return this.toStat(r.inode, r.path, r.name);
  }

  readdir(path: string): FileStat[] {
    const r = this.lookup(path, true);
    if ((r.inode.mode & S_IFMT) !== S_IFDIR) throw new FsError("ENOTDIR", "not a directory", { path: r.path });
    const out: FileStat[] = [];
    for (const e of this.dirEntries(r.inode, r.path).values()) {
      if (e.name === "..") continue;
      const p = childPath(r.path, e.name);
      out.push(this.toStat(this.inode(e.ino, p), p, e.name));
    }
    return out;
  }

  readFile(path: string, maxBytes = DEFAULT_MAX_READ): Uint8Array {
    const r = this.lookup(path, true);
    const fmt = r.inode.mode & S_IFMT;
    if (fmt === S_IFDIR) throw new FsError("EISDIR", "is a directory", { path: r.path });
    if (fmt !== S_IFREG) throw new FsError("EINVAL", "not a regular file", { path: r.path });
    return this.readData(r.inode, r.path, maxBytes);
  }

  override readlink(path: string): string {
    const r = this.lookup(path, false);
    if ((r.inode.mode & S_IFMT) !== S_IFLNK) throw new FsError("EINVAL", "not a symbolic link", { path: r.path });
    return this.symlinkTarget(r.inode, r.path);
  }
}
