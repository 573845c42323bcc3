/**
 * LZ4 "legacy" frames, the format the kernel's `lz4 -l` build step writes and libxc's
 * xc_try_lz4_decode reads (Xen's xen/common/lz4/decompress.c, the block format from
 * lz4/doc/lz4_Block_format.md): magic 0x184C2102, then chunks of {u32 compressed size, block},
 * each block a run of sequences: token (literal length << 4 | match length - 4), literals,
 * u16 offset back, extra length bytes of 255 while a nibble is 15. Written here rather than
 * taken from npm because the legacy frame is not what the npm LZ4 packages read, and the block
 * decoder is a few lines.
 */
import { DomainBuildError } from "../errors";

export const LZ4_LEGACY_MAGIC = 0x184c2102;
/** lz4.h LZ4_DECOMPRESS legacy chunk: at most 8 MiB of output per chunk (LEGACY_BLOCKSIZE). */
const LEGACY_BLOCKSIZE = 8 << 20;

function blockInto(src: Uint8Array, start: number, end: number, out: Uint8Array, op: number): number {
  let ip = start;
  const bad = (what: string) => new DomainBuildError(`lz4 payload is corrupt: ${what} at input byte ${ip}`);
  while (ip < end) {
    const token = src[ip++]!;
    let lit = token >> 4;
    if (lit === 15) { let b; do { if (ip >= end) throw bad("literal length runs past the block"); b = src[ip++]!; lit += b; } while (b === 255); }
    if (ip + lit > end) throw bad("literals run past the block");
    if (op + lit > out.length) throw bad("output larger than the size the kernel declares");
    out.set(src.subarray(ip, ip + lit), op);
    ip += lit; op += lit;
    if (ip >= end) break; // the last sequence has literals only
    if (ip + 2 > end) throw bad("match offset runs past the block");
    const off = src[ip]! | (src[ip + 1]! << 8);
    ip += 2;
    if (off === 0 || off > op) throw bad(`match offset ${off}`);
    let len = (token & 15) + 4;
    if ((token & 15) === 15) { let b; do { if (ip >= end) throw bad("match length runs past the block"); b = src[ip++]!; len += b; } while (b === 255); }
    if (op + len > out.length) throw bad("output larger than the size the kernel declares");
    let from = op - off;
    if (off >= len) { out.copyWithin(op, from, from + len); op += len; }
    else for (let i = 0; i < len; i++) out[op++] = out[from++]!; // overlapping copy repeats the pattern
  }
  return op;
}

/** Decodes a legacy frame whose uncompressed size is `size` (the kernel appends it). */
export function lz4LegacyDecode(src: Uint8Array, size: number): Uint8Array {
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  if (src.length < 4 || dv.getUint32(0, true) !== LZ4_LEGACY_MAGIC) throw new DomainBuildError("lz4 payload has no legacy frame magic 0x184C2102");
  const out = new Uint8Array(size);
  let ip = 4, op = 0;
  while (ip + 4 <= src.length && op < size) {
    const n = dv.getUint32(ip, true);
    ip += 4;
    if (n === LZ4_LEGACY_MAGIC) continue; // concatenated frames
    if (n > src.length - ip) throw new DomainBuildError(`lz4 chunk of ${n} bytes at input byte ${ip - 4} runs past the payload`);
    const before = op;
    op = blockInto(src, ip, ip + n, out, op);
    if (op - before > LEGACY_BLOCKSIZE) throw new DomainBuildError(`lz4 chunk at input byte ${ip - 4} expands past the legacy 8 MiB block`);
    ip += n;
  }
  if (op !== size) throw new DomainBuildError(`lz4 payload gave ${op} bytes, the kernel declares ${size}`);
  return out;
}
