import { BlockFile, FileHost, nodeFileHost, readAt } from "./block-file";
import { forEachRun } from "./bitmap";
import { BAT_UNUSED, DiskType, FOOTER_SIZE, HEADER_SIZE, SECTOR, VHD_EPOCH_UNIX } from "./constants";
import { HEADER_FIELD, bitmapBytes, decodeHeader, headerFindings, DynamicHeader } from "./dynamic-header";
import { parentCandidates } from "./parent";
import { VhdFormatError } from "./errors";
import { Finding, finding } from "./finding";
import { FOOTER_FIELD, decodeFooter, footerFindings, vhdTimeToDate } from "./footer";
import { Region, allZero, endOfMetadata, metadataRegions, roundUp } from "./layout";
import { VhdDisk } from "./vhd-disk";
import { rewriteVhd } from "./rewrite";
import { Progress, progressPart } from "./progress";

/**
 * `check`: every field and checksum, the footer copy, BAT entries out of range or overlapping,
 * bitmap/data consistency, parent identity (reimplementing vhd-util check, reference §4.3, since
 * qemu-img cannot check vpc). `repair` fixes what can be fixed without guessing data: the footer
 * from its copy (or the copy from the footer), BAT entries that point outside the file or at
 * other structures (cleared, as VirtualBox vhdRepair does), leaked space at the end of the file
 * (footer moved down, file truncated) and bitmap bits clear over written sectors (set).
 */
export interface CheckReport {
  file: string;
  diskType?: "fixed" | "dynamic" | "differencing";
  findings: Finding[];
  /** What --repair changed, in order. */
  repairs: string[];
  /** Written virtual-disk bytes that --repair could not keep (empty when nothing was lost). */
  lost: LostRange[];
  allocatedBlocks: number;
  totalBlocks: number;
  leakedBytes: number;
  /** Zero gaps too short to hold a block: layout padding (Microsoft's tools), not a leak. */
  paddingBytes: number;
  /**
   * qemu-img check's exit code convention: 0 clean, 1 the image could not be opened at all (too
   * small for a footer, or neither the footer nor its copy is a valid VHD footer: qemu's vpc_open
   * refuses such a file the same way), 2 corruption, 3 only leaks.
   */
  result: 0 | 1 | 2 | 3;
  /** Why the file cannot be opened as a VHD at all (result 1), if so. */
  unopenable?: string;
}

export interface CheckOptions {
  repair?: boolean;
  host?: FileHost;
  /** Read allocated data to find written sectors whose bitmap bit is clear (vhd-util check -b). Default true. */
  bitmaps?: boolean;
  /** Told as the blocks are read (each pass of a repair is a share of the whole). */
  onProgress?: Progress;
}

interface Fix {
  describe: string;
  apply(file: BlockFile): void;
}

/** Virtual-disk bytes a repair could not keep: sectors marked written whose data is gone. */
export interface LostRange {
  block: number;
  /** Byte offset in the virtual disk. */
  offset: number;
  length: number;
}

interface Analysis {
  findings: Finding[];
  truncatedBlocks: Array<{ i: number; start: number; lost: LostRange[] }>;
  lost: LostRange[];
  fixes: Fix[];
  diskType?: DiskType;
  allocatedBlocks: number;
  totalBlocks: number;
  leakedBytes: number;
  paddingBytes: number;
  /** Why the file cannot be opened as a VHD at all (check exit 1), if so. */
  unopenable?: string;
}

