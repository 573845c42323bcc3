/**
 * Images laid out as Microsoft's tools write them (src/vhd/microsoft-layout.ts, built from the
 * spec): Virtual PC 2007 ("vpc "), Virtual Server 2005 R2 ("vs  "), Hyper-V on Windows Server
 * 2012 R2 ("win ") and Disk2vhd ("d2v "). For each, the independent readers (qemu-img, libvhdi
 * through vhdiinfo and pyvhdi) must read what we read, `check` must call the file clean (its
 * alignment padding is no leak), and the size every tool shows must follow its own rule:
 * libvhdi the current size, qemu the CHS size for "vpc "/"vs  " and the current size for
 * "win "/"d2v " (block/vpc.c vpc_open), selectable on our side with --size-calc and on qemu's with
 * force_size_calc.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { closeSync, copyFileSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { MICROSOFT_PROFILES, MicrosoftTool, VhdDisk, checkVhd, chsBytes, chsForSectors, decodeFooter, writeMicrosoftVhd } from "../../src/vhd";
import { buildVhdLib, pattern, pyvhdiRead, qemuRaw, qemuVirtualSize, run, tempDir, vhdiinfoMediaSize } from "./helpers";

const t = tempDir("microsoft");
afterAll(t.cleanup);
const f = (name: string) => join(t.dir, name);
const MiB = 1024 * 1024;
/** 24 MiB is no CHS product: the spec's geometry 722/4/17 covers 25,137,152 of its 25,165,824 bytes. */
const SIZE = 24 * MiB;
const CHS_SIZE = chsBytes(chsForSectors(SIZE / 512));
let cli = "";

beforeAll(() => {
  buildVhdLib(join(t.dir, "lib"));
  copyFileSync(join(__dirname, "..", "..", "package.json"), join(t.dir, "lib", "package.json"));
  cli = join(t.dir, "lib", "src", "cli", "vhd.js");
});

