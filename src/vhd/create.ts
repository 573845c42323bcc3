import { FileHost, nodeFileHost } from "./block-file";
import {
  BAT_UNUSED,
  DEFAULT_BLOCK_SIZE,
  DiskType,
  FEATURE_RESERVED,
  FIXED_DATA_OFFSET,
  FOOTER_COOKIE,
  FOOTER_SIZE,
  FORMAT_VERSION,
  HEADER_COOKIE,
  HEADER_DATA_OFFSET,
  HEADER_SIZE,
  HEADER_VERSION,
  HOST_OS_WINDOWS,
  MAX_CHS_SECTORS,
  MAX_VHD_SIZE,
  PLATFORM,
  SECTOR,
  XENLAB_CREATOR_APP,
  XENLAB_CREATOR_VERSION,
} from "./constants";
import { DynamicHeader, emptyLocators, encodeHeader } from "./dynamic-header";
import { VhdUsageError } from "./errors";
import { VhdFooter, dateToVhdTime, encodeFooter } from "./footer";
import { Chs, chsForSectors, chsSectors, qemuChsRoundUp } from "./geometry";
import { batBytes, roundUp } from "./layout";
import { locatorPaths } from "./parent";
import { encodeLocatorPath } from "./parent-locator";
import { newUuid } from "./uuid";
import { VhdDisk } from "./vhd-disk";

export interface VhdCreateOptions {
  type?: "fixed" | "dynamic";
  /** Virtual size in bytes (rounded up to a sector, then as `sizePolicy` says). */
  size: number;
  blockSize?: number;
  /**
   * "chs" (default, qemu's rule): round the size up to a CHS product so every tool (qemu, Virtual
   * PC, libvhdi, Hyper-V) agrees on it. "exact" (qemu force_size=on): keep the size and write the
   * 65535/16/255 geometry that tells qemu to use the current size (Azure's recipe).
   */
  sizePolicy?: "chs" | "exact";
  host?: FileHost;
  creatorApplication?: string;
  creatorVersion?: number;
  creatorHostOs?: number;
  time?: Date;
  uniqueId?: Uint8Array;
  /** Keep this exact geometry and size (convert and compact preserve a disk's identity). */
  geometry?: Chs;
  /** Footer "original size" if not the size (compact preserves it). */
  originalSize?: number;
}

export interface SizeChoice {
  size: number;
  geometry: Chs;
}

/** The current size and geometry a new disk of `requested` bytes gets under `policy`. */
export function chooseSize(requested: number, policy: "chs" | "exact"): SizeChoice {
  if (!Number.isSafeInteger(requested) || requested <= 0) throw new VhdUsageError(`disk size ${requested} must be a positive number of bytes`);
  const bytes = roundUp(requested, SECTOR);
  if (bytes > MAX_VHD_SIZE) throw new VhdUsageError(`disk size ${bytes} exceeds the VHD maximum of 2040 GiB`);
  if (policy === "exact") {
    const g = chsForSectors(bytes / SECTOR);
    // An exact CHS product needs no special geometry; anything else gets 65535/16/255 like qemu force_size.
    if (chsSectors(g) * SECTOR === bytes) return { size: bytes, geometry: g };
    return { size: bytes, geometry: { cylinders: 65535, heads: 16, sectorsPerTrack: 255 } };
  }
  const r = qemuChsRoundUp(bytes);
  if (r.size / SECTOR >= MAX_CHS_SECTORS && r.size > MAX_VHD_SIZE) throw new VhdUsageError("disk size exceeds 2040 GiB");
  return r;
}

export function newFooter(type: DiskType, choice: SizeChoice, o: Partial<VhdCreateOptions>, dataOffset: bigint): VhdFooter {
  return {
    cookie: FOOTER_COOKIE,
    features: FEATURE_RESERVED,
    formatVersion: FORMAT_VERSION,
    dataOffset,
    timestamp: dateToVhdTime(o.time ?? new Date()),
    creatorApplication: o.creatorApplication ?? XENLAB_CREATOR_APP,
    creatorVersion: o.creatorVersion ?? XENLAB_CREATOR_VERSION,
    creatorHostOs: o.creatorHostOs ?? HOST_OS_WINDOWS, // Azure requires Wi2k (FreeBSD mkimg r284773)
    originalSize: o.originalSize ?? choice.size,
    currentSize: choice.size,
    geometry: choice.geometry,
    diskType: type,
    checksum: 0,
    uniqueId: o.uniqueId ?? newUuid(),
    savedState: 0,
    hidden: 0,
    reservedNonZero: 0,
  };
}

export function checkBlockSize(bs: number): void {
  if (!Number.isSafeInteger(bs) || bs < SECTOR || bs > 0x80000000 || (bs & (bs - 1)) !== 0) {
    throw new VhdUsageError(`block size ${bs} must be a power of two between 512 bytes and 2 GiB`);
  }
}

