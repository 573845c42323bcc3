/**
 * qemu-img's spelling of VHD output: `convert -O vpc -o subformat=fixed|dynamic,force_size=on|off`
 * and `create -o ...`. The same command line given to qemu-img and to us must make images of the
 * same type and virtual size that qemu reads to the same bytes; block_size (which qemu's vpc
 * driver refuses) is ours, checked through qemu and libvhdi.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildVhdLib, pattern, pyvhdiRead, qemuRaw, run, tempDir } from "./helpers";

const t = tempDir("vpc-options");
afterAll(t.cleanup);
const f = (name: string) => join(t.dir, name);
const MiB = 1024 * 1024;
/** 10 MiB + 512: no CHS product, so force_size decides the size. */
const SIZE = 10 * MiB + 512;
let cli = "";
let input: Buffer;

beforeAll(() => {
  buildVhdLib(join(t.dir, "lib"));
  copyFileSync(join(__dirname, "..", "..", "package.json"), join(t.dir, "lib", "package.json"));
  cli = join(t.dir, "lib", "src", "cli", "vhd.js");
  input = Buffer.alloc(SIZE);
  pattern(5, 3 * MiB).copy(input, MiB);
  pattern(6, 4096).copy(input, SIZE - 4096);
  writeFileSync(f("in.raw"), input);
});

function xenlab(args: string[]): { status: number; stderr: string } {
  const r = spawnSync(process.execPath, ["-e", `require(${JSON.stringify(cli)}).vhdCommand(process.argv.slice(1)).then(c => process.exit(c))`, "--", ...args], { cwd: t.dir, encoding: "utf8" });
  return { status: r.status ?? -1, stderr: r.stderr };
}

const info = (p: string) => JSON.parse(run("qemu-img", ["info", "--output=json", "-f", "vpc", p])) as { "virtual-size": number; "cluster-size"?: number };

describe("-O vpc -o ... as qemu-img takes it", () => {
  for (const o of ["subformat=dynamic", "subformat=fixed", "subformat=dynamic,force_size=on", "subformat=fixed,force_size=on"]) {
    it(`convert -O vpc -o ${o}`, () => {
      run("qemu-img", ["convert", "-f", "raw", "-O", "vpc", "-o", o, f("in.raw"), f("q.vhd")]);
      expect(xenlab(["convert", "-O", "vpc", "-o", o, "in.raw", "x.vhd"]).status).toBe(0);
      const [qi, xi] = [info(f("q.vhd")), info(f("x.vhd"))];
      expect(xi["virtual-size"]).toBe(qi["virtual-size"]);
      expect(xi["cluster-size"]).toBe(qi["cluster-size"]); // absent for fixed on both sides
      expect(qemuRaw(f("x.vhd"), t.dir).equals(qemuRaw(f("q.vhd"), t.dir))).toBe(true);
      expect(qemuRaw(f("x.vhd"), t.dir).subarray(0, SIZE).equals(input)).toBe(true);
    });
  }

  it("create -o subformat=fixed,force_size=on makes what qemu-img create makes", () => {
    run("qemu-img", ["create", "-q", "-f", "vpc", "-o", "subformat=fixed,force_size=on", f("qc.vhd"), String(SIZE)]);
    expect(xenlab(["create", "-f", "vpc", "-o", "subformat=fixed,force_size=on", "xc.vhd", String(SIZE)]).status).toBe(0);
    expect(info(f("xc.vhd"))).toMatchObject({ "virtual-size": info(f("qc.vhd"))["virtual-size"] });
    expect(readFileSync(f("xc.vhd")).length).toBe(readFileSync(f("qc.vhd")).length);
  });

  it("block_size (refused by qemu's vpc driver) makes blocks of that size that qemu and libvhdi read", () => {
    expect(spawnSync("qemu-img", ["convert", "-f", "raw", "-O", "vpc", "-o", "block_size=512K", f("in.raw"), f("qb.vhd")], { encoding: "utf8" }).stderr).toMatch(/Invalid parameter 'block_size'/);
    expect(xenlab(["convert", "-O", "vpc", "-o", "subformat=dynamic,force_size=on,block_size=512K", "in.raw", "xb.vhd"]).status).toBe(0);
    expect(info(f("xb.vhd"))["cluster-size"]).toBe(512 * 1024);
    expect(qemuRaw(f("xb.vhd"), t.dir).equals(input)).toBe(true);
    pyvhdiRead([f("xb.vhd")], f("xb.lib"));
    expect(readFileSync(f("xb.lib")).equals(input)).toBe(true);
  });

  it("an unknown -o parameter is refused by name, as qemu-img does", () => {
    const r = xenlab(["convert", "-O", "vpc", "-o", "foo=1", "in.raw", "y.vhd"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/invalid parameter 'foo'/);
    expect(xenlab(["convert", "-O", "raw", "-o", "subformat=fixed", "in.raw", "y.raw"]).stderr).toMatch(/-o goes with -O vpc/);
  });
});
