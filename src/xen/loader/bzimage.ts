/**
 * The x86 boot protocol's bzImage (Linux Documentation/arch/x86/boot.rst, "The real-mode kernel
 * header"): the setup header at 0x1f1 ("HdrS" at 0x202, protocol version at 0x206), the
 * protected-mode code after (setup_sects + 1) sectors, and since protocol 2.08 payload_offset and
 * payload_length (0x248, 0x24c) locating the compressed ELF vmlinux inside it. libxc's
 * xc_dom_probe_bzimage_kernel checks the same fields and decompresses that payload.
 */
import { DomainBuildError } from "../errors";
import { decompressPayload, type Compression } from "./decompress";

const HDRS = 0x53726448; // "HdrS"
const OFF = { setup_sects: 0x1f1, header: 0x202, version: 0x206, payload_offset: 0x248, payload_length: 0x24c } as const;

export const isBzImage = (b: Uint8Array): boolean =>
  b.length >= 0x250 && new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(OFF.header, true) === HDRS;

/** The ELF vmlinux inside a bzImage, and how it was compressed. */
export function vmlinuxOfBzImage(b: Uint8Array): { elf: Uint8Array; compression: Compression; protocol: number } {
  if (!isBzImage(b)) throw new DomainBuildError("kernel is neither ELF nor a bzImage (no \"HdrS\" boot header at 0x202)");
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const protocol = dv.getUint16(OFF.version, true);
  if (protocol < 0x208) throw new DomainBuildError(`bzImage boot protocol ${protocol >> 8}.${(protocol & 0xff).toString().padStart(2, "0")} has no payload fields (needs 2.08 or later)`);
  const setupSects = b[OFF.setup_sects] || 4; // boot.rst: 0 means 4
  const start = (setupSects + 1) * 512 + dv.getUint32(OFF.payload_offset, true);
  const len = dv.getUint32(OFF.payload_length, true);
  if (start + len > b.length) throw new DomainBuildError(`bzImage is truncated: its payload (${len} bytes at ${start}) runs past the file's ${b.length} bytes`);
  const { kind, data } = decompressPayload(b.subarray(start, start + len));
  if (!(data[0] === 0x7f && data[1] === 0x45 && data[2] === 0x4c && data[3] === 0x46)) throw new DomainBuildError(`bzImage payload (${kind}) is not an ELF vmlinux`);
  return { elf: data, compression: kind, protocol };
}
