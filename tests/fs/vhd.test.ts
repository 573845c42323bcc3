import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mountDisk, mountImage, MountedDisk, RawImageForTests } from "./fixtures";
import { Entry, fsTree, hostTree, join, makeImage, pattern, run, tempDir, tryRun, writeTree } from "./helpers";

/**
 * The same disks read through src/vhd's VhdDisk: images made by sfdisk/sgdisk, mkfs.vfat/mtools and
 * mke2fs -d, converted by qemu-img to VHD (fixed and dynamic), must list and read exactly as the
 * raw image does and as the source tree is; a FAT write through a dynamic VHD is converted back
 * to raw by qemu-img and checked with mtools and fsck.vfat.
 */
const tmp = tempDir("vhd");
const SRC = join(tmp.dir, "src");
const SECTOR = 512;

const DISKS = ["mbr", "gpt", "ext4"] as const;
const raw = (d: string) => join(tmp.dir, `${d}.img`);
const vhd = (d: string, sub: string) => join(tmp.dir, `${d}-${sub}.vhd`);

beforeAll(() => {
  writeTree(SRC, {
    "boot/grub.cfg": "set timeout=5\n",
    "Long Name Document.txt": pattern(70_000, 5),
    "etc/motd": "XenEnterprise imports Virtual Server 2005 disks\n",
  });
  makeImage(raw("mbr"), 48 * 1024 * 1024);
  run("sfdisk", ["-q", raw("mbr")], "label: dos\nstart=2048,size=16384,type=6,bootable\nstart=18432,type=5\nstart=20480,size=32768,type=83\n");
  run("mkfs.vfat", ["-F", "16", "-s", "1", "--offset", "2048", raw("mbr"), String((16384 * SECTOR) / 1024)]);
  run("mcopy", ["-s", "-i", `${raw("mbr")}@@${2048 * SECTOR}`, join(SRC, "boot"), join(SRC, "etc"), join(SRC, "Long Name Document.txt"), "::/"]);
  run("mke2fs", ["-q", "-F", "-t", "ext4", "-E", `offset=${20480 * SECTOR}`, "-d", SRC, raw("mbr"), `${(32768 * SECTOR) / 1024}k`]);

  makeImage(raw("gpt"), 48 * 1024 * 1024);
  run("sgdisk", ["-n", "1:2048:+24M", "-t", "1:8300", "-c", "1:root", "-n", "2:0:0", "-t", "2:0700", "-c", "2:data", raw("gpt")]);
  const p2 = Number(/^\s*2\s+(\d+)/m.exec(run("sgdisk", ["-p", raw("gpt")]))![1]);
  run("mke2fs", ["-q", "-F", "-t", "ext4", "-E", `offset=${2048 * SECTOR}`, "-d", SRC, raw("gpt"), `${24 * 1024}k`]);
  run("mkfs.vfat", ["-F", "16", "-s", "1", "--offset", String(p2), raw("gpt"), String(((48 * 2048 - 34 - p2) * SECTOR) / 1024 - 1)]);
  run("mcopy", ["-s", "-i", `${raw("gpt")}@@${p2 * SECTOR}`, join(SRC, "etc"), "::/"]);

  makeImage(raw("ext4"), 16 * 1024 * 1024);
  run("mke2fs", ["-q", "-F", "-t", "ext4", "-d", SRC, raw("ext4")]);

  for (const d of DISKS) {
    run("qemu-img", ["convert", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed", raw(d), vhd(d, "fixed")]);
    run("qemu-img", ["convert", "-f", "raw", "-O", "vpc", raw(d), vhd(d, "dynamic")]);
  }
});
afterAll(() => tmp.cleanup());

function everything(disk: MountedDisk): Map<string, Entry> {
  const out = new Map<string, Entry>();
  disk.volumes.forEach((v) => {
    if (!v.fs) return;
    for (const [p, e] of fsTree(v.fs, (q) => q.startsWith("/lost+found"))) out.set(`${v.partition?.index ?? 0}:${p}`, e);
  });
  return out;
}

describe.each(DISKS)("%s disk", (d) => {
  it.each(["fixed", "dynamic"])("reads the same through a %s VHD as through the raw image", (sub) => {
    // qemu probes a fixed VHD as raw, so name the format; qemu must agree the file is a VHD.
    const info = JSON.parse(run("qemu-img", ["info", "-f", "vpc", "--output=json", vhd(d, sub)])) as { format: string; "virtual-size": number };
    expect(info.format).toBe("vpc");
    const viaRaw = mountDisk(RawImageForTests.open(raw(d), { readOnly: true }));
    const viaVhd = mountImage(vhd(d, sub));
    expect(viaVhd.device.constructor.name).toBe("VhdDisk");
    expect(viaVhd.device.size).toBe(info["virtual-size"]);
    expect(viaVhd.table?.partitions).toEqual(viaRaw.table?.partitions);
    const a = everything(viaVhd);
    expect(a.size).toBeGreaterThan(3);
    expect(a).toEqual(everything(viaRaw));
    // and the ext4 filesystem holds exactly the source tree
    const ext = viaVhd.filesystems.find((f) => f.type === "ext4")!;
    const tree = fsTree(ext, (q) => q.startsWith("/lost+found"));
    expect(tree).toEqual(hostTree(SRC));
    viaVhd.close();
  });
});

describe("writing FAT through a dynamic VHD", () => {
  it("is what mtools and fsck.vfat see after qemu-img converts it back to raw", () => {
    const disk = mountImage(vhd("mbr", "dynamic"), { readOnly: false });
    const fat = disk.fs(1);
    fat.mkdir("/Program Files");
    fat.writeFile("/Program Files/Virtual Server 2005.txt", pattern(123_456, 77));
    fat.copyIn(join(SRC, "etc"), "/etc-copy");
    disk.close();
    const back = join(tmp.dir, "back.img");
    run("qemu-img", ["convert", "-f", "vpc", "-O", "raw", vhd("mbr", "dynamic"), back]);
    const mt = (args: string[]) => run(args[0]!, ["-i", `${back}@@${2048 * SECTOR}`, ...args.slice(1)]);
    expect(Buffer.from(execBinary("mtype", ["-i", `${back}@@${2048 * SECTOR}`, "::/Program Files/Virtual Server 2005.txt"])).equals(pattern(123_456, 77))).toBe(true);
    expect(mt(["mtype", "::/etc-copy/motd"])).toBe("XenEnterprise imports Virtual Server 2005 disks\n");
    const part = join(tmp.dir, "back-p1.img");
    run("dd", [`if=${back}`, `of=${part}`, "bs=512", "skip=2048", "count=16384", "status=none"]);
    const fsck = tryRun("fsck.vfat", ["-n", part]);
    expect(fsck.status, fsck.out).toBe(0);
  });
});

function execBinary(cmd: string, args: string[]): Buffer {
  // mtype writes the file's bytes: read them as a buffer, not text
  return execFileSync(cmd, args, { env: { ...process.env, MTOOLS_SKIP_CHECK: "1" }, maxBuffer: 64 * 1024 * 1024 });
}
