import { realpathSync, accessSync, constants as fsConstants } from "node:fs";
import { dirname, isAbsolute } from "node:path";
import { BlockFile, readAt } from "./block-file";
import { BAT_UNUSED, DiskType, FOOTER_SIZE, HEADER_SIZE, PLATFORM, SECTOR } from "./constants";
import { bitmapBytes } from "./dynamic-header";
import { encodeFooter } from "./footer";
import { ParentLocator } from "./parent-locator";
import { runFdHelper } from "./fd-helper";
import { VhdDisk } from "./vhd-disk";

/**
 * What blktap's libvhd (xapi-project/blktap vhd/lib/libvhd.c) answers for vhd-util's query, scan
 * and set-field, computed its way, so our output is the one XenServer's tools print. Error values
 * are libvhd's: negative errno.
 */
export const EINVAL = 22;
export const ENOENT = 2;
export const ENOSYS = 38;

/** libvhd.h VHD_VERSION(major, minor). */
const version = (major: number, minor: number) => ((major << 16) | minor) >>> 0;
const isTapdisk = (d: VhdDisk) => d.footer.creatorApplication.startsWith("tap");
const isSparse = (d: VhdDisk) => d.type === DiskType.Dynamic || d.type === DiskType.Differencing;

/** libvhd.h vhd_parent_locator_size: sectors below 512, bytes if a multiple of 512, else nothing. */
function locatorSize(l: ParentLocator): number {
  if (l.platformDataSpace < SECTOR) return l.platformDataSpace * SECTOR;
  return l.platformDataSpace % SECTOR === 0 ? l.platformDataSpace : 0;
}

/** vhd_end_of_headers: the end of the header, the sector-padded BAT, a batmap and the locators. */
function endOfHeaders(d: VhdDisk): number {
  if (!isSparse(d)) return 0;
  const h = d.header!;
  let eom = Math.max(d.headerOffset + HEADER_SIZE, h.tableOffset + Math.ceil((h.maxTableEntries * 4) / SECTOR) * SECTOR);
  const bm = batmapHeader(d);
  if (bm) eom = Math.max(eom, batmapOffset(d) + SECTOR, bm.offset + bm.sectors * SECTOR);
  for (const l of h.parentLocators) if (l.platformCode !== PLATFORM.None) eom = Math.max(eom, l.platformDataOffset + locatorSize(l));
  return eom;
}

/**
 * vhd_get_phys_size = vhd_end_of_data + a footer: for a sparse disk the end of the last block
 * (BAT sector + bitmap + block) or of the headers; for a fixed one the file's size.
 */
export function physicalSize(d: VhdDisk): number {
  if (!isSparse(d)) return d.file.size();
  const spbBytes = d.blockSize + bitmapBytes(d.blockSize);
  let max = endOfHeaders(d);
  for (const e of d.bat) if (e !== BAT_UNUSED) max = Math.max(max, e * SECTOR + spbBytes);
  return max + FOOTER_SIZE;
}

/** vhd_hidden: tapdisk 0.1 and 1.1 sparse disks keep the flag in the footer copy at 0. */
export function hiddenFlag(d: VhdDisk): number {
  if (isSparse(d) && isTapdisk(d) && (d.footer.creatorVersion === version(0, 1) || d.footer.creatorVersion === version(1, 1))) return readAt(d.file, 0, FOOTER_SIZE)[85]!;
  return d.footer.hidden;
}

/** vhd_batmap_header_offset: right after the sector-padded BAT. */
function batmapOffset(d: VhdDisk): number {
  const h = d.header!;
  return h.tableOffset + Math.ceil((h.maxTableEntries * 4) / SECTOR) * SECTOR;
}

