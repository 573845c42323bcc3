import { put16, put32, u16, u32, u8 } from "../bytes";
import { FsError } from "../errors";

/** Directory entry layout: fatgen103 section 6 (short entries) and section 7 (long names). */
export const DIR_ENTRY_SIZE = 32;
export const ATTR_READ_ONLY = 0x01;
export const ATTR_HIDDEN = 0x02;
export const ATTR_SYSTEM = 0x04;
export const ATTR_VOLUME_ID = 0x08;
export const ATTR_DIRECTORY = 0x10;
export const ATTR_ARCHIVE = 0x20;
export const ATTR_LONG_NAME = 0x0f;
export const LAST_LONG_ENTRY = 0x40;
export const DELETED = 0xe5;
/** DIR_NTRes bits used by Windows NT and Linux for all-lowercase 8.3 names. */
export const NT_LOWER_BASE = 0x08;
export const NT_LOWER_EXT = 0x10;
/** UTF-16 units per long-name entry: 5 at offset 1, 6 at 14, 2 at 28. */
export const LFN_CHARS = 13;
const LFN_OFFSETS = [1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30];
export const MAX_LONG_NAME = 255;

export interface FatDirEntry {
  /** The long name when a valid LFN set precedes the entry, else the displayed 8.3 name. */
  name: string;
  shortName: string;
  /** The 11 raw bytes of the short name. */
  rawShort: Uint8Array;
  attr: number;
  ntRes: number;
  firstCluster: number;
  size: number;
  mtime: Date;
  /** Slot index of the short entry, and of the first LFN slot (equal when there is no LFN). */
  slot: number;
  firstSlot: number;
}

/** fatgen103 section 7.2: the checksum of the 11-byte short name stored in each LFN entry. */
export function shortNameChecksum(raw: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < 11; i++) sum = (((sum & 1) << 7) + (sum >> 1) + raw[i]!) & 0xff;
  return sum;
}

/**
 * Short names are in the OEM code page; 850 (multilingual Latin-1) is what mtools, Linux
 * (codepage=437 differs only in a few letters) and western Windows use by default.
 */
const CP850_HIGH = "\u00c7\u00fc\u00e9\u00e2\u00e4\u00e0\u00e5\u00e7\u00ea\u00eb\u00e8\u00ef\u00ee\u00ec\u00c4\u00c5\u00c9\u00e6\u00c6\u00f4\u00f6\u00f2\u00fb\u00f9\u00ff\u00d6\u00dc\u00f8\u00a3\u00d8\u00d7\u0192\u00e1\u00ed\u00f3\u00fa\u00f1\u00d1\u00aa\u00ba\u00bf\u00ae\u00ac\u00bd\u00bc\u00a1\u00ab\u00bb\u2591\u2592\u2593\u2502\u2524\u00c1\u00c2\u00c0\u00a9\u2563\u2551\u2557\u255d\u00a2\u00a5\u2510\u2514\u2534\u252c\u251c\u2500\u253c\u00e3\u00c3\u255a\u2554\u2569\u2566\u2560\u2550\u256c\u00a4\u00f0\u00d0\u00ca\u00cb\u00c8\u0131\u00cd\u00ce\u00cf\u2518\u250c\u2588\u2584\u00a6\u00cc\u2580\u00d3\u00df\u00d4\u00d2\u00f5\u00d5\u00b5\u00fe\u00de\u00da\u00db\u00d9\u00fd\u00dd\u00af\u00b4\u00ad\u00b1\u2017\u00be\u00b6\u00a7\u00f7\u00b8\u00b0\u00a8\u00b7\u00b9\u00b3\u00b2\u25a0\u00a0";

function decodeOem(bytes: number[]): string {
  return bytes.map((b) => (b < 0x80 ? String.fromCharCode(b) : CP850_HIGH[b - 0x80]!)).join("");
}

export function displayShortName(raw: Uint8Array, ntRes: number): string {
  const bytes = Array.from(raw);
  if (bytes[0] === 0x05) bytes[0] = 0xe5; // 0x05 stands for a leading 0xE5 (KANJI lead byte)
  const dec = (arr: number[]) => decodeOem(arr).replace(/ +$/, "");
  let base = dec(bytes.slice(0, 8));
  let ext = dec(bytes.slice(8, 11));
  if (ntRes & NT_LOWER_BASE) base = base.toLowerCase();
  if (ntRes & NT_LOWER_EXT) ext = ext.toLowerCase();
  return ext ? `${base}.${ext}` : base;
}

/** FAT date/time (local time by convention; we read and write it as UTC so output is stable). */
export function decodeFatTime(date: number, time: number): Date {
  const year = 1980 + (date >> 9);
  const month = Math.max(1, (date >> 5) & 0x0f);
  const day = Math.max(1, date & 0x1f);
  return new Date(Date.UTC(year, month - 1, day, time >> 11, (time >> 5) & 0x3f, (time & 0x1f) * 2));
}