/** Creates a fixed or dynamic VHD at `path` and returns it open for writing. */
export function createVhd(path: string, o: VhdCreateOptions): VhdDisk {
  const host = o.host ?? nodeFileHost;
  const choice = o.geometry ? { size: roundUp(o.size, SECTOR), geometry: o.geometry } : chooseSize(o.size, o.sizePolicy ?? "chs");
  const type = o.type ?? "dynamic";
  if (type === "fixed") {
    const footer = encodeFooter(newFooter(DiskType.Fixed, choice, o, FIXED_DATA_OFFSET));
    const file = host.create(path);
    file.truncate(choice.size); // sparse: the data area is a hole
    file.write(choice.size, footer);
    file.sync();
    return VhdDisk.openFile(path, file, { host });
  }
  const bs = o.blockSize ?? DEFAULT_BLOCK_SIZE;
  checkBlockSize(bs);
  const entries = Math.ceil(choice.size / bs); // exactly ceil(size/bs): Q2, Azure rejects more
  const footer = encodeFooter(newFooter(DiskType.Dynamic, choice, o, BigInt(FOOTER_SIZE)));
  const header: DynamicHeader = baseHeader(entries, bs);
  writeDynamic(path, host, footer, header, []);
  return VhdDisk.open(path, { host });
}

/** A dynamic header with no parent and the BAT right after it (@1536), as qemu and XenLab place it. */
export function baseHeader(entries: number, bs: number): DynamicHeader {
  return {
    cookie: HEADER_COOKIE,
    dataOffset: HEADER_DATA_OFFSET,
    tableOffset: FOOTER_SIZE + HEADER_SIZE,
    headerVersion: HEADER_VERSION,
    maxTableEntries: entries,
    blockSize: bs,
    checksum: 0,
    parentUniqueId: new Uint8Array(16),
    parentTimestamp: 0,
    reserved1: 0,
    parentUnicodeName: "",
    parentLocators: emptyLocators(),
    reservedNonZero: 0,
  };
}

/** Lays out footer copy @0, header @512, BAT @1536, locator data after the BAT, footer at the end. */
export function writeDynamic(path: string, host: FileHost, footer: Buffer, header: DynamicHeader, locatorData: Buffer[]): void {
  const batLen = batBytes(header.maxTableEntries);
  let end = header.tableOffset + batLen;
  const placed: Array<[number, Buffer]> = [];
  locatorData.forEach((data, i) => {
    const l = header.parentLocators[i]!;
    const space = roundUp(Math.max(data.length, 1), SECTOR);
    l.platformDataOffset = end;
    l.platformDataSpace = space; // bytes, as Windows, VirtualBox and vhd-util write it (Q8)
    l.platformDataLength = data.length;
    placed.push([end, data]);
    end += space;
  });
  const file = host.create(path);
  try {
    file.write(0, footer);
    file.write(FOOTER_SIZE, encodeHeader(header));
    const bat = Buffer.alloc(batLen, 0xff);
    bat.fill(0xff);
    for (let i = 0; i < header.maxTableEntries; i++) bat.writeUInt32BE(BAT_UNUSED, i * 4);
    file.write(header.tableOffset, bat);
    for (const [at, data] of placed) {
      const padded = Buffer.alloc(roundUp(Math.max(data.length, 1), SECTOR));
      data.copy(padded);
      file.write(at, padded);
    }
    file.write(end, footer);
    file.sync();
  } finally {
    file.close();
  }
}

export interface SnapshotOptions {
  host?: FileHost;
  time?: Date;
  uniqueId?: Uint8Array;
  /** Block size (default: the parent's, or 2 MiB over a fixed parent). */
  blockSize?: number;
  /** Compute the relative locators as if the child lived here (compact writes a temporary file). */
  locatorsFor?: string;
  creatorApplication?: string;
  creatorVersion?: number;
  creatorHostOs?: number;
  /** Child size if different from the parent's (resize of a differencing disk). */
  size?: number;
  geometry?: Chs;
}

/**
 * Creates a differencing disk `child` over `parent` (vhd-util snapshot; Hyper-V New-VHD
 * -Differencing). The header names the parent by unique id and time stamp, by file name (UTF-16BE)
 * and through W2ku (absolute), W2ru (relative) and MacX (file:// URL) locators.
 */
export function createDifferencing(child: string, parentPath: string, o: SnapshotOptions = {}): VhdDisk {
  const host = o.host ?? nodeFileHost;
  const parent = VhdDisk.open(parentPath, { host, readOnly: true });
  try {
    const pf = parent.footer;
    const bs = o.blockSize || parent.blockSize || DEFAULT_BLOCK_SIZE;
    checkBlockSize(bs);
    const choice: SizeChoice = { size: o.size ?? pf.currentSize, geometry: o.geometry ?? pf.geometry };
    const footer = newFooter(DiskType.Differencing, choice, o, BigInt(FOOTER_SIZE));
    if (o.size === undefined) footer.originalSize = pf.originalSize;
    const header = baseHeader(Math.ceil(choice.size / bs), bs);
    header.parentUniqueId = new Uint8Array(pf.uniqueId);
    header.parentTimestamp = pf.timestamp;
    const paths = locatorPaths(o.locatorsFor ?? child, parentPath, host.canonical(parentPath));
    header.parentUnicodeName = paths.name.slice(0, 256);
    const data: Buffer[] = [];
    const codes: Array<[number, string]> = [
      [PLATFORM.W2ku, paths.W2ku],
      [PLATFORM.W2ru, paths.W2ru],
      [PLATFORM.MacX, paths.MacX],
    ];
    codes.forEach(([code, p], i) => {
      header.parentLocators[i]!.platformCode = code;
      data.push(encodeLocatorPath(code, p));
    });
    writeDynamic(child, host, encodeFooter(footer), header, data);
  } finally {
    parent.close();
  }
  return VhdDisk.open(child, { host });
}

