/**
 * `xenlab vhd compare` is qemu-img compare: for each pair of images below, qemu-img compare and
 * ours are run on the same files with the same options, and must print the same lines and exit
 * with the same code (0 identical, 1 different, 2 cannot open). Strict mode (-s) compares qemu's
 * block status, so the pairs include what changes it: unallocated vs zero-written blocks, sparse
 * raw files, fixed VHDs over holes, and the end-of-image flag. Chains, which qemu cannot read (its
 * vpc driver ignores parents), are checked against the raw disk libvhdi reads from the same chain.
 * The snapshot and amend refusals are checked against qemu-img's on the same image.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildVhdLib, pattern, pyvhdiRead, run, runStatus, tempDir, vhdCli } from "./helpers";

const t = tempDir("compare");
afterAll(t.cleanup);
const f = (name: string) => join(t.dir, name);
const MiB = 1024 * 1024;
let xenlab: ReturnType<typeof vhdCli>;

function qemuIo(file: string, fmt: string, ...cmds: string[]): void {
  run("qemu-io", ["-f", fmt, ...cmds.flatMap((c) => ["-c", c]), f(file)]);
}

beforeAll(() => {
  buildVhdLib(join(t.dir, "lib"));
  xenlab = vhdCli(join(t.dir, "lib"), t.dir);
  for (const n of ["empty", "empty2", "one-byte", "zero-block", "last-block", "data"]) run("qemu-img", ["create", "-q", "-f", "vpc", f(`${n}.vhd`), "8M"]);
  qemuIo("one-byte.vhd", "vpc", "write -P 0x11 3000 1");
  qemuIo("zero-block.vhd", "vpc", "write -z 2M 64K");
  qemuIo("zero-block.vhd", "vpc", "write -P 0 2M 64K");
  qemuIo("last-block.vhd", "vpc", "write -P 5 6M 4K");
  qemuIo("data.vhd", "vpc", "write -P 7 1M 1536K", "write -P 9 5M 4K");
  // the same disk as raw (sparse: qemu-img keeps the holes), as a dense raw file, and as a fixed VHD
  run("qemu-img", ["convert", "-f", "vpc", "-O", "raw", f("data.vhd"), f("data.raw")]);
  writeFileSync(f("data-dense.raw"), readFileSync(f("data.raw")));
  run("qemu-img", ["convert", "-f", "vpc", "-O", "vpc", "-o", "subformat=fixed", f("data.vhd"), f("data-fixed.vhd")]);
  // the raw disk with one byte changed at 5 MiB + 1000, and with 1 MiB more of zeros / of a byte
  const raw = readFileSync(f("data.raw"));
  const changed = Buffer.from(raw);
  changed[5 * MiB + 1000] ^= 0xff;
  writeFileSync(f("changed.raw"), changed);
  writeFileSync(f("longer-zeros.raw"), Buffer.concat([raw, Buffer.alloc(MiB)]));
  const longer = Buffer.concat([raw, Buffer.alloc(MiB)]);
  longer[raw.length + 700] = 1;
  writeFileSync(f("longer-byte.raw"), longer);
  writeFileSync(f("odd.raw"), pattern(4, 1000));
  writeFileSync(f("odd-padded.raw"), Buffer.concat([pattern(4, 1000), Buffer.alloc(24)]));
  writeFileSync(f("not-a-vhd"), Buffer.alloc(4096, 0x41));
});

/** qemu-img compare and ours on the same arguments: same stdout, same exit code. */
function same(args: string[]): { status: number; stdout: string } {
  const q = runStatus("qemu-img", ["compare", ...args.map((a) => (a.includes(".") || a.startsWith("not") ? f(a) : a))]);
  const o = xenlab(["compare", ...args]);
  expect({ status: o.status, stdout: o.stdout }).toEqual({ status: q.status, stdout: q.stdout });
  return o;
}