export function checkVhd(path: string, options: CheckOptions = {}): CheckReport {
  const host = options.host ?? nodeFileHost;
  const repairs: string[] = [];
  let lost: LostRange[] = [];
  let a: Analysis;
  const file = host.open(path, !!options.repair);
  try {
    // the shares of the whole: first read, re-read after fixes, a compaction, its last re-read
    a = analyze(path, file, host, options, progressPart(options.onProgress, 0, options.repair ? 0.4 : 1));
    if (options.repair && a.fixes.length) {
      lost = a.lost;
      for (const fix of a.fixes) {
        fix.apply(file);
        file.sync(); // each repair step is durable before the next one depends on it
        repairs.push(fix.describe);
      }
      a = analyze(path, file, host, options, progressPart(options.onProgress, 0.4, 0.6));
    }
  } finally {
    file.close();
  }
  if (options.repair && !a.findings.some((f) => f.severity === "error") && a.findings.some((f) => f.severity === "leak" && f.field === "blocks")) {
    // Space between blocks (a crash between two BAT sector writes of one flush) can only be
    // reclaimed by moving blocks: rewrite the file (compact), atomically renamed over it.
    const r = rewriteVhd(path, { host, onProgress: progressPart(options.onProgress, 0.6, 0.9) });
    repairs.push(`rewrote the file without unreferenced space (compact): ${r.bytesBefore} -> ${r.bytesAfter} bytes`);
    const again = host.open(path, false);
    try {
      a = analyze(path, again, host, options, progressPart(options.onProgress, 0.9, 1));
    } finally {
      again.close();
    }
  }
  const errors = a.findings.some((f) => f.severity === "error");
  const leaks = a.findings.some((f) => f.severity === "leak");
  return {
    file: path,
    diskType: a.diskType === DiskType.Fixed ? "fixed" : a.diskType === DiskType.Dynamic ? "dynamic" : a.diskType === DiskType.Differencing ? "differencing" : undefined,
    findings: a.findings,
    repairs,
    lost,
    allocatedBlocks: a.allocatedBlocks,
    totalBlocks: a.totalBlocks,
    leakedBytes: a.leakedBytes,
    paddingBytes: a.paddingBytes,
    result: a.unopenable ? 1 : errors ? 2 : leaks ? 3 : 0,
    unopenable: a.unopenable,
  };
}

