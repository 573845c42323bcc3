import { describe, expect, it, afterAll } from "vitest";
import { join } from "node:path";
import { chsForSectors, chsSectors, qemuChsRoundUp, chooseSize } from "../../src/vhd";
import { qemuVirtualSize, run, tempDir } from "./helpers";

describe("CHS geometry (spec appendix algorithm)", () => {
  it("matches the values observed in real files (reference §1.5)", () => {
    expect(chsForSectors((100 * 1024 * 1024) / 512)).toEqual({ cylinders: 1003, heads: 12, sectorsPerTrack: 17 });
    // Virtual PC 2007's 256 MiB disk (CosmosOS hda.vhd) and Windows 10's 4 MiB disk
    expect(chsForSectors((256 * 1024 * 1024) / 512)).toEqual({ cylinders: 520, heads: 16, sectorsPerTrack: 63 });
    expect(chsForSectors((4 * 1024 * 1024) / 512)).toEqual({ cylinders: 120, heads: 4, sectorsPerTrack: 17 });
  });

  it("never exceeds the disk and caps at 65535/16/255", () => {
    for (const mib of [1, 3, 10, 127, 500, 1000, 4000, 33000, 130000, 2000000]) {
      const ts = (mib * 1024 * 1024) / 512;
      const g = chsForSectors(ts);
      expect(chsSectors(g)).toBeLessThanOrEqual(ts);
      expect(g.heads).toBeLessThanOrEqual(16);
      expect(g.cylinders).toBeLessThanOrEqual(65535);
    }
    expect(chsForSectors(2 ** 40)).toEqual({ cylinders: 65535, heads: 16, sectorsPerTrack: 255 });
  });

  const t = tempDir("geom");
  afterAll(t.cleanup);
  it("rounds sizes up exactly as qemu-img create -f vpc does, and keeps them with force_size", () => {
    for (const size of [1024 * 1024, 100 * 1024 * 1024, 100 * 1024 * 1024 + 512, 7 * 1000 * 1000 - 448, 1024 * 1024 * 1024, 3 * 1024 * 1024 * 1024 + 4096]) {
      const f = join(t.dir, `q${size}.vhd`);
      run("qemu-img", ["create", "-q", "-f", "vpc", f, String(size)]);
      expect(qemuChsRoundUp(size).size).toBe(qemuVirtualSize(f));
      expect(chooseSize(size, "chs").size).toBe(qemuVirtualSize(f));
      run("qemu-img", ["create", "-q", "-f", "vpc", "-o", "force_size=on", f, String(size)]);
      expect(chooseSize(size, "exact").size).toBe(qemuVirtualSize(f));
    }
  });
});
