/**
 * A cpio archive in the "newc" format the kernel's initramfs unpacker reads (Linux
 * Documentation/driver-api/early-userspace/buffer-format.rst): per entry a 110-byte ASCII header
 * "070701" + 13 eight-digit hex fields, the NUL-terminated name, padding to 4, the data, padding
 * to 4; the archive ends with an entry named "TRAILER!!!".
 */
export interface CpioEntry {
  name: string; // without a leading "/"
  mode: number; // S_IF* | permissions (stat.h)
  data?: Uint8Array; // file contents, or a symlink's target
  rdev?: { major: number; minor: number };
}

export const S_IFDIR = 0o040000, S_IFREG = 0o100000, S_IFLNK = 0o120000, S_IFCHR = 0o020000;

const pad4 = (n: number) => (4 - (n % 4)) % 4;
const hex8 = (n: number) => (n >>> 0).toString(16).padStart(8, "0");

export function cpioNewc(entries: CpioEntry[]): Uint8Array {
  const parts: Buffer[] = [];
  let ino = 1;
  const put = (e: CpioEntry) => {
    const data = e.data ?? new Uint8Array(0);
    const name = Buffer.from(e.name + "\0", "utf8");
    const fields = [ino++, e.mode, 0, 0, (e.mode & S_IFDIR) === S_IFDIR ? 2 : 1, 0, data.length, 0, 0, e.rdev?.major ?? 0, e.rdev?.minor ?? 0, name.length, 0];
    const header = Buffer.from("070701" + fields.map(hex8).join(""), "ascii");
    parts.push(header, name, Buffer.alloc(pad4(header.length + name.length)), Buffer.from(data), Buffer.alloc(pad4(data.length)));
  };
  for (const e of entries) put(e);
  put({ name: "TRAILER!!!", mode: 0 });
  return new Uint8Array(Buffer.concat(parts));
}
