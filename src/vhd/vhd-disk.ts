import { BlockDevice, checkRange } from "./block-device";
import { BlockFile, FileHost, nodeFileHost, readAt } from "./block-file";
import { forEachRun, setBits, testBit } from "./bitmap";
import { BAT_UNUSED, DiskType, FOOTER_SIZE, HEADER_SIZE, MAX_CHAIN_DEPTH, SECTOR } from "./constants";
import { DynamicHeader, HEADER_FIELD, bitmapBytes, parseHeader } from "./dynamic-header";
import { VhdFormatError, VhdUsageError } from "./errors";
import { FOOTER_FIELD, SizeCalc, VhdFooter, decodeFooter, diskSize, footerFindings } from "./footer";
import { Region, allZero, endOfMetadata, metadataRegions, roundUp } from "./layout";
import { ParentCandidate, parentCandidates } from "./parent";
import { formatUuid, uuidEqual } from "./uuid";
import { display, MimeBundle } from "../mime";

export interface VhdOpenOptions {
  readOnly?: boolean;
  host?: FileHost;
  /** Which size the disk shows (footer.ts SizeCalc): "current" (default, as libvhdi), "chs", or "qemu" (qemu-img's creator rule). */
  sizeMode?: SizeCalc;
  /** Open a differencing disk alone: its parent's sectors read as zeros (qemu's view, Q5). */
  noParent?: boolean;
  /** Use this file as the parent instead of looking through the locators. */
  parentPath?: string;
  /** Also require the header's parent time stamp to equal the parent's footer time stamp when it is non-zero. */
  strictParentTimestamp?: boolean;
  /** Internal: canonical paths of the children below, to catch loops. */
  chainSeen?: string[];
}

/** Sector bitmaps kept in memory per disk (512 bytes each for 2 MiB blocks). */
const BITMAP_CACHE = 4096;

/** Where a disk's footer came from when it was opened. */
export type FooterSource = "end of file" | "copy at offset 0";

/**
 * A VHD disk: fixed, dynamic or differencing (with its parents opened read-only below it).
 *
 * Crash safety. A block is allocated in this order (see allocateBlock):
 *   1. the footer is written at its new place, the end of the grown file. The old footer is still
 *      intact, so the file ends in a valid footer at every instant, and the new region is a hole
 *      that reads as zeros;
 *   2. the data is written into the block;
 *   3. the block's sector bitmap is written over the old footer;
 *   4. the BAT entry is changed in memory only. At flush(): fdatasync (data, bitmap and footer are
 *      durable), then the changed BAT sectors and the bitmaps of blocks that already existed,
 *      then fdatasync again.
 * This is the spec's order "data, then bitmap, then BAT entry" with the footer moved first rather
 * than last: moving it last (qemu does it before the BAT) leaves a window where the file ends in
 * data and readers must fall back to the copy at offset 0. A crash at any point leaves either the
 * old mapping or the new one; the worst case is an unreferenced block before the footer, which
 * `check` reports as a leak (exit 3) and `check --repair` / `compact` reclaim. Writes to an
 * existing block write data; a differencing disk's bitmap bits reach the disk at the next flush,
 * after the data is durable, so a set bit never points at data that is not there.
 * flush() means durable: nothing is acknowledged as flushed before its fdatasync returns.
 */
export class VhdDisk implements BlockDevice {
  readonly size: number;
  readonly type: DiskType;
  readonly blockSize: number;
  readonly bitmapSize: number;
  /** Sector numbers of each block's bitmap (BAT_UNUSED if unallocated). Shared with the file after flush. */
  readonly bat: Uint32Array;
  readonly parent: VhdDisk | undefined;
  /** How the parent was found (locator and path), for info/check. */
  readonly parentFoundBy: ParentCandidate | undefined;
  /** Warnings noticed while opening (footer taken from the copy, parent time stamp...). */
  readonly warnings: string[] = [];
  private footerOffset: number;
  private readonly footerRaw: Buffer;
  private readonly dirtyBatSectors = new Set<number>();
  private readonly dirtyBitmaps = new Set<number>();
  private readonly bitmaps = new Map<number, Buffer>();
  private closed = false;

