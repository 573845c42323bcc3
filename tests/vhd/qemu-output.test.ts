/**
 * `--output=json` speaks qemu-img's shapes: scripts written for `qemu-img info|map|check
 * --output=json -f vpc` read `xenlab vhd` unchanged. Each case runs both tools on the same file.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { copyFileSync, openSync, readFileSync, statSync, writeSync, closeSync } from "node:fs";
import { join } from "node:path";
import { buildVhdLib, pattern, qemuRaw, runStatus, tempDir } from "./helpers";

const t = tempDir("qemu-output");
afterAll(t.cleanup);
let cli = "";
const MiB = 1024 * 1024;
const f = (name: string) => join(t.dir, name);

beforeAll(() => {
  buildVhdLib(join(t.dir, "lib"));
  copyFileSync(join(__dirname, "..", "..", "package.json"), join(t.dir, "lib", "package.json"));
  cli = join(t.dir, "lib", "src", "cli", "vhd.js");
});

function xenlab(args: string[], input?: Buffer): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["-e", `require(${JSON.stringify(cli)}).vhdCommand(process.argv.slice(1)).then(c => process.exit(c))`, "--", ...args], { cwd: t.dir, input, maxBuffer: 64 * MiB });
  return { status: r.status ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

function qemu(args: string[]): string {
  return execIn(["qemu-img", ...args]);
}

function execIn(cmd: string[]): string {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { cwd: t.dir, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

/** Three images: ours dynamic with data in blocks 0, 1 and 5; ours fixed; qemu-img's dynamic. */
function makeImages(): void {
  expect(xenlab(["create", "-b", "512K", "ours.vhd", "8M"]).status).toBe(0);
  expect(xenlab(["write", "ours.vhd", "100000"], pattern(1, 600 * 1024)).status).toBe(0);
  expect(xenlab(["write", "ours.vhd", String(5 * 512 * 1024 + 4096)], pattern(2, 8192)).status).toBe(0);
  expect(xenlab(["create", "-t", "fixed", "fixed.vhd", "4M"]).status).toBe(0);
  qemu(["create", "-q", "-f", "vpc", "theirs.vhd", "24M"]);
  execIn(["qemu-io", "-f", "vpc", "-c", "write -P 7 3M 64k", "theirs.vhd"]);
}

describe("--output=json in qemu-img's shapes", () => {
  beforeAll(makeImages);

  it("info --output=json equals qemu-img info --output=json -f vpc, field for field", () => {
    for (const name of ["ours.vhd", "fixed.vhd", "theirs.vhd"]) {
      const ours = xenlab(["info", "-f", "vpc", "--output=json", name]);
      expect(ours.status).toBe(0);
      expect(JSON.parse(ours.stdout)).toEqual(JSON.parse(qemu(["info", "--output=json", "-f", "vpc", name])));
    }
  });

  it("info --backing-chain --output=json is qemu's array; a differencing chain lists each parent", () => {
    const one = xenlab(["info", "--backing-chain", "--output", "json", "theirs.vhd"]);
    expect(JSON.parse(one.stdout)).toEqual(JSON.parse(qemu(["info", "--backing-chain", "--output=json", "-f", "vpc", "theirs.vhd"])));
    // qemu's vpc driver refuses differencing disks; each entry still has ImageInfo's fields.
    expect(xenlab(["snapshot", "ours.vhd", "child.vhd"]).status).toBe(0);
    const chain = JSON.parse(xenlab(["info", "--backing-chain", "--output=json", "child.vhd"]).stdout);
    expect(chain).toHaveLength(2);
    expect(chain[0]).toMatchObject({ filename: "child.vhd", format: "vpc", "backing-filename": "ours.vhd", "full-backing-filename": f("ours.vhd"), "backing-filename-format": "vpc" });
    expect(chain[1]).toEqual({ ...JSON.parse(qemu(["info", "--output=json", "-f", "vpc", "ours.vhd"])), filename: f("ours.vhd") });
    expect(chain[0]["virtual-size"]).toBe(chain[1]["virtual-size"]);
  });

  it("map --output=json prints qemu-img map's text byte for byte", () => {
    for (const name of ["ours.vhd", "theirs.vhd"]) {
      const ours = xenlab(["map", "-f", "vpc", "--output=json", name]);
      expect(ours.status).toBe(0);
      expect(ours.stdout).toBe(qemu(["map", "--output=json", "-f", "vpc", name]));
    }
  });

  it("check --output=json uses qemu's ImageCheck fields and exit codes; -f other than vpc is refused", () => {
    // qemu-img check has no vpc checker: its ImageCheck keys come from a qcow2 check here.
    qemu(["create", "-q", "-f", "qcow2", "ref.qcow2", "1M"]);
    const ref = JSON.parse(qemu(["check", "--output=json", "ref.qcow2"]));
    const r = xenlab(["check", "--output=json", "ours.vhd"]);
    expect(r.status).toBe(0);
    const c = JSON.parse(r.stdout);
    for (const k of Object.keys(ref)) expect(typeof c[k], k).toBe(typeof ref[k]);
    expect(c).toMatchObject({ filename: "ours.vhd", format: "vpc", "check-errors": 0, "total-clusters": Math.ceil(JSON.parse(qemu(["info", "--output=json", "-f", "vpc", "ours.vhd"]))["virtual-size"] / (512 * 1024)), "allocated-clusters": 3, "image-end-offset": statSync(f("ours.vhd")).size });
    // Not a VHD: qemu-img check exits 1 (cannot open), and so do we.
    execIn(["sh", "-c", "head -c 4096 /dev/urandom > junk.bin"]);
    expect(runStatus("qemu-img", ["check", "-f", "vpc", f("junk.bin")]).status).toBe(1);
    const j = xenlab(["check", "-f", "vpc", "--output=json", "junk.bin"]);
    expect(j.status).toBe(1);
    expect(JSON.parse(j.stdout)).toEqual({ "check-errors": 1, filename: "junk.bin", format: "vpc" });
    const wrong = xenlab(["info", "-f", "qcow2", "ours.vhd"]);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/-f qcow2: this verb reads VHD images only/);
    expect(xenlab(["check", "--output=yaml", "ours.vhd"]).stderr).toMatch(/--output must be human or json, not yaml/);
  });
});

