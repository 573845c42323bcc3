import { BlockDevice } from "../../vhd/block-device";
import { put16, put32, u32 } from "../bytes";
import { FsError } from "../errors";
import { DEFAULT_MAX_READ, FileStat, FileSystem, FsOptions } from "../filesystem";
import { readAt } from "../partition";
import { childPath, joinPath, splitPath } from "../path";
import { BootSector, parseBootSector } from "./boot-sector";
import {
  ATTR_ARCHIVE,
  ATTR_DIRECTORY,
  ATTR_HIDDEN,
  ATTR_READ_ONLY,
  ATTR_SYSTEM,
  DELETED,
  DIR_ENTRY_SIZE,
  dotName,
  encodeEntries,
  FatDirEntry,
  parseDirectory,
  planShortName,
  validateLongName,
  writeShortEntry,
} from "./dir-entry";
import { Cluster, FatTable } from "./fat-table";

/** FSInfo signatures and fields (fatgen103 section 5). */
const FSI_LEAD_SIG = 0x41615252;
const FSI_STRUC_SIG = 0x61417272;
const FSI_TRAIL_SIG = 0xaa550000;
const FSI_FREE_COUNT = 488;
const FSI_NXT_FREE = 492;
/** fatgen103: a directory holds at most 65536 entries (2 MiB). */
const MAX_DIR_BYTES = 65536 * DIR_ENTRY_SIZE;

/** Where a directory's slots live: the fixed FAT12/16 root region, or a cluster chain. */
interface DirLoc {
  path: string;
  /** 0 = the FAT12/16 fixed root; otherwise the first cluster. */
  cluster: number;
  isRoot: boolean;
}

interface DirData {
  bytes: Uint8Array;
  clusters: Cluster[];
  entries: FatDirEntry[];
}

export class FatFileSystem extends FileSystem {
  readonly type: string;
  readonly label: string;
  readonly readOnly: boolean;
  readonly totalBytes: number;
  readonly bs: BootSector;
  private readonly fat: FatTable;
  /** The FSInfo sector (FAT32), rewritten with the free count and next-free hint on each commit. */
  private readonly fsInfo: Uint8Array | undefined;

  private constructor(
    readonly device: BlockDevice,
    bs: BootSector,
    private readonly now: () => Date,
  ) {
    super();
    this.bs = bs;
    this.type = bs.type;
    this.label = bs.volumeLabel === "NO NAME" ? "" : bs.volumeLabel;
    this.readOnly = device.readOnly;
    this.totalBytes = bs.clusterCount * bs.clusterBytes;
    if (bs.totalSectors * bs.bytesPerSector > device.size) {
      throw new FsError("ECORRUPT", `FAT volume of ${bs.totalSectors} sectors is larger than its device (${device.size} bytes)`, {
        field: "fat.BPB_TotSec",
        offset: 19,
      });
    }
    this.fat = new FatTable(device, bs);
    if (bs.type === "fat32" && bs.fsInfoSector > 0 && bs.fsInfoSector < bs.reservedSectors) {
      const fsi = readAt(device, bs.fsInfoSector * bs.bytesPerSector, 512, "fat.FSInfo");
      // Only a well-signed FSInfo is kept up to date; a missing one is left alone, as Linux does.
      if (u32(fsi, 0) === FSI_LEAD_SIG && u32(fsi, 484) === FSI_STRUC_SIG && u32(fsi, 508) === FSI_TRAIL_SIG) this.fsInfo = fsi;
    }
    if (bs.type === "fat32") {
      if (bs.rootCluster < 2 || bs.rootCluster > this.fat.maxCluster) {
        throw new FsError("ECORRUPT", `root directory cluster ${bs.rootCluster} is outside 2..${this.fat.maxCluster}`, { field: "fat.BPB_RootClus", offset: 44 });
      }
      this.fat.chain(bs.rootCluster, "/");
    }
  }

  /**
   * `now` stamps new and rewritten entries (default: the wall clock, as mtools does); a notebook
   * that wants the same output every run passes a fixed or virtual clock.
   */
  static open(device: BlockDevice, options: FsOptions = {}): FatFileSystem {
    const sector = readAt(device, 0, 512, "fat.boot_sector");
    return new FatFileSystem(device, parseBootSector(sector), options.now ?? (() => new Date()));
  }

