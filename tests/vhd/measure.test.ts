/**
 * `xenlab vhd measure`, as qemu-img measure. For raw output qemu-img answers on the same inputs
 * and the two must agree. For VHD output qemu-img refuses ("Block driver 'vpc' does not support
 * size measurement"), so the figures are checked against the files the tools really write:
 * "required" is the size of what qemu-img convert -O vpc and our convert write from that input
 * (or qemu-img create for --size), "fully allocated" the size once qemu-io has written every
 * sector of the virtual disk.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildVhdLib, pattern, pyvhdiRead, qemuVirtualSize, run, runStatus, tempDir, vhdCli } from "./helpers";

const t = tempDir("measure");
afterAll(t.cleanup);
const f = (name: string) => join(t.dir, name);
const MiB = 1024 * 1024;
/** 10 MiB + 512: not a CHS product, so the size rounding of -O vpc shows. */
const SIZE = 10 * MiB + 512;
let xenlab: ReturnType<typeof vhdCli>;

beforeAll(() => {
  buildVhdLib(join(t.dir, "lib"));
  xenlab = vhdCli(join(t.dir, "lib"), t.dir);
  // data in blocks 0-1 (from 1 MiB), a written-but-zero MiB in block 3, a tail 4 KiB in the last block
  const input = Buffer.alloc(SIZE);
  pattern(1, 3 * MiB).copy(input, MiB);
  pattern(2, 4096).copy(input, SIZE - 4096);
  writeFileSync(f("in.raw"), input);
  run("qemu-img", ["create", "-q", "-f", "vpc", f("q-dyn.vhd"), "24M"]);
  run("qemu-io", ["-f", "vpc", "-c", "write -P 7 3M 1M", "-c", "write -P 9 17M 4K", f("q-dyn.vhd")]);
  run("qemu-img", ["create", "-q", "-f", "vpc", "-o", "subformat=fixed", f("q-fixed.vhd"), "8M"]);
  // qemu-img cannot make a vpc child ("Backing file not supported"): ours, read through libvhdi below
  expect(xenlab(["snapshot", "q-dyn.vhd", "child.vhd"]).status).toBe(0);
  expect(xenlab(["write", "child.vhd", String(9 * MiB)], pattern(3, 8192)).status).toBe(0);
});

interface Measured {
  required: number;
  "fully-allocated": number;
}

function ours(args: string[]): Measured {
  const r = xenlab(["measure", "--output=json", ...args]);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as Measured;
}

const size = (p: string) => statSync(p).size;

describe("measure -O raw answers as qemu-img measure on the same input", () => {
  for (const args of [["--size", "1G"], ["--size", "1000"], ["--size", String(SIZE)], ["-f", "raw", "in.raw"], ["-f", "vpc", "q-dyn.vhd"], ["-f", "vpc", "q-fixed.vhd"]]) {
    it(args.join(" "), () => {
      const q = JSON.parse(run("qemu-img", ["measure", "--output=json", "-O", "raw", ...args.map((a) => (a.includes(".") ? f(a) : a))])) as Measured;
      expect(ours(["-O", "raw", ...args])).toEqual(q);
    });
  }

  it("prints qemu-img's human text", () => {
    expect(xenlab(["measure", "--size", "1G"]).stdout).toBe(run("qemu-img", ["measure", "--size", "1G"]));
  });

  it("refuses --size with a file, and neither, with qemu-img's words", () => {
    for (const args of [["--size", "1G", "in.raw"], []]) {
      const q = runStatus("qemu-img", ["measure", ...args.map((a) => (a.includes(".") ? f(a) : a))]);
      const r = xenlab(["measure", ...args]);
      expect(r.status).toBe(1);
      expect(q.status).toBe(1);
      expect(r.stderr).toContain(q.stderr.replace(/^qemu-img: /, "").trim());
    }
  });
});