describe("compare answers as qemu-img compare on the same images", () => {
  it("two empty dynamic disks are identical (exit 0)", () => {
    expect(same(["empty.vhd", "empty2.vhd"]).stdout).toBe("Images are identical.\n");
  });

  it("one written byte: the first differing sector is named (exit 1)", () => {
    expect(same(["empty.vhd", "one-byte.vhd"]).stdout).toBe("Content mismatch at offset 2560!\n");
  });

  it("a VHD and the raw disk qemu-img converted from it are identical, sparse or dense; a changed byte is found", () => {
    expect(same(["data.vhd", "data.raw"]).status).toBe(0);
    expect(same(["-f", "vpc", "-F", "raw", "data.vhd", "data-dense.raw"]).status).toBe(0);
    expect(same(["-f", "vpc", "data-fixed.vhd", "data.vhd"]).status).toBe(0);
    expect(same(["data.vhd", "changed.raw"]).stdout).toBe(`Content mismatch at offset ${5 * MiB + 512}!\n`);
    expect(same(["changed.raw", "data.vhd"]).status).toBe(1);
  });

  it("different sizes: a warning, then the larger image's extra part must be zeros", () => {
    expect(same(["data.vhd", "longer-zeros.raw"]).stdout).toBe("Warning: Image size mismatch!\nImages are identical.\n");
    expect(same(["longer-byte.raw", "data.vhd"]).stdout).toMatch(/^Warning: Image size mismatch!\nContent mismatch at offset \d+!\n$/);
  });

  it("a raw file's size counts in whole sectors, as qemu's bdrv_getlength", () => {
    expect(same(["odd.raw", "odd-padded.raw"]).stdout).toBe("Images are identical.\n");
  });

  it("zeros written into a block equal an unallocated block, except in strict mode", () => {
    expect(same(["zero-block.vhd", "empty.vhd"]).status).toBe(0);
    expect(same(["-s", "zero-block.vhd", "empty.vhd"]).stdout).toBe("Strict mode: Offset 0 block status mismatch!\n");
  });

  describe("strict mode (-s) compares qemu's block status", () => {
    const pairs = [
      ["-s", "data.vhd", "data.vhd"],
      ["-s", "empty.vhd", "empty2.vhd"],
      ["-s", "data.vhd", "data.raw"],
      ["-s", "-f", "vpc", "-F", "raw", "data-fixed.vhd", "data.raw"],
      ["-s", "-f", "vpc", "-F", "raw", "data-fixed.vhd", "data-dense.raw"],
      ["-s", "-f", "vpc", "-F", "vpc", "data-fixed.vhd", "data-fixed.vhd"],
      ["-s", "data.raw", "data-dense.raw"],
      ["-s", "data.raw", "data.raw"],
      ["-s", "last-block.vhd", "empty.vhd"],
      ["-s", "data.vhd", "longer-zeros.raw"],
      ["-s", "empty.vhd", "one-byte.vhd"],
    ];
    for (const args of pairs) it(args.join(" "), () => void same(args));
  });

  it("-q prints nothing and keeps the exit code", () => {
    expect(same(["-q", "empty.vhd", "one-byte.vhd"])).toMatchObject({ status: 1, stdout: "" });
  });

  it("an image that cannot be opened is exit 2, naming it", () => {
    expect(same(["missing.vhd", "empty.vhd"]).status).toBe(2);
    expect(same(["-f", "vpc", "not-a-vhd", "empty.vhd"]).status).toBe(2);
    expect(xenlab(["compare", "missing.vhd", "empty.vhd"]).stderr).toContain("Could not open 'missing.vhd'");
  });

  it("-p shows qemu's progress on stdout before the verdict", () => {
    const r = xenlab(["compare", "-p", "data.vhd", "data.raw"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ {4}\(0\.00\/100%\)\r( {4}\(\d+\.00\/100%\)\r)* {4}\(100\.00\/100%\)\r\nImages are identical\.\n$/);
  });
});

describe("compare reads chains (checked against libvhdi's reading of the same chain)", () => {
  beforeAll(() => {
    expect(xenlab(["snapshot", "data.vhd", "child.vhd"]).status).toBe(0);
    expect(xenlab(["write", "child.vhd", String(3 * MiB + 4096)], pattern(8, 8192)).status).toBe(0);
    expect(xenlab(["snapshot", "child.vhd", "grandchild.vhd"]).status).toBe(0);
    expect(xenlab(["write", "grandchild.vhd", String(1 * MiB)], pattern(9, 512)).status).toBe(0);
    pyvhdiRead([f("grandchild.vhd"), f("child.vhd"), f("data.vhd")], f("chain.raw"));
  });

  it("a 3-deep chain equals libvhdi's raw image of it, and differs from its base where qemu-img says the raw images differ", () => {
    expect(xenlab(["compare", "grandchild.vhd", "chain.raw"])).toMatchObject({ status: 0, stdout: "Images are identical.\n" });
    const q = runStatus("qemu-img", ["compare", f("data.raw"), f("chain.raw")]);
    expect(q.status).toBe(1);
    expect(xenlab(["compare", "grandchild.vhd", "data.vhd"])).toMatchObject({ status: 1, stdout: q.stdout });
  });

  it("strict: a block stored in any file of the chain is data", () => {
    // the chain stores blocks 0 and 1 (its children) and 0-2 (the base): the same blocks as the
    // base alone, so strict mode finds equal statuses and goes on to the first differing sector
    const q = runStatus("qemu-img", ["compare", f("data.raw"), f("chain.raw")]);
    expect(xenlab(["compare", "-s", "grandchild.vhd", "data.vhd"])).toMatchObject({ status: 1, stdout: q.stdout });
    // against an empty disk of the same size the first status difference is block 0
    expect(xenlab(["compare", "-s", "grandchild.vhd", "empty.vhd"]).stdout).toBe("Strict mode: Offset 0 block status mismatch!\n");
  });
});

describe("VHD has no internal snapshots and no amendable options: refused as qemu-img refuses them", () => {
  it("snapshot -l lists nothing (exit 0, as qemu-img) and says why on stderr", () => {
    const q = runStatus("qemu-img", ["snapshot", "-l", f("data.vhd")]);
    const o = xenlab(["snapshot", "-l", "data.vhd"]);
    expect({ status: o.status, stdout: o.stdout }).toEqual({ status: q.status, stdout: q.stdout });
    expect(o.stderr).toContain("VHD has no internal snapshots");
  });

  for (const [flag, qemuWords] of [["-c", "Could not create snapshot 's1'"], ["-a", "Could not apply snapshot 's1'"], ["-d", "Could not delete snapshot 's1'"]] as const) {
    it(`snapshot ${flag} s1 fails with qemu-img's exit code and words, and the image is unchanged`, () => {
      const before = readFileSync(f("data.vhd"));
      const q = runStatus("qemu-img", ["snapshot", flag, "s1", f("data.vhd")]);
      const o = xenlab(["snapshot", flag, "s1", "data.vhd"]);
      expect(o.status).toBe(q.status);
      expect(q.stderr).toContain(qemuWords);
      expect(o.stderr).toContain(qemuWords);
      expect(o.stderr).toContain("VHD has no internal snapshots");
      expect(readFileSync(f("data.vhd")).equals(before)).toBe(true);
    });
  }

  it("snapshot on a file that is not a VHD says so, not 'no snapshots'", () => {
    const o = xenlab(["snapshot", "-c", "s1", "not-a-vhd"]);
    expect(o.status).toBe(1);
    expect(o.stderr).not.toContain("no internal snapshots");
  });

  it("amend -o is refused with qemu-img's words, and the reason; without -o, qemu-img's usage error", () => {
    const q = runStatus("qemu-img", ["amend", "-f", "vpc", "-o", "subformat=fixed", f("data.vhd")]);
    const o = xenlab(["amend", "-f", "vpc", "-o", "subformat=fixed", "data.vhd"]);
    expect(o.status).toBe(q.status);
    expect(q.stderr).toContain("Format driver 'vpc' does not support option amendment");
    expect(o.stderr).toContain("Format driver 'vpc' does not support option amendment");
    expect(o.stderr).toContain("convert -O vpc -o subformat=fixed");
    const q2 = runStatus("qemu-img", ["amend", f("data.vhd")]);
    const o2 = xenlab(["amend", "data.vhd"]);
    expect(o2.status).toBe(q2.status);
    expect(o2.stderr).toContain("Must specify options (-o)");
  });

  it("vhd-util's snapshot -n CHILD -p PARENT makes a differencing child libvhdi reads as its parent", () => {
    expect(xenlab(["snapshot", "-n", "util-child.vhd", "-p", "data.vhd"]).status).toBe(0);
    pyvhdiRead([f("util-child.vhd"), f("data.vhd")], f("util-child.raw"));
    expect(readFileSync(f("util-child.raw")).equals(readFileSync(f("data.raw")))).toBe(true);
  });
});