  override warnings(): string[] {
    const out: string[] = [];
    const differ = this.fat.differingCopies();
    if (differ.length) out.push(`FAT copies ${differ.join(", ")} differ from FAT 0 (we read FAT 0 and write all)`);
    if (this.fat.uncleanShutdown) out.push("volume was not cleanly unmounted (clean-shutdown bit clear)");
    return out;
  }

  freeBytes(): number {
    return this.fat.free * this.bs.clusterBytes;
  }

  // ---- reading ----

  private clusterOffset(c: number): number {
    return (this.bs.firstDataSector + (c - 2) * this.bs.sectorsPerCluster) * this.bs.bytesPerSector;
  }

  private readonly rootLoc: DirLoc = { path: "/", cluster: 0, isRoot: true };

  private rootCluster(): number {
    return this.bs.type === "fat32" ? this.bs.rootCluster : 0;
  }

  /** Reads a chain of clusters, coalescing contiguous runs into one device read. */
  private readClusters(clusters: readonly Cluster[], length: number): Uint8Array {
    const cb = this.bs.clusterBytes;
    const out = new Uint8Array(length);
    let i = 0;
    while (i < clusters.length && i * cb < length) {
      let j = i + 1;
      while (j < clusters.length && clusters[j] === clusters[j - 1]! + 1 && j * cb < length) j++;
      const bytes = Math.min(length - i * cb, (j - i) * cb);
      this.device.read(this.clusterOffset(clusters[i]!), out.subarray(i * cb, i * cb + bytes));
      i = j;
    }
    return out;
  }

  /** Parsed directories by first cluster (0 = fixed root); dropped whenever anything is written. */
  private readonly dirCache = new Map<number, DirData>();

  private readDir(loc: DirLoc): DirData {
    const key = loc.isRoot ? 0 : loc.cluster;
    const hit = this.dirCache.get(key);
    if (hit) return hit;
    const dir = this.readDirUncached(loc);
    if (this.dirCache.size >= 256) this.dirCache.delete(this.dirCache.keys().next().value as number);
    this.dirCache.set(key, dir);
    return dir;
  }

  private readDirUncached(loc: DirLoc): DirData {
    if (loc.isRoot && this.bs.type !== "fat32") {
      const off = (this.bs.reservedSectors + this.bs.numFats * this.bs.fatSectors) * this.bs.bytesPerSector;
      const bytes = readAt(this.device, off, this.bs.rootEntryCount * DIR_ENTRY_SIZE, "fat.root_directory");
      return { bytes, clusters: [], entries: parseDirectory(bytes, false) };
    }
    const first = loc.isRoot ? this.rootCluster() : loc.cluster;
    const clusters = this.fat.chain(first, loc.path);
    if (clusters.length * this.bs.clusterBytes > MAX_DIR_BYTES + this.bs.clusterBytes) {
      throw new FsError("ECORRUPT", `directory chain of ${clusters.length} clusters exceeds 65536 entries`, { path: loc.path, field: "fat.entry" });
    }
    const bytes = this.readClusters(clusters, clusters.length * this.bs.clusterBytes);
    return { bytes, clusters, entries: parseDirectory(bytes, this.bs.type === "fat32") };
  }

  /** Device offset of slot `i` of a directory. */
  private slotOffset(loc: DirLoc, dir: DirData, i: number): number {
    const at = i * DIR_ENTRY_SIZE;
    if (loc.isRoot && this.bs.type !== "fat32") {
      return (this.bs.reservedSectors + this.bs.numFats * this.bs.fatSectors) * this.bs.bytesPerSector + at;
    }
    const cb = this.bs.clusterBytes;
    const c = dir.clusters[Math.floor(at / cb)];
    if (c === undefined) throw new FsError("ECORRUPT", `directory slot ${i} is past the directory's clusters`, { path: loc.path, field: "fat.entry" });
    return this.clusterOffset(c) + (at % cb);
  }