describe("measure -O vpc gives the sizes of the images the tools write", () => {
  it("qemu-img cannot measure vpc: that is why these are checked against written files", () => {
    expect(runStatus("qemu-img", ["measure", "-O", "vpc", "--size", "1G"]).stderr).toMatch(/does not support size measurement/);
  });

  it("from a raw file: required = what qemu-img convert -O vpc and our convert write; fully allocated = every sector written", () => {
    const m = ours(["-O", "vpc", "in.raw"]);
    run("qemu-img", ["convert", "-f", "raw", "-O", "vpc", f("in.raw"), f("q-out.vhd")]);
    expect(xenlab(["convert", "-O", "vpc", "in.raw", "x-out.vhd"]).status).toBe(0);
    expect(m.required).toBe(size(f("q-out.vhd")));
    expect(m.required).toBe(size(f("x-out.vhd")));
    // the zero MiB and the untouched blocks are not counted: 3 of the 6 blocks hold data
    expect(m.required).toBeLessThan(m["fully-allocated"]);
    const virtual = qemuVirtualSize(f("q-out.vhd"));
    run("qemu-io", ["-f", "vpc", "-c", `write -P 5 0 ${virtual}`, f("q-out.vhd")]);
    expect(m["fully-allocated"]).toBe(size(f("q-out.vhd")));
  });

  it("from a qemu-made dynamic disk (qemu-img convert -O vpc writes the required size)", () => {
    const m = ours(["-O", "vpc", "q-dyn.vhd"]);
    run("qemu-img", ["convert", "-f", "vpc", "-O", "vpc", f("q-dyn.vhd"), f("q-flat.vhd")]);
    expect(xenlab(["convert", "-O", "dynamic", "q-dyn.vhd", "x-flat.vhd"]).status).toBe(0);
    expect(m.required).toBe(size(f("q-flat.vhd")));
    expect(m.required).toBe(size(f("x-flat.vhd")));
    run("qemu-io", ["-f", "vpc", "-c", `write -P 5 0 ${qemuVirtualSize(f("q-flat.vhd"))}`, f("q-flat.vhd")]);
    expect(m["fully-allocated"]).toBe(size(f("q-flat.vhd")));
  });

  it("from a differencing child, flattened: libvhdi's reading of the chain, converted by qemu-img, has the required size", () => {
    const m = ours(["-O", "vpc", "child.vhd"]);
    const raw = ours(["-O", "raw", "child.vhd"]);
    expect(pyvhdiRead([f("child.vhd"), f("q-dyn.vhd")], f("child.lib")).mediaSize).toBe(raw.required);
    run("qemu-img", ["convert", "-f", "raw", "-O", "vpc", f("child.lib"), f("q-child-flat.vhd")]);
    expect(m.required).toBe(size(f("q-child-flat.vhd")));
    expect(xenlab(["convert", "-O", "dynamic", "child.vhd", "x-child-flat.vhd"]).status).toBe(0);
    expect(m.required).toBe(size(f("x-child-flat.vhd")));
  });

  for (const o of ["subformat=dynamic", "subformat=fixed", "subformat=dynamic,force_size=on", "subformat=fixed,force_size=on"]) {
    it(`--size ${SIZE} -o ${o}: what qemu-img create -o ${o} writes, then filled by qemu-io`, () => {
      const m = ours(["-O", "vpc", "-o", o, "--size", String(SIZE)]);
      run("qemu-img", ["create", "-q", "-f", "vpc", "-o", o, f("q-new.vhd"), String(SIZE)]);
      expect(m.required).toBe(size(f("q-new.vhd")));
      run("qemu-io", ["-f", "vpc", "-c", `write -P 5 0 ${qemuVirtualSize(f("q-new.vhd"))}`, f("q-new.vhd")]);
      expect(m["fully-allocated"]).toBe(size(f("q-new.vhd")));
    });
  }

  it("block_size (ours; qemu's vpc has none): our convert writes exactly the required size", () => {
    const m = ours(["-O", "vpc", "-o", "block_size=512K", "in.raw"]);
    expect(xenlab(["convert", "-O", "vpc", "-o", "block_size=512K", "in.raw", "x-512k.vhd"]).status).toBe(0);
    expect(m.required).toBe(size(f("x-512k.vhd")));
    expect(JSON.parse(run("qemu-img", ["info", "--output=json", f("x-512k.vhd")]))["cluster-size"]).toBe(512 * 1024);
  });

  it("-p reports progress on stdout (where qemu-img prints it), ending at 100% before the figures", () => {
    const r = xenlab(["measure", "-p", "-O", "vpc", "in.raw"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ {4}\(\d+\.00\/100%\)\r/);
    expect(r.stdout).toContain("(100.00/100%)\r\nrequired size: ");
  });
});