  private constructor(
    readonly path: string,
    readonly file: BlockFile,
    readonly footer: VhdFooter,
    footerRaw: Buffer,
    footerOffset: number,
    readonly footerSource: FooterSource,
    readonly header: DynamicHeader | undefined,
    readonly headerOffset: number,
    bat: Uint32Array,
    parent: { disk: VhdDisk; foundBy: ParentCandidate } | undefined,
    readonly readOnly: boolean,
    sizeMode: SizeCalc,
  ) {
    this.type = footer.diskType;
    this.footerRaw = footerRaw;
    this.footerOffset = footerOffset;
    this.blockSize = header?.blockSize ?? 0;
    this.bitmapSize = header ? bitmapBytes(header.blockSize) : 0;
    this.bat = bat;
    this.parent = parent?.disk;
    this.parentFoundBy = parent?.foundBy;
    this.size = diskSize(footer, sizeMode);
  }

  static open(path: string, options: VhdOpenOptions = {}): VhdDisk {
    const host = options.host ?? nodeFileHost;
    const readOnly = options.readOnly ?? false;
    const file = host.open(path, !readOnly);
    try {
      return VhdDisk.openFile(path, file, options);
    } catch (e) {
      file.close();
      throw e;
    }
  }

  /** Opens a VHD held in `file` (which the disk then owns). */
  static openFile(path: string, file: BlockFile, options: VhdOpenOptions = {}): VhdDisk {
    const host = options.host ?? nodeFileHost;
    const readOnly = options.readOnly ?? !file.writable;
    const fileSize = file.size();
    if (fileSize < FOOTER_SIZE - 1) {
      throw new VhdFormatError("file size", 0, `${fileSize} bytes is too small to hold a 512-byte footer`, path);
    }
    // Pre-Virtual PC 2004 images may end in a 511-byte footer (spec note; blktap vhd_read_short_footer).
    const footerOffset = fileSize % SECTOR === SECTOR - 1 ? fileSize - (SECTOR - 1) : fileSize - FOOTER_SIZE;
    const primary = readAt(file, footerOffset, FOOTER_SIZE);
    if (fileSize % SECTOR === SECTOR - 1) primary[SECTOR - 1] = 0;
    const primaryProblems = footerFindings(primary, footerOffset).filter((f) => f.severity === "error");
    let footerRaw = primary;
    let footerSource: FooterSource = "end of file";
    let footer: VhdFooter;
    if (primaryProblems.length === 0) {
      footer = decodeFooter(primary);
    } else {
      // A crash (or blktap's strict mode) may leave no footer at the end; dynamic disks keep a copy at 0.
      const copy = readAt(file, 0, FOOTER_SIZE);
      const copyOk = fileSize >= FOOTER_SIZE + HEADER_SIZE && footerFindings(copy, 0).every((f) => f.severity !== "error");
      const copyFooter = decodeFooter(copy);
      if (!copyOk || copyFooter.diskType === DiskType.Fixed) {
        const p = primaryProblems[0]!;
        throw new VhdFormatError(p.field, p.offset, p.message, path);
      }
      if (!readOnly) {
        const p = primaryProblems[0]!;
        throw new VhdFormatError(p.field, p.offset, `${p.message}; the copy at offset 0 is valid: run \`xenlab vhd check --repair\` or open read-only`, path);
      }
      footer = copyFooter;
      footerRaw = copy;
      footerSource = "copy at offset 0";
    }
    const sizeMode = options.sizeMode ?? "current";
    if (footer.diskType === DiskType.Fixed) {
      if (footerSource !== "end of file") throw new VhdFormatError("footer cookie", footerOffset, "fixed disk without footer", path);
      if (footer.currentSize > footerOffset) {
        throw new VhdFormatError("footer current size", footerOffset + FOOTER_FIELD.currentSize, `${footer.currentSize} bytes but the file holds only ${footerOffset} bytes of data`, path);
      }
      return new VhdDisk(path, file, footer, footerRaw, footerOffset, footerSource, undefined, 0, new Uint32Array(0), undefined, readOnly, sizeMode);
    }

    const headerOffset = Number(footer.dataOffset);
    const footerBase = footerSource === "end of file" ? footerOffset : 0;
    if (headerOffset + HEADER_SIZE > fileSize) {
      throw new VhdFormatError("footer data offset", footerBase + FOOTER_FIELD.dataOffset, `dynamic header at ${headerOffset} lies beyond the ${fileSize}-byte file`, path);
    }
    const header = parseHeader(readAt(file, headerOffset, HEADER_SIZE), headerOffset, fileSize, footer.diskType, footer.currentSize, path);
    const regions = metadataRegions(file, headerOffset, header);
    const batRaw = readAt(file, header.tableOffset, header.maxTableEntries * 4);
    const bat = new Uint32Array(header.maxTableEntries);
    for (let i = 0; i < bat.length; i++) bat[i] = batRaw.readUInt32BE(i * 4);

    // The end of the space blocks may occupy: the footer (or, with the footer lost, end of file).
    const blockLimit = footerSource === "end of file" ? footerOffset : fileSize;
    const metaEnd = endOfMetadata(regions);
    if (metaEnd > blockLimit) {
      // name the structure that runs into the footer: the BAT, a locator's data, blktap's batmap
      const r = regions.reduce((m, x) => (x.end > m.end ? x : m));
      const loc = /^parent locator (\d+)/.exec(r.what);
      const [field, at] = loc
        ? [`parent locator ${loc[1]} data space`, headerOffset + HEADER_FIELD.parentLocators + Number(loc[1]) * 24 + 4]
        : [r.what === "BAT" ? "header table offset" : r.what, r.what === "BAT" ? headerOffset + HEADER_FIELD.tableOffset : r.start];
      throw new VhdFormatError(field, at, `the ${r.what} (${r.start}..${r.end}) runs past the footer at ${blockLimit}`, path);
    }
    validateBat(bat, header.tableOffset, bitmapBytes(header.blockSize) + header.blockSize, regions, blockLimit, path);

    let parent: { disk: VhdDisk; foundBy: ParentCandidate } | undefined;
    const warnings: string[] = [];
    if (footer.diskType === DiskType.Differencing && !options.noParent) {
      parent = openParent(path, file, header, headerOffset, footer, options, host, warnings);
    }
    const disk = new VhdDisk(path, file, footer, footerRaw, footerSource === "end of file" ? footerOffset : Math.max(metaEnd, endOfBlocks(bat, bitmapBytes(header.blockSize) + header.blockSize)), footerSource, header, headerOffset, bat, parent, readOnly, sizeMode);
    if (footerSource !== "end of file") disk.warnings.push(`primary footer invalid (${primaryProblems[0]!.message}); using the copy at offset 0`);
    disk.warnings.push(...warnings);
    return disk;
  }

