/**
 * VHDs laid out the way Microsoft's tools write them, built from the spec ("Virtual Hard Disk
 * Image Format Specification" v1.0: footer, dynamic header, BAT, parent locators, "CHS
 * Calculation") and the layouts recorded in /work/shared/reference/vhd.md §1.1 (a Virtual PC 2007
 * disk; a Windows 10 differencing disk). Nothing here is copied from a real image: each profile is
 * a handful of layout rules, and the writer applies them to the content it is given.
 *
 * What every Microsoft tool does, and qemu (block/vpc.c) and XenLab's defaults do not:
 *   - the footer's current size is the size asked for, and the CHS geometry is the spec's
 *     algorithm applied to it, which rounds DOWN. So for a size that is no CHS product, the
 *     geometry covers less than the current size. Hyper-V and disk2vhd read the current size;
 *     Virtual PC reads the geometry. qemu follows the creator field (vpc_open's table: CHS for
 *     "vpc " and unknown apps such as "vs  ", current size for "win " and "d2v "), libvhdi always
 *     the current size (the size choice `sizeMode` / `--size-calc` exposes);
 *   - space that no structure references: Virtual PC 2007 leaves a zero sector after a one-sector
 *     BAT; Windows puts its structures on 4 KiB boundaries and its block data 4 KiB-aligned (the
 *     sector bitmap sits in the 512 bytes before the data), and leaves zero padding before the
 *     footer. None of it can hold a block, so none of it is an interrupted allocation: `check`
 *     calls a gap a leak only when it could hold a block or holds non-zero bytes (check.ts);
 *   - the bitmap marks the sectors written, not the whole block (qemu and XenLab set all bits);
 *   - a differencing disk names its parent by W2ku (absolute) and W2ru (relative) locators in
 *     UTF-16LE, and by the header's parent name in UTF-16BE; Windows writes the full path there
 *     and a parent time stamp of 0 (reference Q9).
 */
import { FileHost, nodeFileHost } from "./block-file";
import { setBits } from "./bitmap";
import {
  BAT_UNUSED,
  DEFAULT_BLOCK_SIZE,
  DiskType,
  FIXED_DATA_OFFSET,
  FOOTER_SIZE,
  HEADER_SIZE,
  HOST_OS_WINDOWS,
  MAX_CHS_SECTORS,
  MAX_VHD_SIZE,
  PLATFORM,
  SECTOR,
} from "./constants";
import { bitmapBytes, encodeHeader } from "./dynamic-header";
import { VhdUsageError } from "./errors";
import { encodeFooter } from "./footer";
import { Chs, chsForSectors } from "./geometry";
import { SizeChoice, baseHeader, checkBlockSize, newFooter } from "./create";
import { allZero, roundUp } from "./layout";
import { encodeLocatorPath } from "./parent-locator";
import { newUuid } from "./uuid";
import { VhdDisk } from "./vhd-disk";

export type MicrosoftTool = "virtualpc" | "virtualserver" | "hyperv" | "disk2vhd";

/** The layout rules of one tool. */
export interface MicrosoftProfile {
  tool: MicrosoftTool;
  /** The product, for messages and the docs. */
  product: string;
  /** Footer creator application (spec: "vpc " Virtual PC, "vs  " Virtual Server; "win " Windows, "d2v " disk2vhd). */
  creatorApplication: string;
  /** Footer creator version, major << 16 | minor. */
  creatorVersion: number;
  /** Boundary that each structure after the header and each block's data start on. */
  align: number;
  /** Zero bytes left after the BAT before anything else (Virtual PC 2007: one sector). */
  batSlack: number;
  /** Zero bytes between the last structure and the footer. */
  tailPadding: number;
  /** The locators' "data space" field: in bytes (Windows, reference Q8) or in sectors (the spec's unit). */
  locatorSpaceUnit: "bytes" | "sectors";
  /** Bytes reserved for the relative (W2ru) locator's data (Windows 10: 64 KiB). */
  relativeLocatorSpace: number;
  /** The header's parent name: the parent's full Windows path (Windows) or its file name. */
  parentNameIsFullPath: boolean;
  /** The header's parent time stamp: 0 (Windows, Q9) or the parent footer's. */
  parentTimestampZero: boolean;
}