function analyze(path: string, file: BlockFile, host: FileHost, options: CheckOptions, onProgress?: Progress): Analysis {
  const out: Analysis = { findings: [], fixes: [], truncatedBlocks: [], lost: [], allocatedBlocks: 0, totalBlocks: 0, leakedBytes: 0, paddingBytes: 0 };
  const F = out.findings;
  const fileSize = file.size();
  if (fileSize < FOOTER_SIZE - 1) {
    F.push(finding("error", "file size", 0, `${fileSize} bytes cannot hold a footer`));
    out.unopenable = `${fileSize} bytes cannot hold a footer`;
    return out;
  }
  const short = fileSize % SECTOR === SECTOR - 1;
  const footerOffset = short ? fileSize - (SECTOR - 1) : fileSize - FOOTER_SIZE;
  const primary = readAt(file, footerOffset, FOOTER_SIZE);
  if (short) {
    primary[SECTOR - 1] = 0;
    F.push(finding("warning", "footer", footerOffset, "511-byte footer (pre-Virtual PC 2004 image)"));
  }
  const pf = footerFindings(primary, footerOffset).map((f) => ({ ...f, field: `primary ${f.field}` }));
  const primaryOk = !pf.some((f) => f.severity === "error");
  const copy = readAt(file, 0, FOOTER_SIZE);
  const cf = footerFindings(copy, 0);
  const copyOk = fileSize >= FOOTER_SIZE * 2 && !cf.some((f) => f.severity === "error") && decodeFooter(copy).diskType !== DiskType.Fixed;

  let footerRaw: Buffer;
  if (primaryOk) {
    F.push(...pf);
    footerRaw = primary;
  } else if (copyOk) {
    F.push(...pf.filter((f) => f.severity === "error"));
    F.push(...cf.filter((f) => f.severity !== "error"));
    footerRaw = copy;
  } else {
    F.push(...pf.filter((f) => f.severity === "error"));
    out.unopenable = "neither the footer nor its copy at offset 0 is a valid VHD footer";
    return out;
  }
  const footer = decodeFooter(footerRaw);
  out.diskType = footer.diskType;
  if (footer.diskType === DiskType.Fixed) {
    if (footer.currentSize > footerOffset) {
      F.push(finding("error", "footer current size", footerOffset + FOOTER_FIELD.currentSize, `${footer.currentSize} bytes but the file holds ${footerOffset} bytes of data`));
    } else if (footer.currentSize < footerOffset) {
      F.push(finding("warning", "footer current size", footerOffset + FOOTER_FIELD.currentSize, `${footerOffset - footer.currentSize} bytes between the data and the footer`));
    }
    return out;
  }

  // Dynamic / differencing: the copy at 0 must match the footer.
  if (primaryOk && !copy.equals(primary)) {
    F.push(finding("error", "footer copy", 0, copyOk ? "the copy at offset 0 differs from the footer" : `the copy at offset 0 is invalid (${cf.find((f) => f.severity === "error")?.message})`));
    out.fixes.push({ describe: "rewrote the footer copy at offset 0 from the footer", apply: (f) => f.write(0, primary) });
  }
  const headerOffset = Number(footer.dataOffset);
  if (headerOffset + HEADER_SIZE > fileSize) {
    F.push(finding("error", "footer data offset", FOOTER_FIELD.dataOffset, `header at ${headerOffset} is past the end of the file`));
    return out;
  }
  const rawHeader = readAt(file, headerOffset, HEADER_SIZE);
  const hf = headerFindings(rawHeader, headerOffset, fileSize, footer.diskType, footer.currentSize);
  F.push(...hf);
  if (hf.some((f) => f.severity === "error")) return out;
  const h = decodeHeader(rawHeader);
  const span = bitmapBytes(h.blockSize) + h.blockSize;
  out.totalBlocks = h.maxTableEntries;
  const regions = metadataRegions(file, headerOffset, h);
  const metaEnd = endOfMetadata(regions);
  const limit = primaryOk ? footerOffset : fileSize;
  const batRaw = readAt(file, h.tableOffset, h.maxTableEntries * 4);
  const bmSize = bitmapBytes(h.blockSize);
  const good: Array<{ i: number; start: number }> = [];
  const clear: number[] = [];
  for (let i = 0; i < h.maxTableEntries; i++) {
    const e = batRaw.readUInt32BE(i * 4);
    if (e === BAT_UNUSED) continue;
    const start = e * SECTOR;
    const at = h.tableOffset + i * 4;
    const hit = regions.find((r) => start < r.end && start + span > r.start);
    if (start + span > limit && !primaryOk && !hit && start + bmSize <= fileSize) {
      // The file was cut while this block was being written (the footer went with the tail). Its
      // bitmap and every sector up to the cut are on disk: keep the block, zero-fill what is gone,
      // and name exactly the sectors lost (those whose bitmap bit says they had been written).
      const lost = onDisk(i, h.blockSize, lostSectors(file, start, bmSize, h.blockSize, fileSize, footer.diskType === DiskType.Dynamic));
      F.push(finding("error", `BAT entry ${i}`, at, `block at ${start} (+${span}) runs past the end of the file at ${fileSize}: ${fileSize - start - bmSize} of its ${h.blockSize} data bytes are present`));
      out.truncatedBlocks.push({ i, start, lost });
      good.push({ i, start });
    } else if (start + span > limit) {
      F.push(finding("error", `BAT entry ${i}`, at, `block at ${start} (+${span}) runs past ${primaryOk ? "the footer" : "the end of the file"} at ${limit}`));
      clear.push(i);
    } else if (hit) {
      F.push(finding("error", `BAT entry ${i}`, at, `block at ${start} clobbers the ${hit.what} at ${hit.start}`));
      clear.push(i);
    } else {
      good.push({ i, start });
    }
  }
  good.sort((x, y) => x.start - y.start);
  const kept: typeof good = [];
  for (const g of good) {
    const prev = kept[kept.length - 1];
    if (prev && g.start < prev.start + span) {
      F.push(finding("error", `BAT entry ${g.i}`, h.tableOffset + g.i * 4, `block at ${g.start} overlaps block ${prev.i} at ${prev.start}`));
      clear.push(g.i);
    } else {
      kept.push(g);
    }
  }
  out.allocatedBlocks = kept.length;
  for (const t of out.truncatedBlocks) {
    const lostBytes = t.lost.reduce((n, r) => n + r.length, 0);
    out.lost.push(...t.lost);
    out.fixes.push({
      describe: `kept block ${t.i}: zero-filled its missing tail from ${fileSize} to ${t.start + span} (${lostBytes} written bytes lost${lostBytes ? `: ${t.lost.map((r) => `disk bytes ${r.offset}..${r.offset + r.length}`).join(", ")}` : ""})`,
      apply: (f) => f.write(fileSize, Buffer.alloc(t.start + span - fileSize)),
    });
  }
  for (const i of clear) {
    const e = batRaw.readUInt32BE(i * 4) * SECTOR;
    // Clearing an entry drops the block: say which written sectors that loses (read before
    // dropping). A bitmap that lies inside the header or BAT is not the block's: it names nothing.
    const ownBitmap = e + bmSize <= fileSize && !regions.some((r) => e < r.end && e + bmSize > r.start);
    if (ownBitmap) out.lost.push(...onDisk(i, h.blockSize, lostSectors(file, e, bmSize, h.blockSize, e, false)));
    out.fixes.push({
      describe: `cleared BAT entry ${i} (was 0x${batRaw.readUInt32BE(i * 4).toString(16)})`,
      apply: (f) => f.write(h.tableOffset + i * 4, Buffer.from([0xff, 0xff, 0xff, 0xff])),
    });
  }

  // Bitmaps.
  const spb = h.blockSize / SECTOR;
  const lastBlockSectors = Math.ceil(footer.currentSize / SECTOR) - (h.maxTableEntries - 1) * spb;
  for (const [n, { i, start }] of kept.entries()) {
    onProgress?.(n, kept.length);
    const bm = readAt(file, start, bmSize);
    const bmAt = start;
    if (footer.diskType !== DiskType.Dynamic || options.bitmaps === false) continue;
    // Dynamic: a sector whose bit is clear must be zero on disk (spec).
    const clearWithData: Array<[number, number]> = [];
    const data = readAt(file, start + bmSize, h.blockSize);
    forEachRun(bm, 0, Math.min(spb, i === h.maxTableEntries - 1 ? lastBlockSectors : spb), (s, e, set) => {
      if (set) return;
      for (let q = s; q < e; q++) {
        if (!allZero(data.subarray(q * SECTOR, (q + 1) * SECTOR))) {
          const last = clearWithData[clearWithData.length - 1];
          if (last && last[1] === q) last[1] = q + 1;
          else clearWithData.push([q, q + 1]);
        }
      }
    });
    if (clearWithData.length) {
      const n = clearWithData.reduce((t, [s, e]) => t + e - s, 0);
      F.push(finding("error", `block ${i} bitmap`, bmAt, `${n} sector(s) hold data where the bitmap is clear (first: sector ${clearWithData[0]![0]})`));
      out.fixes.push({
        describe: `set ${n} bitmap bit(s) of block ${i} over written sectors`,
        apply: (f) => {
          for (const [s, e] of clearWithData) for (let q = s; q < e; q++) bm[q >>> 3] = bm[q >>> 3]! | (0x80 >>> (q & 7));
          f.write(bmAt, bm);
        },
      });
    }
  }

  onProgress?.(kept.length, kept.length);

  // Leaks: file space before the footer that neither metadata nor a block uses. A gap is a leak
  // only if it could be an interrupted allocation: room for a whole block (every writer, qemu's
  // alloc_block and ours, grows the file by a bitmap plus a block at once) or bytes that are not
  // zero. A shorter zero gap is layout padding: Virtual PC 2007's zero sector after the BAT,
  // Windows' 4 KiB alignment of block data and the zeros it leaves before the footer
  // (microsoft-layout.ts). qemu agrees that such space is free: vpc_open puts the next block at
  // the end of the BAT or of the last block (free_data_block_offset), over any padding.
  const endBlocks = kept.reduce((m, g) => Math.max(m, g.start + span), 0);
  const usedEnd = Math.max(metaEnd, endBlocks);
  let holes = 0;
  let tail = 0;
  for (const g of unreferenced(regions, kept.map((k) => ({ start: k.start, end: k.start + span, what: "block" })), limit)) {
    const len = g.end - g.start;
    if (len < span && allZero(readAt(file, g.start, len))) {
      out.paddingBytes += len;
      continue;
    }
    if (g.end >= limit && g.start >= usedEnd) tail += len;
    else holes += len;
  }
  out.leakedBytes = holes + tail;
  if (holes) F.push(finding("leak", "blocks", metaEnd, `${holes} bytes between blocks are not referenced (reclaim with compact)`));
  if (tail) {
    F.push(finding("leak", "footer", usedEnd, `${tail} bytes after the last block are not referenced (an allocation interrupted by a crash)`));
  }
  if (!primaryOk || tail) {
    const newEnd = roundUp(usedEnd, SECTOR);
    out.fixes.push({
      describe: primaryOk ? `moved the footer from ${footerOffset} to ${newEnd} and truncated the file (${tail} leaked bytes)` : `rewrote the footer at ${newEnd} from the copy at offset 0 and truncated the file`,
      apply: (f) => {
        f.write(newEnd, footerRaw);
        f.sync();
        f.truncate(newEnd + FOOTER_SIZE);
      },
    });
  }

  // Parent identity.
  if (footer.diskType === DiskType.Differencing) {
    if (h.parentTimestamp + VHD_EPOCH_UNIX > Date.now() / 1000 + 1800) {
      F.push(finding("warning", "header parent time stamp", headerOffset + HEADER_FIELD.parentTimestamp, `${vhdTimeToDate(h.parentTimestamp).toISOString()} is in the future`));
    }
    // vhd-util check compares each locator's file name with the header's; Windows writes a full path
    // in one and not the other (reference Q7), so a mismatch is only a warning here.
    const headerName = baseName(h.parentUnicodeName);
    for (const c of parentCandidates(path, file, h)) {
      if (c.source !== "header parent name" && headerName && baseName(c.stored) !== headerName) {
        F.push(finding("warning", `parent locator ${c.source}`, headerOffset + HEADER_FIELD.parentLocators, `names ${JSON.stringify(c.stored)}, the header names ${JSON.stringify(h.parentUnicodeName)}`));
      }
    }
    checkParent(path, host, F);
  }
  return out;
}


