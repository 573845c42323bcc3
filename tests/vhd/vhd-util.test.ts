/**
 * vhd-util's query, scan and set (blktap: vhd/lib/vhd-util-query.c, -scan.c, -set-field.c). No
 * vhd-util runs on this machine, so each line is checked twice: its shape is the printf of
 * blktap's source (quoted in the expectations), and its values come from outside our library:
 * the footer's fields read straight from the file's bytes (spec offsets), qemu-img map's
 * allocation, stat's size, realpath, the xattr as Python reads it, vhdiinfo and qemu-img reading
 * the image after a set.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync, realpathSync, statSync, copyFileSync } from "node:fs";
import { join } from "node:path";
import { buildVhdLib, run, runStatus, tempDir, vhdCli } from "./helpers";

const t = tempDir("vhd-util");
afterAll(t.cleanup);
const f = (name: string) => join(t.dir, name);
const MiB = 1024 * 1024;
let xenlab: ReturnType<typeof vhdCli>;

/** The footer as the spec lays it out, read from the last 512 bytes: no library involved. */
function footerBytes(name: string): Buffer {
  const b = readFileSync(f(name));
  return b.subarray(b.length - 512);
}
const currentSize = (name: string) => Number(footerBytes(name).readBigUInt64BE(48));
/** Spec: the checksum is the ones' complement of the sum of the footer's bytes without the checksum field. */
function checksumOk(footer: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < 512; i++) if (i < 64 || i >= 68) sum += footer[i]!;
  return ((~sum) >>> 0) === footer.readUInt32BE(64);
}
/** Allocated 2 MiB blocks as qemu-img map sees them. */
function qemuBlocks(name: string): number {
  const map = JSON.parse(run("qemu-img", ["map", "--output=json", "-f", "vpc", f(name)])) as Array<{ start: number; length: number; data: boolean }>;
  const blocks = new Set<number>();
  for (const e of map) if (e.data) for (let b = Math.floor(e.start / (2 * MiB)); b * 2 * MiB < e.start + e.length; b++) blocks.add(b);
  return blocks.size;
}

beforeAll(() => {
  buildVhdLib(join(t.dir, "lib"));
  xenlab = vhdCli(join(t.dir, "lib"), t.dir);
  run("qemu-img", ["create", "-q", "-f", "vpc", f("base.vhd"), "100M"]);
  run("qemu-io", ["-f", "vpc", "-c", "write -P 1 0 3M", "-c", "write -P 2 40M 4K", f("base.vhd")]);
  run("qemu-img", ["create", "-q", "-f", "vpc", "-o", "subformat=fixed", f("fixed.vhd"), "16M"]);
  expect(xenlab(["snapshot", "base.vhd", "child.vhd"]).status).toBe(0);
  expect(xenlab(["write", "child.vhd", String(10 * MiB)], Buffer.alloc(4096, 9)).status).toBe(0);
  expect(xenlab(["snapshot", "child.vhd", "gc.vhd"]).status).toBe(0);
});