  private toStat(e: FatDirEntry, path: string): FileStat {
    const isDir = (e.attr & ATTR_DIRECTORY) !== 0;
    const ro = (e.attr & ATTR_READ_ONLY) !== 0;
    const flags: string[] = [];
    if (ro) flags.push("READONLY");
    if (e.attr & ATTR_HIDDEN) flags.push("HIDDEN");
    if (e.attr & ATTR_SYSTEM) flags.push("SYSTEM");
    if (e.attr & ATTR_ARCHIVE) flags.push("ARCHIVE");
    return {
      path,
      name: e.name,
      type: isDir ? "dir" : "file",
      size: isDir ? 0 : e.size,
      mode: isDir ? (ro ? 0o40555 : 0o40755) : ro ? 0o100444 : 0o100644,
      mtime: e.mtime,
      inode: e.firstCluster,
      shortName: e.shortName,
      flags,
    };
  }

  private rootStat(): FileStat {
    return { path: "/", name: "/", type: "dir", size: 0, mode: 0o40755, mtime: new Date(Date.UTC(1980, 0, 1)), inode: this.rootCluster(), flags: [] };
  }

  private findIn(entries: FatDirEntry[], name: string): FatDirEntry | undefined {
    // FAT names are case-insensitive (and case-preserving); the 8.3 alias names the file too.
    const up = name.toUpperCase();
    return entries.find((e) => e.name.toUpperCase() === up) ?? entries.find((e) => e.shortName.toUpperCase() === up);
  }

  private dirLocOf(e: FatDirEntry, path: string): DirLoc {
    // A ".." pointing at cluster 0 means the root; a subdirectory entry with cluster 0 is corrupt.
    if (e.firstCluster === 0) throw new FsError("ECORRUPT", "directory entry with no cluster", { path, field: "fat.DIR_FstClus" });
    return { path, cluster: e.firstCluster, isRoot: false };
  }

  /** Resolves a path to its entry (undefined for the root) and the directory that holds it. */
  private resolve(path: string): { entry?: FatDirEntry; parent: DirLoc; parentDir?: DirData; path: string } {
    const parts = splitPath(path);
    let loc = this.rootLoc;
    let entry: FatDirEntry | undefined;
    let dir: DirData | undefined;
    let parent = this.rootLoc;
    for (let i = 0; i < parts.length; i++) {
      const here = joinPath(parts.slice(0, i + 1));
      if (entry && !(entry.attr & ATTR_DIRECTORY)) throw new FsError("ENOTDIR", "not a directory", { path: joinPath(parts.slice(0, i)) });
      parent = loc;
      dir = this.readDir(loc);
      entry = this.findIn(dir.entries, parts[i]!);
      if (!entry) throw new FsError("ENOENT", "no such file or directory", { path: here });
      if (entry.attr & ATTR_DIRECTORY) loc = this.dirLocOf(entry, here);
    }
    return { entry, parent, parentDir: dir, path: joinPath(parts) };
  }

  private resolveDir(path: string): DirLoc {
    const r = this.resolve(path);
    if (!r.entry) return this.rootLoc;
    if (!(r.entry.attr & ATTR_DIRECTORY)) throw new FsError("ENOTDIR", "not a directory", { path: r.path });
    return this.dirLocOf(r.entry, r.path);
  }

  stat(path: string): FileStat {
    const r = this.resolve(path);
    return r.entry ? this.toStat(r.entry, r.path) : this.rootStat();
  }

  readdir(path: string): FileStat[] {
    const loc = this.resolveDir(path);
    const base = joinPath(splitPath(path));
    return this.readDir(loc).entries.map((e) => this.toStat(e, childPath(base, e.name)));
  }

  readFile(path: string, maxBytes = DEFAULT_MAX_READ): Uint8Array {
    const r = this.resolve(path);
    if (!r.entry || r.entry.attr & ATTR_DIRECTORY) throw new FsError("EISDIR", "is a directory", { path: r.path });
    const e = r.entry;
    if (e.size > maxBytes) throw new FsError("EFBIG", `file of ${e.size} bytes is over the ${maxBytes}-byte read limit`, { path: r.path });
    if (e.size === 0) return new Uint8Array(0);
    const clusters = this.fat.chain(e.firstCluster, r.path);
    if (clusters.length * this.bs.clusterBytes < e.size) {
      throw new FsError("ECORRUPT", `file of ${e.size} bytes has only ${clusters.length} clusters`, { path: r.path, field: "fat.DIR_FileSize" });
    }
    return this.readClusters(clusters, e.size);
  }