/** Block-relative byte ranges of block `i` as ranges of the virtual disk. */
function onDisk(i: number, blockSize: number, ranges: Array<{ offset: number; length: number }>): LostRange[] {
  return ranges.map((r) => ({ block: i, offset: i * blockSize + r.offset, length: r.length }));
}

/**
 * The written sectors of a block (bitmap bit set) whose data lies at or past `presentEnd` in the
 * file, as byte ranges within the block: what is truly gone when the file ends there.
 */
function lostSectors(file: BlockFile, start: number, bmSize: number, blockSize: number, presentEnd: number, dynamic: boolean): Array<{ offset: number; length: number }> {
  const bm = readAt(file, start, bmSize);
  // A dynamic disk's writers (qemu's vpc, ours) mark the whole block at allocation: a full bitmap
  // says nothing about which sectors were written, and the unwritten ones were zeros all along.
  // Only a bitmap that tells written sectors apart (differencing disks, Windows) can name losses.
  if (dynamic && bm.subarray(0, blockSize / SECTOR / 8).every((b) => b === 0xff)) return [];
  // A sector cut part-way lost its tail: it counts as lost when it had been written.
  const firstGone = Math.max(0, Math.floor((presentEnd - start - bmSize) / SECTOR));
  const out: Array<{ offset: number; length: number }> = [];
  forEachRun(bm, firstGone, blockSize / SECTOR, (s, e, set) => {
    if (set) out.push({ offset: s * SECTOR, length: (e - s) * SECTOR });
  });
  return out;
}