/** vhd.h struct dd_batmap_hdr: cookie "tdbatmap", u64 batmap_offset, u32 size (sectors), u32 version, u32 checksum, char marker (+28). */
function batmapHeader(d: VhdDisk): { offset: number; sectors: number; marker: number } | undefined {
  if (!isSparse(d) || !isTapdisk(d) || d.footer.creatorVersion <= version(0, 1)) return undefined;
  const b = readAt(d.file, batmapOffset(d), 32);
  if (b.toString("latin1", 0, 8) !== "tdbatmap") return undefined;
  return { offset: Number(b.readBigUInt64BE(8)), sectors: b.readUInt32BE(16), marker: b[28]! };
}

// vhd/lib/xattr.h: where libvhd keeps the marker and key hash of a VHD without a batmap
const XATTR_MARKER = "user.com.citrix.xenclient.backend.marker";
const XATTR_KEYHASH = "user.com.citrix.xenclient.backend.keyhash";

// xattr_get: a missing attribute (or a file system without them) reads as zeros
const XATTR_SCRIPT = `
import os, sys, json, errno
req = json.loads(sys.argv[1]); out = {}
for name, size, value in req:
    try:
        if value is None:
            try: out[name] = list(os.getxattr(3, name)[:size])
            except OSError as e:
                if e.errno in (errno.ENODATA, errno.ENOTSUP): out[name] = [0] * size
                else: out[name] = -e.errno
        else:
            os.setxattr(3, name, bytes(value)); out[name] = 0
    except OSError as e: out[name] = -e.errno
print(json.dumps(out))
`;

function xattrs(file: BlockFile, req: Array<[string, number, number[] | null]>): Record<string, number[] | number> {
  if (file.descriptor === undefined) return Object.fromEntries(req.map(([n, size]) => [n, new Array<number>(size).fill(0)]));
  const r = runFdHelper("VHD markers (extended attributes)", XATTR_SCRIPT, [file.descriptor], JSON.stringify(req));
  if (!r.ok) return Object.fromEntries(req.map(([n]) => [n, -ENOSYS]));
  return JSON.parse(r.stdout) as Record<string, number[] | number>;
}

/** vhd_marker: the batmap header's marker, else the file's marker xattr. Negative errno on failure. */
export function readMarker(d: VhdDisk): number {
  const bm = batmapHeader(d);
  if (bm) return bm.marker;
  const v = xattrs(d.file, [[XATTR_MARKER, 1, null]])[XATTR_MARKER]!;
  return typeof v === "number" ? v : v[0]!;
}

/** vhd_set_marker. Returns 0 or a negative errno. */
export function writeMarker(d: VhdDisk, value: number): number {
  if (batmapHeader(d)) {
    d.file.write(batmapOffset(d) + 28, Buffer.from([value]));
    d.file.sync();
    return 0;
  }
  const v = xattrs(d.file, [[XATTR_MARKER, 1, [value]]])[XATTR_MARKER]!;
  return typeof v === "number" ? v : 0;
}

/** vhd_get_keyhash: struct vhd_keyhash { u8 cookie; u8 nonce[32]; u8 hash[32] }; the hash in hex if set, "" if not. */
export function readKeyHash(d: VhdDisk): string | number {
  const v = xattrs(d.file, [[XATTR_KEYHASH, 65, null]])[XATTR_KEYHASH]!;
  if (typeof v === "number") return v;
  return v[0] ? Buffer.from(v.slice(33, 65)).toString("hex") : "";
}

/**
 * vhd_set_field hidden: the footer written at the end of the data (the file truncated after it,
 * as vhd_write_footer does), and its copy at 0 for a sparse disk; the checksum covers byte 85.
 */
export function writeHidden(d: VhdDisk, value: number): void {
  const raw = encodeFooter({ ...d.footer, hidden: value });
  const end = physicalSize(d) - FOOTER_SIZE;
  const at = isSparse(d) ? end : d.file.size() - FOOTER_SIZE;
  d.file.write(at, raw);
  d.file.truncate(at + FOOTER_SIZE);
  if (isSparse(d)) d.file.write(0, raw);
  d.file.sync();
}

