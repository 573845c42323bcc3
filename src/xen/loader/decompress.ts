/**
 * Kernel payload decompression as libxc's bzImage loader does it
 * (tools/libs/guest/xg_dom_bzimageloader.c, xc_dom_try_*_decode): the format is told by the
 * payload's magic bytes, and the uncompressed size is the little-endian u32 the kernel's build
 * appends after the compressed stream (scripts/Makefile.lib size_append).
 *  - gzip: Node's zlib.
 *  - bzip2: seek-bzip (pure JS; Node's zlib has no bzip2).
 *  - zstd: fzstd (pure JS; Node 20's zlib has no zstd).
 *  - lz4 legacy frames: ./lz4 (npm's LZ4 packages read only the newer frame format).
 *  - xz, lzma, lzo: recognised and refused by name (no well-kept pure-JS decoder of the kernel's
 *    variants is vendored yet).
 */
import { gunzipSync } from "node:zlib";
import { decompress as zstdDecompress } from "fzstd";
import Bunzip from "seek-bzip";
import { DomainBuildError } from "../errors";
import { lz4LegacyDecode } from "./lz4";

export type Compression = "gzip" | "bzip2" | "xz" | "lzma" | "lzo" | "lz4" | "zstd" | "none";

const starts = (b: Uint8Array, magic: number[]) => magic.every((m, i) => b[i] === m);

/** The payload's format by its magic (the same tests as xc_dom_try_* in libxc's order). */
export function compressionOf(b: Uint8Array): Compression {
  if (starts(b, [0x1f, 0x8b])) return "gzip";
  if (starts(b, [0x42, 0x5a, 0x68])) return "bzip2"; // "BZh"
  if (starts(b, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return "xz";
  if (starts(b, [0x5d, 0x00, 0x00])) return "lzma";
  if (starts(b, [0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a])) return "lzo";
  if (starts(b, [0x02, 0x21, 0x4c, 0x18])) return "lz4";
  if (starts(b, [0x28, 0xb5, 0x2f, 0xfd])) return "zstd";
  if (starts(b, [0x7f, 0x45, 0x4c, 0x46])) return "none"; // already an ELF
  throw new DomainBuildError(`kernel payload has unknown compression (first bytes ${Buffer.from(b.subarray(0, 6)).toString("hex")}): not gzip, bzip2, xz, lzma, lzo, lz4 or zstd`);
}

/** The payload decompressed; `payload` includes the 4-byte uncompressed size the build appends. */
export function decompressPayload(payload: Uint8Array): { kind: Compression; data: Uint8Array } {
  const kind = compressionOf(payload);
  if (kind === "none") return { kind, data: payload };
  if (payload.length < 8) throw new DomainBuildError(`kernel payload of ${payload.length} bytes is truncated`);
  const size = new DataView(payload.buffer, payload.byteOffset + payload.length - 4, 4).getUint32(0, true);
  const stream = payload.subarray(0, payload.length - 4);
  let data: Uint8Array;
  try {
    switch (kind) {
      case "gzip": data = gunzipSync(stream); break;
      case "bzip2": data = Bunzip.decode(Buffer.from(stream)); break;
      case "zstd": data = zstdDecompress(stream); break;
      case "lz4": data = lz4LegacyDecode(stream, size); break;
      default: throw new DomainBuildError(`kernel payload is ${kind}-compressed, which this builder does not decompress yet (gzip, bzip2, lz4 and zstd are supported): rebuild the kernel with one of them or pass the ELF vmlinux`);
    }
  } catch (e) {
    if (e instanceof DomainBuildError) throw e;
    throw new DomainBuildError(`kernel payload is not valid ${kind}: ${(e as Error).message}`);
  }
  if (data.length !== size) throw new DomainBuildError(`${kind} payload gave ${data.length} bytes, the kernel declares ${size} (truncated or corrupt)`);
  return { kind, data };
}
