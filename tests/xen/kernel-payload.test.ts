import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { DomainBuildError } from "../../src/xen/errors";
import { compressionOf, decompressPayload } from "../../src/xen/loader/decompress";
import { vmlinuxOfBzImage } from "../../src/xen/loader/bzimage";

/** Data that compresses (repeats, as code does) but not trivially. */
const sample = (() => {
  const words = Array.from({ length: 64 }, () => randomBytes(1 + (randomBytes(1)[0]! % 24)));
  const parts: Buffer[] = [Buffer.from("\x7fELF", "latin1")];
  for (let i = 0; i < 40_000; i++) parts.push(words[randomBytes(1)[0]! % 64]!);
  return Buffer.concat(parts);
})();

/** Compressed by Debian's tool, then the u32 size the kernel build appends (Makefile.lib size_append). */
function payload(tool: string, args: string[]): Uint8Array {
  const z = execFileSync(tool, args, { input: sample, maxBuffer: 1 << 28 });
  const size = Buffer.alloc(4);
  size.writeUInt32LE(sample.length);
  return new Uint8Array(Buffer.concat([z, size]));
}

describe("kernel payloads decompress as libxc's bzImage loader decompresses them", () => {
  for (const [kind, tool, args] of [
    ["gzip", "gzip", ["-9c"]], ["bzip2", "bzip2", ["-9c"]], ["zstd", "zstd", ["-19", "-c"]], ["lz4", "lz4", ["-l", "-9", "-c"]],
  ] as const) {
    it(`${kind} (compressed by ${tool} ${args.join(" ")}) gives back every byte`, () => {
      const p = payload(tool, [...args]);
      expect(compressionOf(p)).toBe(kind);
      const { data } = decompressPayload(p);
      expect(Buffer.from(data).equals(sample)).toBe(true);
    });
  }

  for (const [kind, tool, args] of [["xz", "xz", ["--check=crc32", "-c"]], ["lzma", "lzma", ["-c"]]] as const) {
    it(`${kind} is recognised and refused by name`, () => {
      expect(() => decompressPayload(payload(tool, [...args]))).toThrow(new RegExp(`${kind}-compressed`));
    });
  }

  it("a truncated lz4 payload is refused with the offset where it ends", () => {
    const p = payload("lz4", ["-l", "-c"]);
    const cut = new Uint8Array([...p.subarray(0, p.length >> 1), ...p.subarray(p.length - 4)]);
    expect(() => decompressPayload(cut)).toThrow(DomainBuildError);
    expect(() => decompressPayload(cut)).toThrow(/lz4/);
  });

  it("a size trailer that disagrees with the stream is refused (corrupt kernel)", () => {
    const p = payload("gzip", ["-c"]);
    new DataView(p.buffer).setUint32(p.length - 4, sample.length + 1, true);
    expect(() => decompressPayload(p)).toThrow(/declares/);
  });

  it("unknown compression is refused naming the bytes it found", () => {
    expect(() => compressionOf(new Uint8Array([1, 2, 3, 4, 5, 6]))).toThrow(/unknown compression \(first bytes 010203040506\)/);
  });

  it("a file that is neither ELF nor bzImage, and a bzImage whose payload runs past its end, are refused", () => {
    expect(() => vmlinuxOfBzImage(new Uint8Array(4096))).toThrow(/neither ELF nor a bzImage/);
    const b = new Uint8Array(4096);
    const dv = new DataView(b.buffer);
    dv.setUint32(0x202, 0x53726448, true); dv.setUint16(0x206, 0x20f, true); b[0x1f1] = 1;
    dv.setUint32(0x248, 16, true); dv.setUint32(0x24c, 1 << 20, true);
    expect(() => vmlinuxOfBzImage(b)).toThrow(/truncated/);
  });
});