  get uniqueId(): string {
    return formatUuid(this.footer.uniqueId);
  }

  get diskTypeName(): "fixed" | "dynamic" | "differencing" {
    return this.type === DiskType.Fixed ? "fixed" : this.type === DiskType.Dynamic ? "dynamic" : "differencing";
  }

  /** This disk and its ancestors, child first. */
  chain(): VhdDisk[] {
    const out: VhdDisk[] = [];
    for (let d: VhdDisk | undefined = this; d; d = d.parent) out.push(d);
    return out;
  }

  /** Where the footer currently is (the end of the used part of the file). */
  get footerPosition(): number {
    return this.footerOffset;
  }

  get allocatedBlocks(): number {
    let n = 0;
    for (let i = 0; i < this.bat.length; i++) if (this.bat[i] !== BAT_UNUSED) n++;
    return n;
  }

  get blockCount(): number {
    return this.type === DiskType.Fixed ? 0 : Math.ceil(this.footer.currentSize / this.blockSize);
  }

  /** The sector bitmap of block `b` (undefined if the block is not allocated). */
  sectorBitmap(b: number): Buffer | undefined {
    const entry = this.bat[b];
    if (entry === undefined || entry === BAT_UNUSED) return undefined;
    let bm = this.bitmaps.get(b);
    if (!bm) {
      bm = readAt(this.file, entry * SECTOR, this.bitmapSize);
      this.cacheBitmap(b, bm);
    }
    return bm;
  }

  /**
   * Keeps at most BITMAP_CACHE bitmaps (2 MiB at the default block size: cheap when idle even on
   * a 2 TiB disk). Only clean ones are dropped: a dirty bitmap lives here until flush writes it.
   */
  private cacheBitmap(b: number, bm: Buffer): void {
    this.bitmaps.set(b, bm);
    if (this.bitmaps.size <= BITMAP_CACHE) return;
    for (const k of this.bitmaps.keys()) {
      if (k !== b && !this.dirtyBitmaps.has(k)) {
        this.bitmaps.delete(k);
        return;
      }
    }
  }