  // ---- writing ----

  private checkWritable(path: string): void {
    if (this.readOnly) throw this.readOnlyError(path);
  }

  /** Writes file data cluster by cluster, one device write per contiguous run; the last cluster's slack is zeroed. */
  private writeClusters(clusters: readonly Cluster[], data: Uint8Array): void {
    const cb = this.bs.clusterBytes;
    let i = 0;
    while (i < clusters.length) {
      let j = i + 1;
      while (j < clusters.length && clusters[j] === clusters[j - 1]! + 1) j++;
      const from = i * cb;
      const to = j * cb;
      let chunk = data.subarray(from, Math.min(data.length, to));
      if (chunk.length < to - from) {
        const padded = new Uint8Array(to - from);
        padded.set(chunk);
        chunk = padded;
      }
      this.device.write(this.clusterOffset(clusters[i]!), chunk);
      i = j;
    }
  }

  /**
   * copyIn commits each file's FAT changes as it goes but flushes the device once at the end:
   * a whole tree is one durable step, not one fsync per file.
   */
  override copyIn(hostPath: string, path: string): number {
    if (this.batching) return super.copyIn(hostPath, path);
    this.batching = true;
    try {
      return super.copyIn(hostPath, path);
    } finally {
      this.batching = false;
      this.device.flush();
    }
  }

  private batching = false;

  override writeFile(path: string, data: Uint8Array, mtime: Date = this.now()): void {
    this.checkWritable(path);
    this.transaction(() => this.doWriteFile(path, data, mtime));
  }

  override mkdir(path: string, mtime: Date = this.now()): void {
    this.checkWritable(path);
    this.transaction(() => this.doMkdir(path, mtime));
  }

  override remove(path: string): void {
    this.checkWritable(path);
    this.transaction(() => this.doRemove(path));
  }

  /** Renames or moves a file or directory (the target must not exist, except for a change of case). */
  override rename(from: string, to: string): void {
    this.checkWritable(from);
    this.transaction(() => this.doRename(from, to));
  }

  /**
   * Runs one change: on success the FATs and FSInfo are written; on failure the in-memory FAT is
   * rolled back. Directory slots are written last, so a failure leaves no entry pointing at
   * clusters that were never committed.
   */
  private transaction(change: () => void): void {
    this.fat.begin();
    this.dirCache.clear();
    try {
      change();
    } catch (e) {
      this.fat.rollback();
      throw e;
    } finally {
      this.dirCache.clear(); // the change may have written (or half-written) directory slots
    }
    this.commit();
  }

  private doWriteFile(path: string, data: Uint8Array, mtime: Date): void {
    const parts = splitPath(path);
    if (parts.length === 0) throw new FsError("EISDIR", "is a directory", { path: "/" });
    if (data.length > 0xffffffff) throw new FsError("EFBIG", "FAT files are limited to 4 GiB - 1", { path });
    const name = parts[parts.length - 1]!;
    const parent = this.resolveDir(joinPath(parts.slice(0, -1)));
    const dir = this.readDir(parent);
    const existing = this.findIn(dir.entries, name);
    if (existing && existing.attr & ATTR_DIRECTORY) throw new FsError("EISDIR", "is a directory", { path: joinPath(parts) });
    if (!existing) validateLongName(name, joinPath(parts));
    const oldChain = existing ? this.fat.chain(existing.firstCluster, joinPath(parts)) : [];
    const clusters = this.fat.allocate(Math.ceil(data.length / this.bs.clusterBytes));
    this.writeClusters(clusters, data);
    const first = clusters[0] ?? 0;
    if (existing) {
      this.fat.freeChain(oldChain);
      const slot = new Uint8Array(DIR_ENTRY_SIZE);
      writeShortEntry(slot, 0, {
        raw: existing.rawShort,
        ntRes: existing.ntRes,
        attr: existing.attr | ATTR_ARCHIVE,
        firstCluster: first,
        size: data.length,
        mtime,
      });
      this.device.write(this.slotOffset(parent, dir, existing.slot), slot);
    } else {
      this.addEntry(parent, dir, name, ATTR_ARCHIVE, first, data.length, mtime);
    }
  }