/**
 * vhd_parent_locator_read: a MacX locator is a "file://" URL (ASCII only), W2ku/W2ru are UTF-16LE
 * Windows paths, read as ASCII with "\" turned to "/" and a leading "C:" dropped.
 */
export function readLocator(d: VhdDisk, l: ParentLocator): string | undefined {
  if (l.platformCode !== PLATFORM.MacX && l.platformCode !== PLATFORM.W2ku && l.platformCode !== PLATFORM.W2ru) return undefined;
  if (locatorSize(l) <= 0) return undefined;
  const data = readAt(d.file, l.platformDataOffset, l.platformDataLength);
  if (l.platformCode === PLATFORM.MacX) {
    if (data.some((c) => c > 0x7f)) return undefined;
    const s = data.toString("latin1").replace(/\0.*$/s, "");
    return s.startsWith("file://") ? s.slice("file://".length) : undefined;
  }
  return utf16Path(data, "le");
}

function utf16Path(data: Buffer, order: "le" | "be"): string | undefined {
  let s = "";
  for (let i = 0; i + 1 < data.length; i += 2) {
    const c = order === "le" ? data.readUInt16LE(i) : data.readUInt16BE(i);
    if (c > 0x7f) return undefined; // iconv to ASCII fails
    s += String.fromCharCode(c);
  }
  s = s.replace(/\0.*$/s, "").replace(/\\/g, "/");
  return /^[Cc]:/.test(s) ? s.slice(2) : s;
}

/** vhd_header_decode_parent (scan -f): the header's parent name, UTF-16BE (tapdisk 0.1: UTF-16 with its byte order mark). */
export function headerParentName(d: VhdDisk): string | undefined {
  const raw = readAt(d.file, d.headerOffset + 64, 512);
  let order: "le" | "be" = "be";
  let body = raw;
  if (isTapdisk(d) && d.footer.creatorVersion === version(0, 1)) {
    if (raw[0] === 0xff && raw[1] === 0xfe) order = "le";
    if ((raw[0] === 0xff && raw[1] === 0xfe) || (raw[0] === 0xfe && raw[1] === 0xff)) body = raw.subarray(2);
  }
  return utf16Path(body, order);
}

/** vhd_find_parent: an absolute readable path as it is, else relative to the child's real directory, made real. */
export function findParent(childPath: string, name: string): string | undefined {
  const readable = (p: string) => {
    try {
      accessSync(p, fsConstants.R_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (isAbsolute(name) && readable(name)) return name;
  let dir: string;
  try {
    dir = dirname(realpathSync(childPath));
  } catch {
    return undefined;
  }
  const location = `${dir}/${name}`;
  if (!readable(location)) return undefined;
  try {
    return realpathSync(location);
  } catch {
    return undefined;
  }
}

/** vhd_parent_locator_get (resolve) / _unresolved_get: the first locator, in table order, that reads (and resolves). */
export function parentPath(d: VhdDisk, resolve: boolean): string | undefined {
  if (d.type !== DiskType.Differencing) return undefined;
  for (const l of d.header!.parentLocators) {
    const name = readLocator(d, l);
    if (name === undefined) continue;
    if (!resolve) return name;
    const found = findParent(d.path, name);
    if (found) return found;
  }
  return undefined;
}

/** vhd-util-scan.c vhd_util_scan_get_parent_locator: MacX first, else the last W2ru, else the first in use. */
export function scanLocator(d: VhdDisk): ParentLocator | undefined {
  let loc: ParentLocator | undefined;
  for (const l of d.header!.parentLocators.slice(0, 8)) {
    if (l.platformCode === PLATFORM.MacX) return l;
    if (l.platformCode === PLATFORM.W2ru) loc = l;
    if (!loc && l.platformCode !== PLATFORM.None) loc = l;
  }
  return loc;
}
