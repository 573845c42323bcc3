/**
 * %vhd driven the way a notebook user drives it (cells through the cell runner), with the results
 * checked by qemu-img and by images made with mkfs.vfat/mtools.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cells, CollectedOutputs } from "../support/cells";

const dir = mkdtempSync(join(tmpdir(), "xenlab-vhd-magic-"));
const start = process.cwd();
let cells: Cells;
const cell = (code: string) => cells.run(code);

async function ok(code: string): Promise<CollectedOutputs> {
  const out = await cell(code);
  expect(out.errors, code).toEqual([]);
  return out;
}

const qemuInfo = (file: string) => JSON.parse(execFileSync("qemu-img", ["info", "-f", "vpc", "--output=json", file], { encoding: "utf8" }));

beforeAll(() => {
  process.chdir(dir);
  cells = new Cells();
});
afterAll(() => {
  cells.close();
  process.chdir(start);
});

describe("%vhd", () => {
  it("create makes a dynamic disk qemu-img agrees with, drawn as its layout", async () => {
    const out = await ok("%vhd create -t dynamic longhorn.vhd 64M");
    expect(out.results[0]!["image/svg+xml"]).toContain("<svg");
    const info = qemuInfo(join(dir, "longhorn.vhd"));
    expect(info["virtual-size"]).toBeGreaterThanOrEqual(64 << 20);
    expect(info["format-specific"]?.data?.type ?? "dynamic").toBe("dynamic");
  });

  it("info shows the footer and header fields, matching qemu-img's virtual size", async () => {
    const out = await ok("%vhd info longhorn.vhd");
    const text = out.results[0]!["text/plain"];
    expect(text).toMatch(/type\s+dynamic/);
    expect(text).toMatch(new RegExp(`qemu-img reports\\s+${qemuInfo(join(dir, "longhorn.vhd"))["virtual-size"]} bytes`));
    expect(out.results[0]!["text/html"]).toContain("<table");
  });

  it("snapshot, a write through the child, then map shows which file holds what", async () => {
    await ok("%vhd snapshot longhorn.vhd longhorn-snap.vhd");
    await ok("const snap = VhdDisk.open('longhorn-snap.vhd'); snap.write(2 << 20, new Uint8Array(4096).fill(7)); snap.flush(); snap.close()");
    const text = (await ok("%vhd map longhorn-snap.vhd")).results[0]!["text/plain"];
    expect(text).toMatch(/^2097152\s+\d+\s+.*longhorn-snap\.vhd \(depth 0\)/m);
    expect(text).toContain("(unallocated: reads as zeros)");
  });

  it("check finds a corrupted footer checksum by name, and --repair fixes it", async () => {
    const file = join(dir, "longhorn.vhd");
    const bytes = readFileSync(file);
    bytes[bytes.length - 512 + 64] ^= 0xff; // footer checksum field (offset 64)
    writeFileSync(file, bytes);
    const bad = (await ok("%vhd check longhorn.vhd")).results[0]!["text/plain"];
    expect(bad).toMatch(/ERROR: .*checksum/i);
    const repaired = (await ok("%vhd check --repair longhorn.vhd")).results[0]!["text/plain"];
    expect(repaired).toContain("Repaired:");
    expect((await ok("%vhd check longhorn.vhd")).results[0]!["text/plain"]).toContain("No errors were found on the image.");
    execFileSync("qemu-img", ["info", "-f", "vpc", file]);
  });

  it("convert flattens the chain to raw with a live progress display, byte-identical to qemu-img's view", async () => {
    await ok("%vhd convert -O raw longhorn-snap.vhd flat.raw");
    // qemu-img ignores VHD parents, so compare only what the child stores, plus the zeros around it.
    const flat = readFileSync(join(dir, "flat.raw"));
    expect(flat.subarray(2 << 20, (2 << 20) + 4096).every((b) => b === 7)).toBe(true);
    expect(flat.subarray(0, 2 << 20).every((b) => b === 0)).toBe(true);
    const out = await ok("%vhd convert -O dynamic flat.raw again.vhd");
    expect(out.displays[0]!.id).toBeTruthy();
    const last = out.updates[out.updates.length - 1]!;
    expect(last.id).toBe(out.displays[0]!.id);
    expect(last.bundle["text/plain"]).toContain("— done");
    execFileSync("qemu-img", ["compare", "-f", "raw", "-F", "vpc", join(dir, "flat.raw"), join(dir, "again.vhd")]);
  });

  it("mount looks inside a FAT disk made by mkfs.vfat and mtools, assigned to a variable", async () => {
    const raw = join(dir, "fat.img");
    execFileSync("dd", ["if=/dev/zero", `of=${raw}`, "bs=1M", "count=16"], { stdio: "ignore" });
    execFileSync("mkfs.vfat", ["-n", "LONGHORN", raw], { stdio: "ignore" });
    writeFileSync(join(dir, "boot.ini"), "[boot loader]\ntimeout=30\n");
    execFileSync("mcopy", ["-i", raw, join(dir, "boot.ini"), "::/BOOT.INI"]);
    execFileSync("qemu-img", ["convert", "-O", "vpc", raw, join(dir, "fat.vhd")]);
    const out = await ok("const disk = %vhd mount fat.vhd\ndisk.cat('/BOOT.INI', 'utf8')");
    expect(out.results[0]!["text/plain"]).toContain("timeout=30");
  });

  it("mount DOMAIN:VDEV looks inside the disk a domain has attached, read-only", async () => {
    await ok("host.createLabDomain('fileserver', Uint8Array.from([0xf4]), { paused: true })");
    await ok("%xl block-attach fileserver 'format=vhd, vdev=xvdb, access=rw, target=fat.vhd'");
    const out = await ok("const attached = %vhd mount fileserver:xvdb\nattached.cat('/BOOT.INI', 'utf8')");
    expect(out.text).toContain("timeout=30");
    expect((await cell("attached.copyIn('boot.ini', '/NEW.INI')")).errors[0]!.evalue).toMatch(/read-only|EROFS/i);
    expect((await cell("%vhd mount --rw fileserver:xvdb")).errors[0]!.evalue).toContain("mounts read-only");
    expect((await cell("%vhd mount fileserver:xvdz")).errors[0]!.evalue).toMatch(/xvdz not connected to fileserver/);
  });

  it("names what was wrong: unknown verb, bad option, missing operands, missing file, a corrupt disk", async () => {
    expect((await cell("%vhd frobnicate x")).errors[0]).toMatchObject({ ename: "UsageError", evalue: expect.stringContaining("unknown %vhd verb frobnicate") });
    expect((await cell("%vhd create -z x.vhd 1M")).errors[0]!.evalue).toContain("unknown option -z");
    expect((await cell("%vhd snapshot only-one.vhd")).errors[0]!.evalue).toContain("usage: %vhd snapshot PARENT CHILD");
    expect((await cell("%vhd create -t dynamic x.vhd lots")).errors[0]!.evalue).toContain('invalid size "lots"');
    expect((await cell("%vhd info nowhere.vhd")).errors[0]!.evalue).toMatch(/nowhere\.vhd/);
    writeFileSync(join(dir, "junk.vhd"), Buffer.alloc(4096, 0x41));
    const junk = (await cell("%vhd info junk.vhd")).errors[0]!;
    expect(junk.ename).toBe("VhdFormatError");
  });

  it("completes verbs, then disk files", () => {
    const magic = cells.runner.magics.get("vhd")!;
    expect(magic.complete!("", { scope: {} })).toContain("snapshot");
    expect(magic.complete!("info long", { scope: {} })).toEqual(["longhorn-snap.vhd", "longhorn.vhd"]);
  });
});