  private doMkdir(path: string, mtime: Date): void {
    const parts = splitPath(path);
    if (parts.length === 0) throw new FsError("EEXIST", "the root exists", { path: "/" });
    const name = parts[parts.length - 1]!;
    const parent = this.resolveDir(joinPath(parts.slice(0, -1)));
    const dir = this.readDir(parent);
    if (this.findIn(dir.entries, name)) throw new FsError("EEXIST", "file exists", { path: joinPath(parts) });
    validateLongName(name, joinPath(parts));
    const [c] = this.fat.allocate(1) as [Cluster];
    const block = new Uint8Array(this.bs.clusterBytes);
    // "." points at itself, ".." at the parent, with 0 for the root even on FAT32 (fatgen103 section 6.6).
    writeShortEntry(block, 0, { raw: dotName(1), ntRes: 0, attr: ATTR_DIRECTORY, firstCluster: c, size: 0, mtime });
    writeShortEntry(block, DIR_ENTRY_SIZE, { raw: dotName(2), ntRes: 0, attr: ATTR_DIRECTORY, firstCluster: parent.isRoot ? 0 : parent.cluster, size: 0, mtime });
    this.device.write(this.clusterOffset(c), block);
    this.addEntry(parent, dir, name, ATTR_DIRECTORY, c, 0, mtime);
  }

  private doRemove(path: string): void {
    const r = this.resolve(path);
    if (!r.entry || !r.parentDir) throw new FsError("EINVAL", "cannot remove the root directory", { path: "/" });
    const e = r.entry;
    if (e.attr & ATTR_DIRECTORY) {
      const children = this.readDir(this.dirLocOf(e, r.path)).entries;
      if (children.length) throw new FsError("ENOTEMPTY", `directory has ${children.length} entries`, { path: r.path });
    }
    this.fat.freeChain(this.fat.chain(e.firstCluster, r.path));
    for (let s = e.firstSlot; s <= e.slot; s++) this.device.write(this.slotOffset(r.parent, r.parentDir, s), Uint8Array.of(DELETED));
  }

  private doRename(from: string, to: string): void {
    const src = this.resolve(from);
    if (!src.entry || !src.parentDir) throw new FsError("EINVAL", "cannot rename the root directory", { path: "/" });
    const e = src.entry;
    const parts = splitPath(to);
    if (parts.length === 0) throw new FsError("EEXIST", "the root exists", { path: "/" });
    const name = parts[parts.length - 1]!;
    const targetPath = joinPath(parts);
    const parentParts = parts.slice(0, -1);
    // A directory cannot move below itself: no directory on the target's parent path may be it.
    if (e.attr & ATTR_DIRECTORY) {
      for (let i = 1; i <= parentParts.length; i++) {
        const st = this.stat(joinPath(parentParts.slice(0, i)));
        if (st.type === "dir" && st.inode === e.firstCluster) {
          throw new FsError("EINVAL", "cannot move a directory into itself", { path: targetPath });
        }
      }
    }
    const parent = this.resolveDir(joinPath(parentParts));
    const dir = this.readDir(parent);
    const clash = this.findIn(dir.entries, name);
    // A case-only rename finds the entry itself; anything else with that name is in the way.
    if (clash && !(parent.cluster === src.parent.cluster && parent.isRoot === src.parent.isRoot && clash.slot === e.slot)) {
      throw new FsError("EEXIST", "file exists", { path: targetPath });
    }
    validateLongName(name, targetPath);
    this.addEntry(parent, dir, name, e.attr, e.firstCluster, e.size, e.mtime);
    for (let s = e.firstSlot; s <= e.slot; s++) this.device.write(this.slotOffset(src.parent, src.parentDir, s), Uint8Array.of(DELETED));
    if (e.attr & ATTR_DIRECTORY && (parent.cluster !== src.parent.cluster || parent.isRoot !== src.parent.isRoot)) {
      // The moved directory's ".." (its second slot) now names the new parent (0 for the root).
      const at = this.clusterOffset(e.firstCluster) + DIR_ENTRY_SIZE;
      const dotdot = readAt(this.device, at, DIR_ENTRY_SIZE, "fat.dotdot");
      if (Buffer.from(dotdot.subarray(0, 11)).toString("latin1") !== "..         ") {
        throw new FsError("ECORRUPT", "directory has no \"..\" entry in its second slot", { path: src.path, field: "fat.dotdot" });
      }
      const c = parent.isRoot ? 0 : parent.cluster;
      put16(dotdot, 20, c >>> 16);
      put16(dotdot, 26, c & 0xffff);
      this.device.write(at, dotdot);
    }
  }