describe("query (vhd-util-query.c)", () => {
  it("-v prints curr_size >> 20; -s the physical utilization; -a the allocated blocks; -S max_bat_size << 1", () => {
    const r = xenlab(["query", "-n", "base.vhd", "-v", "-s", "-a", "-S"]);
    expect(r.status).toBe(0);
    const entries = Math.ceil(currentSize("base.vhd") / (2 * MiB));
    // qemu appends each block and moves the footer after it: the data ends where the footer starts
    expect(r.stdout).toBe(`${Math.floor(currentSize("base.vhd") / MiB)}\n${statSync(f("base.vhd")).size}\n${qemuBlocks("base.vhd")}\n${entries * 2}\n`);
  });

  it("options bundle as getopt allows, and print in the source's order whatever the order given", () => {
    expect(xenlab(["query", "-n", "base.vhd", "-av"]).stdout).toBe(xenlab(["query", "-vn", "base.vhd", "-a"]).stdout);
    expect(xenlab(["query", "-n", "base.vhd", "-av"]).stdout).toBe(`${Math.floor(currentSize("base.vhd") / MiB)}\n${qemuBlocks("base.vhd")}\n`);
  });

  it("a fixed disk: -s is the file's size", () => {
    expect(xenlab(["query", "-n", "fixed.vhd", "-s"]).stdout).toBe(`${statSync(f("fixed.vhd")).size}\n`);
  });

  it("-p prints the parent as a real path; -u as the locator holds it; a disk without one says so", () => {
    expect(xenlab(["query", "-n", "gc.vhd", "-p"]).stdout).toBe(`${realpathSync(f("child.vhd"))}\n`);
    const unresolved = xenlab(["query", "-n", "gc.vhd", "-p", "-u"]).stdout.trim();
    expect(realpathSync(unresolved.startsWith("/") ? unresolved : join(t.dir, unresolved))).toBe(realpathSync(f("child.vhd")));
    expect(xenlab(["query", "-n", "base.vhd", "-p"])).toMatchObject({ status: 0, stdout: "base.vhd has no parent\n" });
  });

  it("-d counts the files of the chain; -f and -m print 'hidden: N' and 'marker: N'", () => {
    expect(xenlab(["query", "-n", "gc.vhd", "-d"]).stdout).toBe("chain depth: 3\n");
    expect(xenlab(["query", "-n", "base.vhd", "-d"]).stdout).toBe("chain depth: 1\n");
    expect(xenlab(["query", "-n", "base.vhd", "-f", "-m"]).stdout).toBe("hidden: 0\nmarker: 0\n");
  });

  it("errors: 'error opening NAME: -2' exit 2 for a missing file, -22 for one that is not a VHD, the usage line and 22 without -n", () => {
    expect(xenlab(["query", "-n", "missing.vhd", "-v"])).toMatchObject({ status: 2, stdout: "error opening missing.vhd: -2\n" });
    expect(xenlab(["query", "-n", "lib/package.json", "-v"])).toMatchObject({ status: 22, stdout: "error opening lib/package.json: -22\n" });
    const u = xenlab(["query", "-v"]);
    expect(u.status).toBe(22);
    expect(u.stdout).toMatch(/^options: <-n name> \[-v print virtual size \(in MB\)\]/);
  });
});

describe("set (vhd-util-set-field.c)", () => {
  it("-f hidden -v 1: footer byte 85, a valid checksum, the copy at 0 the same; vhdiinfo and qemu-img read the same disk", () => {
    copyFileSync(f("base.vhd"), f("hide.vhd"));
    const before = run("qemu-img", ["convert", "-f", "vpc", "-O", "raw", f("hide.vhd"), f("hide-before.raw")]);
    expect(before).toBe("");
    expect(xenlab(["set", "-n", "hide.vhd", "-f", "hidden", "-v", "1"])).toMatchObject({ status: 0, stdout: "" });
    const footer = footerBytes("hide.vhd");
    expect(footer[85]).toBe(1);
    expect(checksumOk(footer)).toBe(true);
    expect(readFileSync(f("hide.vhd")).subarray(0, 512).equals(footer)).toBe(true);
    expect(run("vhdiinfo", [f("hide.vhd")])).toContain("Media size");
    expect(runStatus("qemu-img", ["compare", "-f", "vpc", "-F", "raw", f("hide.vhd"), f("hide-before.raw")]).stdout).toBe("Images are identical.\n");
    expect(xenlab(["query", "-n", "hide.vhd", "-f"]).stdout).toBe("hidden: 1\n");
    expect(xenlab(["check", "hide.vhd"]).status).toBe(0);
  });

  it("-f marker -v 7: the file's user.com.citrix.xenclient.backend.marker xattr, as Python reads it", () => {
    copyFileSync(f("base.vhd"), f("mark.vhd"));
    expect(xenlab(["set", "-n", "mark.vhd", "-f", "marker", "-v", "7"]).status).toBe(0);
    expect(run("python3", ["-c", "import os,sys; print(list(os.getxattr(sys.argv[1], 'user.com.citrix.xenclient.backend.marker')))", f("mark.vhd")]).trim()).toBe("[7]");
    expect(xenlab(["query", "-n", "mark.vhd", "-m"]).stdout).toBe("marker: 7\n");
  });

  it("refuses bad requests with the source's words and exit 22", () => {
    const usage = "options: <-n name> <-f field> <-v value> [-h help]\n";
    expect(xenlab(["set", "-n", "base.vhd", "-f", "colour", "-v", "1"])).toMatchObject({ status: 22, stdout: `invalid field colour\n${usage}` });
    expect(xenlab(["set", "-n", "base.vhd", "-f", "hidden", "-v", "300"])).toMatchObject({ status: 22, stdout: `invalid value 300\n${usage}` });
    expect(xenlab(["set", "-n", "base.vhd", "-f", "hidden"])).toMatchObject({ status: 22, stdout: usage });
  });

  it("-f parent -v FILE (ours, vhd-util modify -p's job) points a child at another parent", () => {
    copyFileSync(f("base.vhd"), f("base-copy.vhd"));
    copyFileSync(f("child.vhd"), f("child-moved.vhd"));
    expect(xenlab(["set", "-n", "child-moved.vhd", "-f", "parent", "-v", "base-copy.vhd"]).status).toBe(0);
    expect(xenlab(["query", "-n", "child-moved.vhd", "-p"]).stdout).toBe(`${realpathSync(f("base-copy.vhd"))}\n`);
  });
});