function baseName(p: string): string {
  const parts = p.replace(/\\/g, "/").split("/");
  return parts[parts.length - 1] ?? "";
}

/** The unreferenced ranges between the end of the metadata and `end` (the footer). */
function unreferenced(meta: Region[], blocks: Region[], end: number): Region[] {
  const all = [...meta, ...blocks].sort((a, b) => a.start - b.start);
  let pos = roundUp(Math.max(...meta.map((r) => r.end)), SECTOR);
  const out: Region[] = [];
  for (const r of all) {
    if (r.end <= pos) continue;
    if (r.start > pos) out.push({ start: pos, end: r.start, what: "unreferenced" });
    pos = Math.max(pos, r.end);
  }
  if (end > pos) out.push({ start: pos, end, what: "unreferenced" });
  return out;
}

function checkParent(path: string, host: FileHost, F: Finding[]): void {
  try {
    const d = VhdDisk.open(path, { host, readOnly: true });
    for (const w of d.chain().flatMap((x) => x.warnings)) F.push(finding("warning", "parent", -1, w));
    d.close();
  } catch (e) {
    if (e instanceof VhdFormatError) F.push({ ...finding("error", e.field, e.offset, e.detail), file: e.file });
    else throw e;
  }
}

/** Exposed for `info`: the metadata regions of an open disk. */
export function diskRegions(d: VhdDisk): Region[] {
  const h: DynamicHeader | undefined = d.header;
  return h ? metadataRegions(d.file, d.headerOffset, h) : [];
}