  /** Places the LFN + short entries of a new name in the first run of free slots, growing the directory if needed. */
  private addEntry(loc: DirLoc, dir: DirData, name: string, attr: number, firstCluster: number, size: number, mtime: Date): void {
    const taken = new Set(dir.entries.map((e) => Buffer.from(e.rawShort).toString("latin1")));
    const plan = planShortName(name, (raw) => taken.has(Buffer.from(raw).toString("latin1")));
    const bytes = encodeEntries({ longName: plan.needsLfn ? name : undefined, raw: plan.raw, ntRes: plan.ntRes, attr, firstCluster, size, mtime });
    const need = bytes.length / DIR_ENTRY_SIZE;
    let slots = dir.bytes.length / DIR_ENTRY_SIZE;
    let start = -1;
    let run = 0;
    for (let i = 0; i < slots; i++) {
      const b = dir.bytes[i * DIR_ENTRY_SIZE]!;
      if (b === 0 || b === DELETED) {
        if (run === 0) start = i;
        if (++run === need) break;
      } else run = 0;
    }
    if (run < need) {
      if (loc.isRoot && this.bs.type !== "fat32") throw new FsError("ENOSPC", "the FAT12/16 root directory is full", { path: loc.path });
      if (run === 0) start = slots;
      while (run < need) {
        if ((slots + 1) * DIR_ENTRY_SIZE > MAX_DIR_BYTES) throw new FsError("ENOSPC", "directory holds 65536 entries", { path: loc.path });
        const c = this.fat.extend(dir.clusters[dir.clusters.length - 1]!);
        this.device.write(this.clusterOffset(c), new Uint8Array(this.bs.clusterBytes));
        dir.clusters.push(c);
        const per = this.bs.clusterBytes / DIR_ENTRY_SIZE;
        slots += per;
        run += per;
      }
    }
    for (let k = 0; k < need; k++) {
      this.device.write(this.slotOffset(loc, dir, start + k), bytes.subarray(k * DIR_ENTRY_SIZE, (k + 1) * DIR_ENTRY_SIZE));
    }
    // Slots past the old end marker (0x00) may hold stale bytes; if our entries moved the end,
    // put a new marker right after them so nothing stale becomes visible.
    const endMarker = this.firstEndSlot(dir.bytes);
    const after = start + need;
    if (endMarker >= 0 && after > endMarker && after * DIR_ENTRY_SIZE < dir.bytes.length && dir.bytes[after * DIR_ENTRY_SIZE] !== 0) {
      this.device.write(this.slotOffset(loc, dir, after), Uint8Array.of(0));
    }
  }

  private firstEndSlot(bytes: Uint8Array): number {
    for (let i = 0; i * DIR_ENTRY_SIZE < bytes.length; i++) if (bytes[i * DIR_ENTRY_SIZE] === 0) return i;
    return -1;
  }

  /** Writes the FATs and FSInfo (free count, next free hint) and flushes the device. */
  private commit(): void {
    this.fat.commit();
    if (this.fsInfo) {
      put32(this.fsInfo, FSI_FREE_COUNT, this.fat.free);
      put32(this.fsInfo, FSI_NXT_FREE, this.fat.nextFree);
      this.device.write(this.bs.fsInfoSector * this.bs.bytesPerSector, this.fsInfo);
    }
    if (!this.batching) this.device.flush();
  }
}
