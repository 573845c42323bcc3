import { crc32 as zlibCrc32 } from "node:zlib";
import { describe, expect, it } from "vitest";
import { crc32 } from "./fixtures";
import { crc32cRaw } from "../../src/fs/ext/checksum";
import { pattern } from "./helpers";

describe("checksums", () => {
  it("GPT's CRC-32 equals zlib's", () => {
    for (const n of [0, 1, 92, 512, 16384]) {
      const b = pattern(n, n + 1);
      expect(crc32(b)).toBe(zlibCrc32(b));
    }
  });

  it("CRC-32C matches the published check value", () => {
    // RFC 3720 appendix B.4 / the CRC catalogue: CRC-32C("123456789") = 0xE3069283 (with the
    // final inversion that ext4_chksum leaves to its callers).
    expect((crc32cRaw(0xffffffff, Buffer.from("123456789")) ^ 0xffffffff) >>> 0).toBe(0xe3069283);
    // 32 zero bytes: 0x8A9136AA (RFC 3720 B.4)
    expect((crc32cRaw(0xffffffff, new Uint8Array(32)) ^ 0xffffffff) >>> 0).toBe(0x8a9136aa);
  });
});
