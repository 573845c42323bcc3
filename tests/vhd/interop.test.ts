/**
 * Interoperability with independent implementations: qemu-img/qemu-io (Debian qemu-utils) and
 * libvhdi (vhdiinfo, python3-libvhdi).
 */
import { afterAll, describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { VhdDisk, createVhd } from "../../src/vhd";
import { pattern, pyvhdiRead, qemuRaw, qemuVirtualSize, run, tempDir, vhdiinfoMediaSize } from "./helpers";

const t = tempDir("interop");
afterAll(t.cleanup);

function readAll(d: VhdDisk): Buffer {
  const b = Buffer.alloc(d.size);
  d.read(0, b);
  return b;
}

describe("images made by qemu-img and filled by qemu-io read back byte-identical", () => {
  const cases: Array<[string, string, string[]]> = [
    ["dynamic 100M", "100M", ["-o", "subformat=dynamic"]],
    ["fixed 20M", "20M", ["-o", "subformat=fixed"]],
    ["dynamic force_size odd size", String(10 * 1024 * 1024 + 3 * 512), ["-o", "subformat=dynamic,force_size=on"]],
    ["fixed force_size 1 MiB aligned (Azure)", "16M", ["-o", "subformat=fixed,force_size=on"]],
    ["dynamic odd size rounded to CHS", String(7 * 1000 * 1000 - 448), ["-o", "subformat=dynamic"]],
  ];
  for (const [name, size, opts] of cases) {
    it(name, () => {
      const f = join(t.dir, `${name.replace(/\W+/g, "_")}.vhd`);
      run("qemu-img", ["create", "-q", "-f", "vpc", ...opts, f, size]);
      const vsize = qemuVirtualSize(f);
      // writes spanning block boundaries, unaligned, the last sector, and a rewrite of an allocated block
      const writes: Array<[number, number, number]> = [
        [0, 4096, 0xab],
        [2 * 1024 * 1024 - 1024, 8192, 0x5c],
        [vsize - 512, 512, 0xee],
        [3 * 1024 * 1024 + 7, 1000, 0x11],
        [512, 512, 0x22],
      ];
      const cmds = writes.flatMap(([o, l, p]) => ["-c", `write -P 0x${p.toString(16)} ${o} ${l}`]);
      run("qemu-io", ["-f", "vpc", ...cmds, f]);
      const d = VhdDisk.open(f, { readOnly: true });
      expect(d.size).toBe(vsize);
      const ours = readAll(d);
      d.close();
      expect(ours.equals(qemuRaw(f, t.dir))).toBe(true);
      // and independently of qemu's reader: the patterns are where qemu-io put them
      const expected = Buffer.alloc(vsize);
      for (const [o, l, p] of writes) expected.fill(p, o, o + l);
      expect(ours.equals(expected)).toBe(true);
    });
  }

  it("our writes into a qemu-made dynamic disk read back through qemu", () => {
    const f = join(t.dir, "qemu-then-us.vhd");
    run("qemu-img", ["create", "-q", "-f", "vpc", f, "12M"]);
    run("qemu-io", ["-f", "vpc", "-c", "write -P 0x77 1M 64k", f]);
    const d = VhdDisk.open(f);
    const data = pattern(5, 3 * 1024 * 1024 + 1234);
    d.write(100_000, data);
    d.close();
    const raw = qemuRaw(f, t.dir);
    expect(raw.subarray(100_000, 100_000 + data.length).equals(data)).toBe(true);
    expect(raw[99_999]).toBe(0);
  });
});

describe("images we create agree with qemu-img and libvhdi", () => {
  for (const [type, size, policy, bs] of [
    ["dynamic", 100 * 1024 * 1024, "chs", undefined],
    ["dynamic", 33 * 1024 * 1024 + 512, "exact", 512 * 1024],
    ["fixed", 24 * 1024 * 1024, "chs", undefined],
    ["fixed", 5 * 1024 * 1024 + 1536, "exact", undefined],
    ["dynamic", 9 * 1024 * 1024, "exact", 4096],
  ] as const) {
    it(`${type} ${size} bytes, size policy ${policy}${bs ? `, block ${bs}` : ""}`, () => {
      const f = join(t.dir, `ours-${type}-${size}.vhd`);
      const d = createVhd(f, { type, size, sizePolicy: policy, blockSize: bs });
      const model = Buffer.alloc(d.size);
      const data = pattern(size, 2 * 1024 * 1024 + 4096);
      for (const off of [0, 1536, d.size - data.length, Math.floor(d.size / 2 / 512) * 512 + 77]) {
        d.write(off, data);
        data.copy(model, off);
      }
      d.flush();
      d.close();
      expect(qemuVirtualSize(f)).toBe(model.length);
      expect(vhdiinfoMediaSize(f)).toBe(model.length);
      expect(qemuRaw(f, t.dir).equals(model)).toBe(true);
      const out = join(t.dir, "pyvhdi.raw");
      expect(pyvhdiRead([f], out).mediaSize).toBe(model.length);
      expect(readFileSync(out).equals(model)).toBe(true);
      // qemu-img compare against the raw bytes we meant to write
      const raw = join(t.dir, "model.raw");
      writeFileSync(raw, model);
      expect(run("qemu-img", ["compare", "-f", "raw", "-F", "vpc", raw, f])).toContain("identical");
    });
  }
});