  read(offset: number, buffer: Uint8Array): void {
    this.assertOpen();
    checkRange(`read from ${this.path}`, offset, buffer.length, this.size);
    if (this.type === DiskType.Fixed) {
      const n = this.file.read(offset, buffer);
      if (n < buffer.length) buffer.fill(0, n);
      return;
    }
    const bs = this.blockSize;
    let done = 0;
    while (done < buffer.length) {
      const pos = offset + done;
      const b = Math.floor(pos / bs);
      const inBlock = pos - b * bs;
      const n = Math.min(bs - inBlock, buffer.length - done);
      this.readInBlock(b, inBlock, buffer.subarray(done, done + n), pos);
      done += n;
    }
  }

  private readInBlock(b: number, inBlock: number, out: Uint8Array, pos: number): void {
    const entry = this.bat[b]!;
    if (entry === BAT_UNUSED) {
      this.readParent(pos, out);
      return;
    }
    const dataPos = entry * SECTOR + this.bitmapSize;
    if (this.type === DiskType.Dynamic) {
      // Dynamic disks: unwritten sectors are zero on disk (spec), so the bitmap need not be consulted.
      const n = this.file.read(dataPos + inBlock, out);
      if (n < out.length) out.fill(0, n);
      return;
    }
    const bm = this.sectorBitmap(b)!;
    const first = Math.floor(inBlock / SECTOR);
    const last = Math.ceil((inBlock + out.length) / SECTOR);
    forEachRun(bm, first, last, (s, e, set) => {
      const a = Math.max(s * SECTOR, inBlock);
      const z = Math.min(e * SECTOR, inBlock + out.length);
      const part = out.subarray(a - inBlock, z - inBlock);
      if (set) {
        const n = this.file.read(dataPos + a, part);
        if (n < part.length) part.fill(0, n);
      } else {
        this.readParent(pos - inBlock + a, part);
      }
    });
  }

  private readParent(pos: number, out: Uint8Array): void {
    const p = this.parent;
    if (!p || pos >= p.size) {
      out.fill(0);
      return;
    }
    const n = Math.min(out.length, p.size - pos);
    p.read(pos, out.subarray(0, n));
    if (n < out.length) out.fill(0, n);
  }

  write(offset: number, data: Uint8Array): void {
    this.assertOpen();
    if (this.readOnly) throw new VhdUsageError(`${this.path} is open read-only`);
    checkRange(`write to ${this.path}`, offset, data.length, this.size);
    if (data.length === 0) return;
    if (this.type === DiskType.Fixed) {
      this.file.write(offset, data);
      return;
    }
    // Whole units below this point: widen a partial first/last unit with what the disk holds.
    const unit = this.writeUnit;
    if (offset % unit !== 0 || (data.length % unit !== 0 && offset + data.length !== this.size)) {
      const a = Math.floor(offset / unit) * unit;
      const z = Math.min(roundUp(offset + data.length, unit), this.size);
      const wide = Buffer.alloc(z - a);
      this.readClamped(a, wide.subarray(0, Math.min(unit, wide.length)));
      if (z - a > unit) this.readClamped(z - unit, wide.subarray(wide.length - unit));
      wide.set(data, offset - a);
      this.writeAligned(a, wide);
      return;
    }
    this.writeAligned(offset, data);
  }

  /**
   * The smallest piece a write touches: a sector, or for differencing disks 4 KiB (one bitmap
   * byte), copying the parent's data into the rest of the piece. libvhdi 20210425 (Debian
   * python3-libvhdi, vhdimount) misreads bitmap bytes whose bits are mixed: with only sector 1 of
   * a byte set it returns the child's zeros for sectors 2..7 instead of the parent's data
   * (verified with pyvhdi set_parent). Whole bitmap bytes are read the same by every reader.
   */
  private get writeUnit(): number {
    return this.type === DiskType.Differencing ? 8 * SECTOR : SECTOR;
  }

  private readClamped(pos: number, out: Uint8Array): void {
    const n = Math.max(0, Math.min(out.length, this.size - pos));
    if (n > 0) this.read(pos, out.subarray(0, n));
    out.fill(0, n);
  }

  private writeAligned(offset: number, data: Uint8Array): void {
    const bs = this.blockSize;
    let done = 0;
    while (done < data.length) {
      const pos = offset + done;
      const b = Math.floor(pos / bs);
      const inBlock = pos - b * bs;
      const n = Math.min(bs - inBlock, data.length - done);
      this.writeInBlock(b, inBlock, data.subarray(done, done + n));
      done += n;
    }
  }