describe("check -r leaks|all (qemu-img check -r)", () => {
  /** A leak as a crash leaves it: 8 KiB of garbage after the last block, the footer moved past it. */
  function leaky(name: string): void {
    copyFileSync(f("theirs.vhd"), f(name));
    const size = statSync(f(name)).size;
    const footer = readFileSync(f(name)).subarray(size - 512);
    const fd = openSync(f(name), "r+");
    writeSync(fd, pattern(9, 8192), 0, 8192, size - 512);
    writeSync(fd, footer, 0, 512, size - 512 + 8192);
    closeSync(fd);
  }

  it("-r leaks reclaims a leak, reports leaks-fixed, and the disk reads the same to qemu", () => {
    leaky("leak.vhd");
    const before = qemuRaw(f("leak.vhd"), t.dir);
    expect(xenlab(["check", "leak.vhd"]).status).toBe(3);
    const r = xenlab(["check", "-r", "leaks", "--output=json", "leak.vhd"]);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ "check-errors": 0, "leaks-fixed": 1 });
    expect(JSON.parse(r.stdout).leaks).toBeUndefined();
    expect(qemuRaw(f("leak.vhd"), t.dir).equals(before)).toBe(true);
    expect(statSync(f("leak.vhd")).size).toBe(statSync(f("theirs.vhd")).size);
  });

  it("-r leaks leaves a corrupt image untouched and says to use -r all; -r all repairs it", () => {
    leaky("bad.vhd");
    // corrupt the footer copy at offset 0 (one byte of its cookie)
    const fd = openSync(f("bad.vhd"), "r+");
    writeSync(fd, Buffer.from("X"), 0, 1, 0);
    closeSync(fd);
    const bytes = readFileSync(f("bad.vhd"));
    const r = xenlab(["check", "-r", "leaks", "bad.vhd"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/use -r all/);
    expect(readFileSync(f("bad.vhd")).equals(bytes)).toBe(true);
    const all = xenlab(["check", "-r", "all", "--output=json", "bad.vhd"]);
    expect(all.status).toBe(0);
    expect(JSON.parse(all.stdout)).toMatchObject({ "corruptions-fixed": 1, "leaks-fixed": 1 });
    expect(xenlab(["check", "-r", "some", "bad.vhd"]).stderr).toMatch(/-r must be leaks or all, not some/);
    expect(qemuRaw(f("bad.vhd"), t.dir).equals(qemuRaw(f("theirs.vhd"), t.dir))).toBe(true);
  });
});

describe("--version and help", () => {
  it("--version prints package.json's version; every verb's help names -f", () => {
    const v = xenlab(["--version"]);
    expect(v.status).toBe(0);
    expect(v.stdout).toContain(`xenlab vhd version ${JSON.parse(readFileSync(join(__dirname, "..", "..", "package.json"), "utf8")).version}`);
    expect(xenlab(["help"]).stdout).toMatch(/Every verb takes -f vpc/);
    expect(xenlab(["check", "--help"]).stdout).toMatch(/-r leaks\|all/);
    expect(xenlab(["map", "--help"]).stdout).toMatch(/--output=human\|json/);
  });
});