export const MICROSOFT_PROFILES: Record<MicrosoftTool, MicrosoftProfile> = {
  // Virtual PC 2007 SP1: "vpc " 5.3, BAT @1536 then one zero sector (reference §1.1, Cosmos hda.vhd).
  virtualpc: { tool: "virtualpc", product: "Virtual PC 2007", creatorApplication: "vpc ", creatorVersion: 0x00050003, align: SECTOR, batSlack: SECTOR, tailPadding: 0, locatorSpaceUnit: "sectors", relativeLocatorSpace: SECTOR, parentNameIsFullPath: false, parentTimestampZero: false },
  // Virtual Server 2005 R2: "vs  " 1.0 (reference §1.2), sector-packed like Virtual PC.
  virtualserver: { tool: "virtualserver", product: "Virtual Server 2005 R2", creatorApplication: "vs  ", creatorVersion: 0x00010000, align: SECTOR, batSlack: 0, tailPadding: 0, locatorSpaceUnit: "sectors", relativeLocatorSpace: SECTOR, parentNameIsFullPath: false, parentTimestampZero: false },
  // Hyper-V (Windows Server 2012 R2 = 6.3): 4 KiB-aligned structures and data, 4 KiB of zeros before the footer.
  hyperv: { tool: "hyperv", product: "Hyper-V (Windows Server 2012 R2)", creatorApplication: "win ", creatorVersion: 0x00060003, align: 4096, batSlack: 0, tailPadding: 4096, locatorSpaceUnit: "bytes", relativeLocatorSpace: 65536, parentNameIsFullPath: true, parentTimestampZero: true },
  // Disk2vhd: "d2v " (qemu matches "d2v "), Windows' 4 KiB alignment, no padding before the footer.
  disk2vhd: { tool: "disk2vhd", product: "Disk2vhd", creatorApplication: "d2v ", creatorVersion: 0x00020001, align: 4096, batSlack: 0, tailPadding: 0, locatorSpaceUnit: "bytes", relativeLocatorSpace: 4096, parentNameIsFullPath: true, parentTimestampZero: true },
};

export function microsoftProfile(name: string): MicrosoftProfile {
  const p = (MICROSOFT_PROFILES as Record<string, MicrosoftProfile | undefined>)[name];
  if (!p) throw new VhdUsageError(`unknown creator layout "${name}" (one of ${Object.keys(MICROSOFT_PROFILES).join(", ")})`);
  return p;
}

/** Microsoft's size rule: the current size as asked, the geometry by the spec's algorithm (rounded down). */
export function microsoftSize(requested: number): SizeChoice {
  if (!Number.isSafeInteger(requested) || requested <= 0 || requested % SECTOR !== 0) throw new VhdUsageError(`disk size ${requested} must be a positive multiple of 512 bytes`);
  if (requested > MAX_VHD_SIZE) throw new VhdUsageError(`disk size ${requested} exceeds the VHD maximum of 2040 GiB`);
  const geometry: Chs = chsForSectors(Math.min(requested / SECTOR, MAX_CHS_SECTORS));
  return { size: requested, geometry };
}

export interface MicrosoftImageOptions {
  type: "fixed" | "dynamic" | "differencing";
  /** Virtual size (differencing: taken from the parent). */
  size?: number;
  blockSize?: number;
  /** The disk's content, read in pieces; undefined = all zeros (differencing: nothing of its own). */
  content?: (offset: number, out: Buffer) => void;
  /** Differencing: the sectors this disk holds itself, as [start, end) byte ranges. */
  written?: Array<[number, number]>;
  /** Differencing: the parent file, and the Windows path the locators name (e.g. C:\VMs\base.vhd). */
  parentPath?: string;
  parentWindowsPath?: string;
  time?: Date;
  uniqueId?: Uint8Array;
  host?: FileHost;
}

/**
 * Writes a VHD as `profile`'s tool lays it out. Dynamic and differencing: footer copy @0, header
 * @512, then (differencing) the W2ku data, the BAT, (differencing) the W2ru data, each on the
 * profile's boundary; blocks in disk order, each block's data on the boundary; the footer after
 * the profile's tail padding. Fixed: the data then the footer, nothing else.
 */