describe("scan (vhd-util-scan.c)", () => {
  const line = (name: string, parent: string, hidden = 0) => `vhd=${name} capacity=${currentSize(name)} size=${statSync(f(name)).size} hidden=${hidden} parent=${parent}`;

  it("one line per file: capacity = curr_size, size = the file's, parent by base name", () => {
    expect(xenlab(["scan", "base.vhd", "child.vhd", "gc.vhd"])).toMatchObject({
      status: 0,
      stdout: `${line("base.vhd", "none")}\n${line("child.vhd", "base.vhd")}\n${line("gc.vhd", "child.vhd")}\n`,
    });
  });

  it("-a follows parents; -v prints whole paths; -M adds marker= and keyhash=", () => {
    expect(xenlab(["scan", "-a", "gc.vhd"]).stdout).toBe(`${line("gc.vhd", "child.vhd")}\n${line("child.vhd", "base.vhd")}\n${line("base.vhd", "none")}\n`);
    const v = xenlab(["scan", "-v", "gc.vhd"]).stdout;
    expect(v).toBe(`vhd=gc.vhd capacity=${currentSize("gc.vhd")} size=${statSync(f("gc.vhd")).size} hidden=0 parent=${realpathSync(f("child.vhd"))}\n`);
    expect(xenlab(["scan", "-M", "base.vhd"]).stdout).toBe(`vhd=base.vhd capacity=${currentSize("base.vhd")} size=${statSync(f("base.vhd")).size} hidden=0 marker=0 keyhash= parent=none\n`);
  });

  it("-p prints each chain as a tree, children 3 deeper, hidden children after the others", () => {
    copyFileSync(f("base.vhd"), f("tree.vhd"));
    expect(xenlab(["snapshot", "tree.vhd", "a-hidden.vhd"]).status).toBe(0);
    expect(xenlab(["snapshot", "tree.vhd", "b-shown.vhd"]).status).toBe(0);
    expect(xenlab(["snapshot", "b-shown.vhd", "c-leaf.vhd"]).status).toBe(0);
    expect(xenlab(["set", "-n", "a-hidden.vhd", "-f", "hidden", "-v", "1"]).status).toBe(0);
    const r = xenlab(["scan", "-p", "a-hidden.vhd", "b-shown.vhd", "c-leaf.vhd", "tree.vhd"]);
    expect(r.stdout).toBe(
      [line("tree.vhd", "none"), `   ${line("b-shown.vhd", "tree.vhd")}`, `      ${line("c-leaf.vhd", "b-shown.vhd")}`, `   ${line("a-hidden.vhd", "tree.vhd", 1)}`, ""].join("\n"),
    );
    // a parent outside the scan is named so
    expect(xenlab(["scan", "-p", "c-leaf.vhd"]).stdout).toBe(`${line("c-leaf.vhd", "b-shown.vhd")} (not found in scan)\n`);
  });

  it("-m adds a glob's matches (sorted) before the names", () => {
    expect(xenlab(["scan", "-m", join(t.dir, "g*.vhd")]).stdout).toBe(`vhd=gc.vhd capacity=${currentSize("gc.vhd")} size=${statSync(f("gc.vhd")).size} hidden=0 parent=child.vhd\n`);
  });

  it("a missing file stops the scan ('scan failed: -2', exit 2); -c goes on and exits 0; a non-VHD is a scan-error line", () => {
    const r = xenlab(["scan", "missing.vhd", "base.vhd"]);
    expect(r).toMatchObject({ status: 2, stdout: "vhd=missing.vhd scan-error=-2 error-message='failure scanning target'\n" });
    expect(r.stderr).toContain("scan failed: -2. Check syslog for details");
    expect(xenlab(["scan", "-c", "missing.vhd", "base.vhd"])).toMatchObject({ status: 0, stdout: `vhd=missing.vhd scan-error=-2 error-message='failure scanning target'\n${line("base.vhd", "none")}\n` });
    expect(xenlab(["scan", "lib/package.json"])).toMatchObject({ status: 22, stdout: "vhd=lib/package.json scan-error=-22 error-message='opening file'\n" });
  });
});