export function encodeFatTime(d: Date): { date: number; time: number } {
  const year = Math.min(2107, Math.max(1980, d.getUTCFullYear()));
  return {
    date: ((year - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1),
  };
}

/**
 * Parses the slots of a directory. A long name is used only when its entries are in sequence and
 * carry the checksum of the short entry they precede; otherwise (orphaned or damaged LFN entries,
 * as after a DOS rename) the 8.3 name is shown, which is what Windows and Linux do.
 */
export function parseDirectory(bytes: Uint8Array, fat32: boolean): FatDirEntry[] {
  const out: FatDirEntry[] = [];
  let lfn: { parts: string[]; checksum: number; expect: number; first: number } | undefined;
  const slots = Math.floor(bytes.length / DIR_ENTRY_SIZE);
  for (let i = 0; i < slots; i++) {
    const o = i * DIR_ENTRY_SIZE;
    const first = bytes[o]!;
    if (first === 0x00) break; // end of directory: no used entry follows
    if (first === DELETED) {
      lfn = undefined;
      continue;
    }
    const attr = u8(bytes, o + 11);
    if ((attr & 0x3f) === ATTR_LONG_NAME) {
      const ord = first & 0x3f;
      const units = LFN_OFFSETS.map((k) => u16(bytes, o + k));
      const end = units.indexOf(0);
      const part = String.fromCharCode(...(end >= 0 ? units.slice(0, end) : units));
      if (first & LAST_LONG_ENTRY) {
        lfn = ord >= 1 && ord <= 20 ? { parts: [part], checksum: u8(bytes, o + 13), expect: ord - 1, first: i } : undefined;
      } else if (lfn && ord === lfn.expect && ord >= 1 && u8(bytes, o + 13) === lfn.checksum) {
        lfn.parts.push(part);
        lfn.expect--;
      } else {
        lfn = undefined;
      }
      continue;
    }
    const raw = bytes.slice(o, o + 11);
    const ntRes = u8(bytes, o + 12);
    if (attr & ATTR_VOLUME_ID) {
      lfn = undefined;
      continue;
    }
    const shortName = displayShortName(raw, ntRes);
    let name = shortName;
    let firstSlot = i;
    if (lfn && lfn.expect === 0 && lfn.checksum === shortNameChecksum(raw)) {
      name = lfn.parts.reverse().join("");
      firstSlot = lfn.first;
    }
    lfn = undefined;
    if (name === "." || name === "..") continue;
    const hi = u16(bytes, o + 20);
    const lo = u16(bytes, o + 26);
    out.push({
      name,
      shortName,
      rawShort: raw,
      attr,
      ntRes,
      // DIR_FstClusHI only means something on FAT32; FAT12/16 (and OS/2's EA index) may leave
      // other bytes there, which Linux ignores too (fs/fat/fat.h fat_get_start).
      firstCluster: (fat32 ? hi * 0x10000 : 0) + lo,
      size: u32(bytes, o + 28),
      mtime: decodeFatTime(u16(bytes, o + 24), u16(bytes, o + 22)),
      slot: i,
      firstSlot,
    });
  }
  return out;
}

/** Characters a long name may not hold (fatgen103 section 7, plus control characters). */
const LONG_INVALID = /[\u0000-\u001f"*/:<>?\\|]/;
/** Characters valid in an 8.3 name besides A-Z, 0-9 and bytes >= 0x80 (fatgen103 section 6.1). */
const SHORT_SPECIALS = "$%'-_@~`!(){}^#&";

export function validateLongName(name: string, path: string): void {
  if (name.length === 0 || name.length > MAX_LONG_NAME) throw new FsError("EINVAL", `name must be 1..${MAX_LONG_NAME} characters`, { path });
  if (name === "." || name === "..") throw new FsError("EINVAL", "reserved name", { path });
  if (LONG_INVALID.test(name)) throw new FsError("EINVAL", `name ${JSON.stringify(name)} holds a character FAT forbids`, { path });
  if (/[. ]$/.test(name)) throw new FsError("EINVAL", "a FAT name cannot end in a dot or a space", { path });
}

function isShortChar(c: string): boolean {
  return /[A-Z0-9]/.test(c) || SHORT_SPECIALS.includes(c);
}

export interface ShortNamePlan {
  raw: Uint8Array;
  ntRes: number;
  /** True when the name needs long-name entries (it does not fit 8.3 exactly). */
  needsLfn: boolean;
}

function pad(s: string, n: number): string {
  return s.padEnd(n, " ").slice(0, n);
}

function toRaw(base: string, ext: string): Uint8Array {
  const raw = Uint8Array.from(Buffer.from(pad(base, 8) + pad(ext, 3), "latin1"));
  if (raw[0] === 0xe5) raw[0] = 0x05;
  return raw;
}

/**
 * Chooses the 8.3 alias for a new name: as-is when it fits (with the NT lowercase bits for
 * all-lowercase parts, as Linux vfat does), otherwise the fatgen103 basis name with a "~N" tail
 * that is unique in the directory.
 */
export function planShortName(name: string, taken: (raw: Uint8Array) => boolean): ShortNamePlan {
  const dot = name.lastIndexOf(".");
  const base = dot > 0 ? name.slice(0, dot) : name;
  const ext = dot > 0 ? name.slice(dot + 1) : "";
  const fits =
    base.length >= 1 &&
    base.length <= 8 &&
    ext.length <= 3 &&
    [...base.toUpperCase(), ...ext.toUpperCase()].every(isShortChar) &&
    (dot <= 0 || name.indexOf(".") === dot);
  if (fits) {
    const caseOk = (s: string) => s === s.toUpperCase() || s === s.toLowerCase();
    if (caseOk(base) && caseOk(ext)) {
      const raw = toRaw(base.toUpperCase(), ext.toUpperCase());
      if (!taken(raw)) {
        const ntRes = (base !== base.toUpperCase() ? NT_LOWER_BASE : 0) | (ext !== ext.toUpperCase() ? NT_LOWER_EXT : 0);
        return { raw, ntRes, needsLfn: false };
      }
    }
  }
  // Basis name (fatgen103 section 7.4): uppercase, drop spaces and leading dots, map invalid to '_'.
  const clean = (s: string) =>
    [...s.toUpperCase().replace(/ /g, "")]
      .map((c) => (c.charCodeAt(0) < 0x80 ? (isShortChar(c) ? c : c === "." ? "" : "_") : "_"))
      .join("");
  const stripped = name.replace(/^\.+/, "");
  const sdot = stripped.lastIndexOf(".");
  const basis = clean(sdot > 0 ? stripped.slice(0, sdot) : stripped) || "_";
  const basisExt = clean(sdot > 0 ? stripped.slice(sdot + 1) : "").slice(0, 3);
  for (let n = 1; n < 1_000_000; n++) {
    const tail = `~${n}`;
    const raw = toRaw(basis.slice(0, 8 - tail.length) + tail, basisExt);
    if (!taken(raw)) return { raw, ntRes: 0, needsLfn: true };
  }
  throw new FsError("ENOSPC", `no free 8.3 alias for ${name}`);
}

export interface NewEntry {
  longName?: string;
  raw: Uint8Array;
  ntRes: number;
  attr: number;
  firstCluster: number;
  size: number;
  mtime: Date;
}

/** Encodes the LFN slots (if any) followed by the short entry: (LFN count + 1) * 32 bytes. */
export function encodeEntries(e: NewEntry): Uint8Array {
  const lfnCount = e.longName ? Math.ceil(e.longName.length / LFN_CHARS) : 0;
  const out = new Uint8Array((lfnCount + 1) * DIR_ENTRY_SIZE);
  const sum = shortNameChecksum(e.raw);
  for (let k = 0; k < lfnCount; k++) {
    const ord = lfnCount - k; // physical order is last part first
    const o = k * DIR_ENTRY_SIZE;
    out[o] = ord | (k === 0 ? LAST_LONG_ENTRY : 0);
    out[o + 11] = ATTR_LONG_NAME;
    out[o + 13] = sum;
    for (let j = 0; j < LFN_CHARS; j++) {
      const idx = (ord - 1) * LFN_CHARS + j;
      const len = e.longName!.length;
      // NUL-terminated, then padded with 0xFFFF (fatgen103 section 7.1).
      const unit = idx < len ? e.longName!.charCodeAt(idx) : idx === len ? 0 : 0xffff;
      put16(out, o + LFN_OFFSETS[j]!, unit);
    }
  }
  const o = lfnCount * DIR_ENTRY_SIZE;
  writeShortEntry(out, o, e);
  return out;
}

export function writeShortEntry(out: Uint8Array, o: number, e: Omit<NewEntry, "longName">): void {
  out.set(e.raw, o);
  out[o + 11] = e.attr;
  out[o + 12] = e.ntRes;
  const { date, time } = encodeFatTime(e.mtime);
  put16(out, o + 14, time); // creation time
  put16(out, o + 16, date); // creation date
  put16(out, o + 18, date); // last access date
  put16(out, o + 20, (e.firstCluster >>> 16) & 0xffff);
  put16(out, o + 22, time);
  put16(out, o + 24, date);
  put16(out, o + 26, e.firstCluster & 0xffff);
  put32(out, o + 28, e.size);
}

/** The 11-byte name of the "." and ".." entries. */
export function dotName(dots: 1 | 2): Uint8Array {
  return Uint8Array.from(Buffer.from(pad(".".repeat(dots), 11), "latin1"));
}