export function writeMicrosoftVhd(path: string, profile: MicrosoftProfile, o: MicrosoftImageOptions): void {
  const host = o.host ?? nodeFileHost;
  const ident = { creatorApplication: profile.creatorApplication, creatorVersion: profile.creatorVersion, creatorHostOs: HOST_OS_WINDOWS, time: o.time, uniqueId: o.uniqueId ?? newUuid() };
  let parent: VhdDisk | undefined;
  if (o.type === "differencing") {
    if (!o.parentPath || !o.parentWindowsPath) throw new VhdUsageError("a differencing disk needs parentPath and parentWindowsPath");
    parent = VhdDisk.open(o.parentPath, { host, readOnly: true });
  }
  try {
    const choice = parent ? { size: parent.footer.currentSize, geometry: parent.footer.geometry } : microsoftSize(o.size ?? 0);
    const file = host.create(path);
    try {
      if (o.type === "fixed") {
        const chunk = Buffer.alloc(DEFAULT_BLOCK_SIZE);
        file.truncate(choice.size);
        for (let pos = 0; pos < choice.size; pos += chunk.length) {
          const piece = chunk.subarray(0, Math.min(chunk.length, choice.size - pos));
          piece.fill(0);
          o.content?.(pos, piece);
          if (!allZero(piece)) file.write(pos, piece);
        }
        file.write(choice.size, encodeFooter(newFooter(DiskType.Fixed, choice, ident, FIXED_DATA_OFFSET)));
        file.sync();
        return;
      }
      const bs = o.blockSize ?? DEFAULT_BLOCK_SIZE;
      checkBlockSize(bs);
      const type = parent ? DiskType.Differencing : DiskType.Dynamic;
      const footer = encodeFooter(newFooter(type, choice, ident, BigInt(FOOTER_SIZE)));
      const entries = Math.ceil(choice.size / bs);
      const h = baseHeader(entries, bs); // the BAT offset is placed below, on the profile's boundary
      const A = profile.align;
      let pos = roundUp(FOOTER_SIZE + HEADER_SIZE, A);
      const locatorData: Array<[number, Buffer]> = [];
      const placeLocator = (slot: number, code: number, text: string, space: number) => {
        const data = encodeLocatorPath(code, text);
        const reserve = roundUp(Math.max(space, data.length), A);
        const l = h.parentLocators[slot]!;
        l.platformCode = code;
        l.platformDataOffset = pos;
        l.platformDataLength = data.length;
        l.platformDataSpace = profile.locatorSpaceUnit === "bytes" ? reserve : reserve / SECTOR;
        locatorData.push([pos, data]);
        pos = roundUp(pos + reserve, A);
      };
      const winPath = o.parentWindowsPath ?? "";
      const winName = winPath.slice(Math.max(winPath.lastIndexOf("\\"), winPath.lastIndexOf("/")) + 1);
      if (parent) {
        h.parentUniqueId = new Uint8Array(parent.footer.uniqueId);
        h.parentTimestamp = profile.parentTimestampZero ? 0 : parent.footer.timestamp;
        h.parentUnicodeName = profile.parentNameIsFullPath ? winPath : winName;
        placeLocator(0, PLATFORM.W2ku, winPath, A);
      }
      h.tableOffset = pos;
      const batLen = roundUp(entries * 4, SECTOR);
      pos = roundUp(pos + batLen + profile.batSlack, A);
      if (parent) placeLocator(1, PLATFORM.W2ru, `.\\${winName}`, profile.relativeLocatorSpace);
      const bat = Buffer.alloc(batLen, 0xff);
      const bmLen = bitmapBytes(bs);
      const data = Buffer.alloc(bs);
      for (let b = 0; b < entries; b++) {
        const start = b * bs;
        const n = Math.min(bs, choice.size - start);
        const bm = Buffer.alloc(bmLen);
        data.fill(0);
        o.content?.(start, data.subarray(0, n));
        if (parent) {
          // a differencing block holds exactly the written sectors; the rest come from the parent
          for (const [s, e] of o.written ?? []) {
            const from = Math.max(s, start);
            const to = Math.min(e, start + n);
            if (from < to) setBits(bm, Math.floor((from - start) / SECTOR), Math.ceil((to - start) / SECTOR));
          }
          if (bm.every((x) => x === 0)) continue;
        } else {
          // a dynamic block marks the sectors that hold data; an all-zero block is not stored
          for (let s = 0; s < n / SECTOR; s++) if (!allZero(data.subarray(s * SECTOR, (s + 1) * SECTOR))) setBits(bm, s, s + 1);
          if (bm.every((x) => x === 0)) continue;
        }
        const dataAt = roundUp(pos + bmLen, A);
        bat.writeUInt32BE((dataAt - bmLen) / SECTOR, b * 4);
        file.write(dataAt - bmLen, bm);
        file.write(dataAt, data.subarray(0, n));
        pos = dataAt + bs;
      }
      if (pos / SECTOR >= BAT_UNUSED) throw new VhdUsageError("image too large for a 32-bit BAT");
      const footerAt = pos + profile.tailPadding;
      file.write(0, footer);
      file.write(FOOTER_SIZE, encodeHeader(h));
      file.write(h.tableOffset, bat);
      for (const [at, d] of locatorData) file.write(at, d);
      file.truncate(footerAt); // padding and holes read as zeros
      file.write(footerAt, footer);
      file.sync();
    } finally {
      file.close();
    }
  } finally {
    parent?.close();
  }
}