  private writeInBlock(b: number, inBlock: number, data: Uint8Array): void {
    const entry = this.bat[b]!;
    if (entry === BAT_UNUSED) {
      // An unallocated dynamic block already reads as zeros: writing zeros needs no block.
      if (this.type === DiskType.Dynamic && allZero(data)) return;
      this.allocateBlock(b, inBlock, data);
      return;
    }
    this.file.write(entry * SECTOR + this.bitmapSize + inBlock, data);
    if (this.type === DiskType.Differencing) {
      const bm = this.sectorBitmap(b)!;
      if (setBits(bm, inBlock / SECTOR, this.bitsEnd(inBlock + data.length))) this.dirtyBitmaps.add(b);
    }
  }

  /** The bitmap bit after a write ending at `end` (bytes into its block): whole bitmap bytes (see writeUnit). */
  private bitsEnd(end: number): number {
    return Math.min(roundUp(Math.ceil(end / SECTOR), 8), this.blockSize / SECTOR);
  }

  /** Allocates block `b` holding `data` at `inBlock`, in the crash-safe order of the class comment. */
  private allocateBlock(b: number, inBlock: number, data: Uint8Array): void {
    const blockPos = roundUp(this.footerOffset, SECTOR);
    const dataPos = blockPos + this.bitmapSize;
    const newFooterPos = dataPos + this.blockSize;
    if (blockPos / SECTOR >= BAT_UNUSED) throw new VhdUsageError(`${this.path}: file too large for a 32-bit BAT sector number`);
    // 1. footer first: the file grows, and ends in a valid footer at every instant
    this.file.write(newFooterPos, this.footerRaw);
    // 2. data (the rest of the block is a hole: zeros)
    this.file.write(dataPos + inBlock, data);
    // 3. bitmap over the old footer. Dynamic: every sector is defined (zero or written), as qemu
    //    does; differencing: only the written sectors, the rest still come from the parent.
    const bm = Buffer.alloc(this.bitmapSize, this.type === DiskType.Dynamic ? 0xff : 0);
    if (this.type === DiskType.Differencing) setBits(bm, inBlock / SECTOR, this.bitsEnd(inBlock + data.length));
    this.file.write(blockPos, bm);
    this.footerOffset = newFooterPos;
    // 4. the BAT entry: in memory now, on disk at flush() after the barrier
    this.bat[b] = blockPos / SECTOR;
    this.cacheBitmap(b, bm);
    this.dirtyBatSectors.add(Math.floor((b * 4) / SECTOR));
  }

  flush(): void {
    this.assertOpen();
    if (this.readOnly) return;
    if (this.dirtyBatSectors.size || this.dirtyBitmaps.size) {
      this.file.sync(); // barrier: data, new bitmaps and the moved footer are durable
      for (const b of this.dirtyBitmaps) this.file.write(this.bat[b]! * SECTOR, this.sectorBitmap(b)!);
      const h = this.header!;
      for (const s of [...this.dirtyBatSectors].sort((x, y) => x - y)) {
        const first = (s * SECTOR) / 4;
        const count = Math.min(SECTOR / 4, this.bat.length - first);
        const sec = Buffer.alloc(count * 4);
        for (let i = 0; i < count; i++) sec.writeUInt32BE(this.bat[first + i]!, i * 4);
        this.file.write(h.tableOffset + s * SECTOR, sec);
      }
      this.dirtyBitmaps.clear();
      this.dirtyBatSectors.clear();
    }
    this.file.sync();
  }

  close(): void {
    if (this.closed) return;
    try {
      if (!this.readOnly) this.flush();
    } finally {
      this.closed = true;
      this.file.close();
      this.parent?.close();
    }
  }

  /** The file offset of the data of block `b` (undefined if unallocated). */
  blockDataOffset(b: number): number | undefined {
    const e = this.bat[b];
    return e === undefined || e === BAT_UNUSED ? undefined : e * SECTOR + this.bitmapSize;
  }

  /** True if sector `lba` is stored in this file (not the parent, not unallocated). */
  hasSector(lba: number): boolean {
    if (this.type === DiskType.Fixed) return true;
    const spb = this.blockSize / SECTOR;
    const b = Math.floor(lba / spb);
    const bm = this.sectorBitmap(b);
    if (!bm) return false;
    return this.type === DiskType.Dynamic || testBit(bm, lba % spb);
  }

  toMimeBundle(): MimeBundle {
    return display(this);
  }

