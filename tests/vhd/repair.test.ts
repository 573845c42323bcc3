/**
 * Repair never discards bytes that are present. The case: a writer (qemu, Windows) extends the
 * file for a new last block and crashes part-way: the block's bitmap and the first part of its
 * data are on disk, its unwritten tail and the footer are gone. `check --repair` must keep the
 * block (zero-filling only what was never there), list exactly the written bytes it could not keep,
 * and leave an image qemu-img reads with the same data.
 */
import { afterAll, describe, expect, it } from "vitest";
import { closeSync, openSync, statSync, truncateSync, writeSync } from "node:fs";
import { join } from "node:path";
import { VhdDisk, checkVhd, createDifferencing, createVhd } from "../../src/vhd";
import { pattern, qemuRaw, runStatus, tempDir } from "./helpers";

const MiB = 1024 * 1024;
const BLOCK = 2 * MiB;
const t = tempDir("repair");
afterAll(() => t.cleanup());

/** A dynamic disk whose block 1 holds `written` bytes of seeded data, cut `cutAt` bytes into that block's data. */
function crashedMidExtend(name: string, written: number, cutAt: number, differencing = false): { path: string; data: Buffer; blockStart: number } {
  const path = join(t.dir, name);
  let d: VhdDisk;
  if (differencing) {
    createVhd(join(t.dir, `${name}.parent`), { size: 8 * MiB, type: "dynamic", blockSize: BLOCK }).close();
    d = createDifferencing(path, join(t.dir, `${name}.parent`));
  } else {
    d = createVhd(path, { size: 8 * MiB, type: "dynamic", blockSize: BLOCK });
  }
  const data = pattern(42 + written, written);
  d.write(BLOCK, data);
  d.flush();
  const blockStart = d.bat[1]! * 512;
  d.close();
  truncateSync(path, blockStart + 512 + cutAt); // bitmap sector + the part of the data that reached the disk
  return { path, data, blockStart };
}

describe("check --repair on a file cut while its last block was being written", () => {
  it("keeps every present sector of the block: nothing written is lost, and qemu-img reads the data", () => {
    const { path, data } = crashedMidExtend("half.vhd", MiB, MiB);
    const before = checkVhd(path);
    expect(before.result).toBe(2);
    expect(before.findings.map((f) => f.message).join("\n")).toMatch(/runs past the end of the file.*1048576 of its 2097152 data bytes are present/);

    const r = checkVhd(path, { repair: true });
    expect(r.lost).toEqual([]);
    expect(r.repairs.join("\n")).toMatch(/kept block 1: zero-filled its missing tail .*\(0 written bytes lost\)/);
    expect(r.repairs.join("\n")).not.toMatch(/cleared BAT entry/);
    expect(r.result).toBe(0);

    const d = VhdDisk.open(path, { readOnly: true });
    const back = Buffer.alloc(MiB);
    d.read(BLOCK, back);
    d.close();
    expect(back.equals(data)).toBe(true);
    // An independent reader agrees (qemu-img cannot `check` vpc images: it exits 63 for the format).
    const raw = qemuRaw(path, t.dir);
    expect(raw.subarray(BLOCK, BLOCK + MiB).equals(data)).toBe(true);
    expect(raw.subarray(BLOCK + MiB, 2 * BLOCK).every((b) => b === 0)).toBe(true);
    expect(runStatus("vhdiinfo", [path]).status).toBe(0);
  });

  it("on a differencing disk, whose bitmap tells written sectors apart, names exactly the written bytes that were cut off, and keeps the rest", () => {
    const { path, data } = crashedMidExtend("cut.vhd", MiB + MiB / 2, MiB + 1000, true);
    const r = checkVhd(path, { repair: true });
    // The cut is 1000 bytes into the 2049th data sector: that sector and all written after it are gone.
    const firstLost = BLOCK + Math.floor((MiB + 1000) / 512) * 512;
    expect(r.lost).toEqual([{ block: 1, offset: firstLost, length: BLOCK + MiB + MiB / 2 - firstLost }]);
    expect(r.repairs.join("\n")).toContain(`disk bytes ${firstLost}..${BLOCK + MiB + MiB / 2}`);
    expect(r.result).toBe(0);
    const raw = qemuRaw(path, t.dir);
    // Everything before the cut is the data that was written, byte for byte.
    expect(raw.subarray(BLOCK, BLOCK + MiB + 1000).equals(data.subarray(0, MiB + 1000))).toBe(true);
    expect(statSync(path).size).toBeGreaterThan(BLOCK);
  });

  it("a block whose bitmap never reached the disk is dropped, and the report says nothing written was present", () => {
    const { path } = crashedMidExtend("nobitmap.vhd", MiB, -512);
    const r = checkVhd(path, { repair: true });
    expect(r.repairs.join("\n")).toMatch(/cleared BAT entry 1/);
    expect(r.result).toBe(0);
  });

  it("a BAT entry pointing into the header is cleared without reading the header's bytes as that block's bitmap", () => {
    const path = join(t.dir, "into-header.vhd");
    const d = createVhd(path, { size: 8 * MiB, type: "dynamic", blockSize: BLOCK });
    d.write(0, pattern(7, 4096));
    d.close();
    const fd = openSync(path, "r+");
    const e = Buffer.alloc(4);
    e.writeUInt32BE(1); // sector 1: the dynamic header
    writeSync(fd, e, 0, 4, 1536 + 4 * 2);
    closeSync(fd);
    const r = checkVhd(path, { repair: true });
    expect(r.repairs.join("\n")).toMatch(/cleared BAT entry 2/);
    expect(r.lost).toEqual([]);
    expect(r.result).toBe(0);
  });
});