function xenlab(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["-e", `require(${JSON.stringify(cli)}).vhdCommand(process.argv.slice(1)).then(c => process.exit(c))`, "--", ...args], { cwd: t.dir, maxBuffer: 64 * MiB });
  return { status: r.status ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** The disk's content: a partial first block (sectors 3..100), all of block 2, and the last 64 KiB, past the CHS size. */
function content(): Buffer {
  const d = Buffer.alloc(SIZE);
  pattern(1, 98 * 512).copy(d, 3 * 512);
  pattern(2, 2 * MiB).copy(d, 4 * MiB);
  pattern(3, 64 * 1024).copy(d, SIZE - 64 * 1024);
  return d;
}
const CONTENT = content();
const fill = (src: Buffer) => (offset: number, out: Buffer) => src.copy(out, 0, offset, offset + out.length);

/** qemu-img convert of `path` to raw with qemu's own size choice, or forced with force_size_calc. */
function qemuRawForced(path: string, calc: "chs" | "current_size"): Buffer {
  const out = f(`qemu-forced-${calc}.raw`);
  run("qemu-img", ["convert", "--image-opts", `driver=vpc,force_size_calc=${calc},file.filename=${path}`, "-O", "raw", out]);
  return readFileSync(out);
}

const QEMU_USES_CURRENT: Record<MicrosoftTool, boolean> = { virtualpc: false, virtualserver: false, hyperv: true, disk2vhd: true };

describe.each(Object.keys(MICROSOFT_PROFILES) as MicrosoftTool[])("a %s image", (tool) => {
  const profile = MICROSOFT_PROFILES[tool];
  for (const type of ["dynamic", "fixed"] as const) {
    it(`${type}: creator ${JSON.stringify(profile.creatorApplication)} on Wi2k, the size asked for with the spec's CHS, and every reader agrees on the bytes`, () => {
      const p = f(`${tool}-${type}.vhd`);
      writeMicrosoftVhd(p, profile, { type, size: SIZE, content: fill(CONTENT) });
      const raw = readFileSync(p);
      const footer = decodeFooter(raw.subarray(raw.length - 512));
      expect(footer.creatorApplication).toBe(profile.creatorApplication);
      expect(footer.creatorHostOs).toBe(0x5769326b); // "Wi2k"
      expect(footer.currentSize).toBe(SIZE);
      expect(footer.geometry).toEqual({ cylinders: 722, heads: 4, sectorsPerTrack: 17 });
      if (type === "fixed") expect(raw.length).toBe(SIZE + 512); // footer only, no copy at 0
      else expect(raw.subarray(0, 512).equals(raw.subarray(raw.length - 512))).toBe(true);

      const report = checkVhd(p);
      expect(report.findings.filter((x) => x.severity !== "warning")).toEqual([]);
      expect(report.result).toBe(0);

      // libvhdi: current size and the same bytes
      expect(vhdiinfoMediaSize(p)).toBe(SIZE);
      const lib = f(`${tool}-${type}.pyvhdi`);
      expect(pyvhdiRead([p], lib).mediaSize).toBe(SIZE);
      expect(readFileSync(lib).equals(CONTENT)).toBe(true);
      const d = VhdDisk.open(p, { readOnly: true });
      const ours = Buffer.alloc(SIZE);
      d.read(0, ours);
      d.close();
      expect(ours.equals(CONTENT)).toBe(true);

      // qemu: its creator rule, and our --size-calc qemu gives the same size and bytes
      const qemuSize = QEMU_USES_CURRENT[tool] ? SIZE : CHS_SIZE;
      expect(qemuVirtualSize(p)).toBe(qemuSize);
      expect(JSON.parse(xenlab(["info", "--output=json", `${tool}-${type}.vhd`]).stdout)["virtual-size"]).toBe(qemuSize);
      const theirs = qemuRaw(p, t.dir);
      expect(theirs.equals(CONTENT.subarray(0, qemuSize))).toBe(true);
      expect(xenlab(["convert", "--size-calc", "qemu", "-O", "raw", `${tool}-${type}.vhd`, "ours-q.raw"]).status).toBe(0);
      expect(readFileSync(f("ours-q.raw")).equals(theirs)).toBe(true);
      // ... and forced both ways, qemu's force_size_calc against our --size-calc
      expect(xenlab(["convert", "--size-calc", "chs", "-O", "raw", `${tool}-${type}.vhd`, "ours-chs.raw"]).status).toBe(0);
      expect(readFileSync(f("ours-chs.raw")).equals(qemuRawForced(p, "chs"))).toBe(true);
      expect(readFileSync(f("ours-chs.raw")).length).toBe(CHS_SIZE);
      expect(xenlab(["convert", "-O", "raw", `${tool}-${type}.vhd`, "ours-cur.raw"]).status).toBe(0);
      expect(readFileSync(f("ours-cur.raw")).equals(qemuRawForced(p, "current_size"))).toBe(true);
      expect(readFileSync(f("ours-cur.raw")).equals(CONTENT)).toBe(true);
      expect(Number(xenlab(["read", "--size-calc", "chs", `${tool}-${type}.vhd`, "0", "512"]).status)).toBe(0);
      expect(xenlab(["read", "--size-calc", "chs", `${tool}-${type}.vhd`, String(SIZE - 512), "512"]).status).toBe(1); // past the CHS size
    });
  }
});

describe("Microsoft's padding is no leak; an interrupted allocation still is", () => {
  const span = 512 + 2 * MiB;

  it("Hyper-V: 4 KiB-aligned block data and 4 KiB of zeros before the footer check clean, and qemu-img writes over that padding", () => {
    const p = f("hv.vhd");
    writeMicrosoftVhd(p, MICROSOFT_PROFILES.hyperv, { type: "dynamic", size: SIZE, content: fill(CONTENT) });
    const d = VhdDisk.open(p, { readOnly: true });
    for (const b of [0, 2, 11]) expect(d.blockDataOffset(b)! % 4096).toBe(0);
    expect(d.footerPosition - (d.blockDataOffset(11)! + 2 * MiB)).toBe(4096);
    d.close();
    const r = checkVhd(p);
    expect(r.result).toBe(0);
    expect(r.leakedBytes).toBe(0);
    expect(r.paddingBytes).toBeGreaterThanOrEqual(4096);
    expect(xenlab(["check", "hv.vhd"]).stdout).toMatch(/bytes of zero padding .*not a leak/);
    // qemu allocates its next block at the end of the last block (vpc_open's free_data_block_offset):
    // the padding was free space to it too. The image stays clean for us and reads back for libvhdi.
    run("qemu-io", ["-f", "vpc", "-c", "write -P 0x5a 8M 4k", p]);
    expect(checkVhd(p).result).toBe(0);
    const expected = Buffer.from(CONTENT);
    expected.fill(0x5a, 8 * MiB, 8 * MiB + 4096);
    expect(pyvhdiRead([p], f("hv.after")).mediaSize).toBe(SIZE);
    expect(readFileSync(f("hv.after")).equals(expected)).toBe(true);
    // our writer on a Microsoft image: clean, and libvhdi reads the write
    const w = VhdDisk.open(p);
    w.write(16 * MiB, pattern(7, 8192));
    w.flush();
    w.close();
    pattern(7, 8192).copy(expected, 16 * MiB);
    expect(checkVhd(p).result).toBe(0);
    pyvhdiRead([p], f("hv.after2"));
    expect(readFileSync(f("hv.after2")).equals(expected)).toBe(true);
  });

  it("Virtual PC 2007: the zero sector after a one-sector BAT is padding (reference §1.1: BAT @1536, footer @2560)", () => {
    const p = f("vpc-empty.vhd");
    writeMicrosoftVhd(p, MICROSOFT_PROFILES.virtualpc, { type: "dynamic", size: 256 * MiB });
    expect(statSync(p).size).toBe(3072);
    const r = checkVhd(p);
    expect([r.result, r.leakedBytes, r.paddingBytes]).toEqual([0, 0, 512]);
    expect(qemuVirtualSize(p)).toBe(268369920); // 520/16/63, as qemu reads the real VPC 2007 file
    expect(vhdiinfoMediaSize(p)).toBe(256 * MiB);
  });

  it("a block's worth of space before the footer is an interrupted allocation: rc 3, repaired without losing a byte", () => {
    const p = f("hv-crash.vhd");
    writeMicrosoftVhd(p, MICROSOFT_PROFILES.hyperv, { type: "dynamic", size: SIZE, content: fill(CONTENT) });
    const size = statSync(p).size;
    const footer = readFileSync(p).subarray(size - 512);
    // what a writer leaves when it dies after moving the footer for a new block (vhd-disk.ts step 1)
    const fd = openSync(p, "r+");
    writeSync(fd, Buffer.alloc(512), 0, 512, size - 512);
    writeSync(fd, footer, 0, 512, size - 512 + span);
    closeSync(fd);
    const r = checkVhd(p);
    expect(r.result).toBe(3);
    expect(r.leakedBytes).toBe(span + 4096); // the new span and the padding before it
    const fixed = checkVhd(p, { repair: true });
    expect([fixed.result, fixed.lost]).toEqual([0, []]);
    pyvhdiRead([p], f("hv-crash.raw"));
    expect(readFileSync(f("hv-crash.raw")).equals(CONTENT)).toBe(true);
  });

  it("non-zero bytes in a gap are a leak even when short", () => {
    const p = f("hv-junk.vhd");
    writeMicrosoftVhd(p, MICROSOFT_PROFILES.hyperv, { type: "dynamic", size: SIZE, content: fill(CONTENT) });
    const d = VhdDisk.open(p, { readOnly: true });
    const at = d.footerPosition - 4096;
    d.close();
    const fd = openSync(p, "r+");
    writeSync(fd, Buffer.from("left by something"), 0, 17, at);
    closeSync(fd);
    expect(checkVhd(p).result).toBe(3);
  });
});

describe("differencing disks as Windows writes them", () => {
  it("W2ku/W2ru in UTF-16LE, the full Windows path in the header, parent time stamp 0: we and libvhdi read the same chain", () => {
    const parent = f("base.vhd");
    writeMicrosoftVhd(parent, MICROSOFT_PROFILES.hyperv, { type: "dynamic", size: SIZE, content: fill(CONTENT) });
    const childData = Buffer.from(CONTENT);
    const written: Array<[number, number]> = [
      [0, 4096],
      [4 * MiB + 512, 4 * MiB + 1536],
      [9 * MiB, 11 * MiB],
    ];
    for (const [s, e] of written) pattern(s + 11, e - s).copy(childData, s);
    for (const tool of ["hyperv", "virtualserver"] as const) {
      const child = f(`${tool}-child.vhd`);
      writeMicrosoftVhd(child, MICROSOFT_PROFILES[tool], { type: "differencing", parentPath: parent, parentWindowsPath: "C:\\VMs\\base.vhd", written, content: fill(childData) });
      const raw = readFileSync(child);
      // the locator data: UTF-16LE paths; the header's name: UTF-16BE
      expect(raw.includes(Buffer.from("C:\\VMs\\base.vhd", "utf16le"))).toBe(true);
      expect(raw.includes(Buffer.from(".\\base.vhd", "utf16le"))).toBe(true);
      const headerName = Buffer.from(tool === "hyperv" ? "C:\\VMs\\base.vhd" : "base.vhd", "utf16le").swap16();
      expect(raw.subarray(512 + 64, 512 + 64 + headerName.length).equals(headerName)).toBe(true);
      const report = checkVhd(child);
      expect(report.findings.filter((x) => x.severity !== "warning")).toEqual([]);
      expect(report.result).toBe(0);
      const d = VhdDisk.open(child, { readOnly: true });
      expect(d.parentFoundBy?.source).toBe("W2ru");
      const ours = Buffer.alloc(SIZE);
      d.read(0, ours);
      d.close();
      expect(ours.equals(childData)).toBe(true);
      const lib = f(`${tool}-child.pyvhdi`);
      pyvhdiRead([child, parent], lib);
      expect(readFileSync(lib).equals(childData)).toBe(true);
      expect(run("vhdiinfo", [child])).toMatch(/Differential/);
    }
  });
});

describe("xenlab vhd create --layout", () => {
  it("writes the tool's layout from the command line, and refuses an unknown tool by name", () => {
    expect(xenlab(["create", "--layout", "hyperv", "cli-hv.vhd", "24M"]).status).toBe(0);
    const raw = readFileSync(f("cli-hv.vhd"));
    expect(decodeFooter(raw.subarray(raw.length - 512)).creatorApplication).toBe("win ");
    expect(qemuVirtualSize(f("cli-hv.vhd"))).toBe(SIZE);
    expect(xenlab(["check", "cli-hv.vhd"]).status).toBe(0);
    const bad = xenlab(["create", "--layout", "vmware", "x.vhd", "24M"]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/unknown creator layout "vmware"/);
    expect(xenlab(["read", "--size-calc", "cylinders", "cli-hv.vhd", "0", "1"]).stderr).toMatch(/--size-calc must be current, chs or qemu, not cylinders/);
    writeFileSync(f("unused"), "");
  });
});