  private assertOpen(): void {
    if (this.closed) throw new VhdUsageError(`${this.path} is closed`);
  }
}

function endOfBlocks(bat: Uint32Array, span: number): number {
  let end = 0;
  for (let i = 0; i < bat.length; i++) if (bat[i] !== BAT_UNUSED) end = Math.max(end, bat[i]! * SECTOR + span);
  return end;
}

/**
 * Every allocated block must lie after the metadata it could clobber, before the footer, and apart
 * from every other block (vhd-util check: "clobbers headers", "clobbers footer", overlap).
 */
function validateBat(bat: Uint32Array, tableOffset: number, span: number, regions: Region[], limit: number, path: string): void {
  const starts: number[] = [];
  for (let i = 0; i < bat.length; i++) {
    const e = bat[i]!;
    if (e === BAT_UNUSED) continue;
    const start = e * SECTOR;
    const at = tableOffset + i * 4;
    if (start + span > limit) throw new VhdFormatError(`BAT entry ${i}`, at, `block at ${start} (+${span}) runs past the footer at ${limit}`, path);
    for (const r of regions) {
      if (start < r.end && start + span > r.start) throw new VhdFormatError(`BAT entry ${i}`, at, `block at ${start} (+${span}) clobbers the ${r.what} at ${r.start}`, path);
    }
    starts.push(e);
  }
  const sorted = Uint32Array.from(starts).sort();
  for (let k = 1; k < sorted.length; k++) {
    if ((sorted[k]! - sorted[k - 1]!) * SECTOR < span) {
      const j = bat.indexOf(sorted[k]!);
      throw new VhdFormatError(`BAT entry ${j}`, tableOffset + j * 4, `block at ${sorted[k]! * SECTOR} overlaps the block at ${sorted[k - 1]! * SECTOR}`, path);
    }
  }
}

function openParent(
  path: string,
  file: BlockFile,
  header: DynamicHeader,
  headerOffset: number,
  footer: VhdFooter,
  options: VhdOpenOptions,
  host: FileHost,
  warnings: string[],
): { disk: VhdDisk; foundBy: ParentCandidate } {
  const seen = [...(options.chainSeen ?? []), host.canonical(path)];
  const uuidAt = headerOffset + HEADER_FIELD.parentUniqueId;
  if (seen.length > MAX_CHAIN_DEPTH) {
    throw new VhdFormatError("header parent unique id", uuidAt, `parent chain deeper than ${MAX_CHAIN_DEPTH}`, path);
  }
  const candidates: ParentCandidate[] = options.parentPath
    ? [{ source: "explicit", stored: options.parentPath, path: options.parentPath }]
    : parentCandidates(path, file, header);
  const tried: string[] = [];
  for (const c of candidates) {
    if (!host.exists(c.path)) {
      tried.push(`${c.source} ${c.path} (missing)`);
      continue;
    }
    const canon = host.canonical(c.path);
    if (seen.includes(canon)) {
      throw new VhdFormatError("header parent unique id", uuidAt, `parent chain loops back to ${c.path} (via ${c.source})`, path);
    }
    const disk = VhdDisk.open(c.path, { ...options, readOnly: true, parentPath: undefined, chainSeen: seen, sizeMode: "current" });
    if (!uuidEqual(disk.footer.uniqueId, header.parentUniqueId)) {
      tried.push(`${c.source} ${c.path} (unique id ${disk.uniqueId})`);
      disk.close();
      continue;
    }
    if (header.parentTimestamp !== 0 && header.parentTimestamp !== disk.footer.timestamp) {
      const msg = `parent time stamp ${header.parentTimestamp} differs from ${c.path}'s footer time stamp ${disk.footer.timestamp}`;
      if (options.strictParentTimestamp) {
        disk.close();
        throw new VhdFormatError("header parent time stamp", headerOffset + HEADER_FIELD.parentTimestamp, msg, path);
      }
      warnings.push(msg);
    }
    if (disk.footer.currentSize !== footer.currentSize) {
      warnings.push(`parent ${c.path} is ${disk.footer.currentSize} bytes, this disk ${footer.currentSize}`);
    }
    return { disk, foundBy: c };
  }
  throw new VhdFormatError(
    "header parent unique id",
    uuidAt,
    `no parent with unique id ${formatUuid(header.parentUniqueId)} found; tried ${tried.join(", ") || "nothing (no locators, no parent name)"}`,
    path,
  );
}
