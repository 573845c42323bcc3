/**
 * `xenlab vhd` verbs run as a user would (a node process, stdin/stdout, exit codes), with results
 * checked by qemu-img, vhdiinfo and pyvhdi.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync, statSync, writeFileSync, openSync, writeSync, closeSync } from "node:fs";
import { join } from "node:path";
import { VhdDisk, createVhd } from "../../src/vhd";
import { buildVhdLib, pattern, pyvhdiRead, qemuRaw, qemuVirtualSize, run, runStatus, tempDir, vhdiinfoMediaSize } from "./helpers";

const t = tempDir("cli");
afterAll(t.cleanup);
let cli = "";
const MiB = 1024 * 1024;

beforeAll(() => {
  buildVhdLib(join(t.dir, "lib"));
  cli = join(t.dir, "lib", "src", "cli", "vhd.js");
});

function xenlab(args: string[], input?: Buffer): { status: number; stdout: string; stderr: string; raw: Buffer } {
  const r = spawnSync(process.execPath, ["-e", `require(${JSON.stringify(cli)}).vhdCommand(process.argv.slice(1)).then(c => process.exit(c))`, "--", ...args], { cwd: t.dir, input, maxBuffer: 64 * MiB });
  return { status: r.status ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString(), raw: r.stdout };
}

const f = (name: string) => join(t.dir, name);

describe("xenlab vhd create / info / snapshot / read / write", () => {
  it("create sizes follow qemu-img (CHS round-up, --force-size exact, K/M/G suffixes)", () => {
    expect(xenlab(["create", "a.vhd", "100M"]).status).toBe(0);
    expect(qemuVirtualSize(f("a.vhd"))).toBe(104865792);
    expect(vhdiinfoMediaSize(f("a.vhd"))).toBe(104865792);
    const fx = xenlab(["create", "-t", "fixed", "--force-size", "b.vhd", "10M"]);
    expect(fx.status).toBe(0);
    expect(qemuVirtualSize(f("b.vhd"))).toBe(10 * MiB);
    expect(statSync(f("b.vhd")).size).toBe(10 * MiB + 512);
    expect(xenlab(["create", "-b", "512K", "c.vhd", "1G"]).status).toBe(0);
    const info = JSON.parse(xenlab(["info", "--json", "c.vhd"]).stdout);
    expect(info.header.blockSize).toBe(512 * 1024);
    expect(info.virtualSize).toBe(qemuVirtualSize(f("c.vhd")));
    expect(xenlab(["create", "-b", "3000", "bad.vhd", "1M"]).status).toBe(1);
    expect(xenlab(["create", "bad.vhd", "12Q"]).stderr).toMatch(/invalid size/);
    expect(xenlab(["frobnicate"]).status).toBe(1);
  });

  it("snapshot, write from stdin, read to stdout; pyvhdi reads the chain the same", () => {
    expect(xenlab(["create", "base.vhd", "16M"]).status).toBe(0);
    const data = pattern(7, 3 * MiB + 100);
    expect(xenlab(["write", "base.vhd", "1M"], data).status).toBe(0);
    expect(xenlab(["snapshot", "base.vhd", "snap.vhd"]).status).toBe(0);
    const over = pattern(8, 5000);
    expect(xenlab(["write", "snap.vhd", "2000000"], over).status).toBe(0);
    const got = xenlab(["read", "snap.vhd", "1M", String(data.length)]).raw;
    const want = Buffer.from(data);
    over.copy(want, 2000000 - MiB);
    expect(got.equals(want)).toBe(true);
    // the parent is untouched
    expect(xenlab(["read", "base.vhd", "1M", String(data.length)]).raw.equals(data)).toBe(true);
    pyvhdiRead([f("snap.vhd"), f("base.vhd")], f("snap.raw"));
    expect(readFileSync(f("snap.raw")).subarray(MiB, MiB + want.length).equals(want)).toBe(true);
    const info = JSON.parse(xenlab(["info", "--json", "snap.vhd"]).stdout);
    expect(info.chain.map((c: { type: string }) => c.type)).toEqual(["differencing", "dynamic"]);
    expect(info.header.parentUniqueId).toBe(info.chain[1].footer.uniqueId);
    expect(info.header.parentLocators.map((l: { platform: string }) => l.platform)).toEqual(["W2ku", "W2ru", "MacX"]);
    expect(xenlab(["info", "snap.vhd"]).stdout).toContain("backing file:");
  });
});

describe("xenlab vhd check exit codes and --repair", () => {
  it("0 on a clean image, 1 when it cannot check", () => {
    createVhd(f("clean.vhd"), { size: 4 * MiB }).close();
    expect(xenlab(["check", "clean.vhd"]).status).toBe(0);
    expect(xenlab(["check", "missing.vhd"]).status).toBe(1);
  });

  it("3 for a leak after an interrupted allocation, repaired to 0 with nothing lost", () => {
    const d = createVhd(f("leak.vhd"), { size: 8 * MiB, sizePolicy: "exact" });
    d.write(0, pattern(9, 4096));
    d.close();
    // simulate a crash after the footer moved for a new block but before its BAT entry
    const size = statSync(f("leak.vhd")).size;
    const footer = readFileSync(f("leak.vhd")).subarray(size - 512);
    const fd = openSync(f("leak.vhd"), "r+");
    writeSync(fd, footer, 0, 512, size - 512 + 512 + 2 * MiB);
    closeSync(fd);
    const r = xenlab(["check", "--json", "leak.vhd"]);
    expect(r.status).toBe(3);
    expect(JSON.parse(r.stdout).leakedBytes).toBe(2 * MiB + 512);
    const fixed = xenlab(["check", "--repair", "leak.vhd"]);
    expect(fixed.stdout).toMatch(/Repaired: moved the footer/);
    expect(fixed.status).toBe(0);
    expect(statSync(f("leak.vhd")).size).toBe(size);
    expect(xenlab(["read", "leak.vhd", "0", "4096"]).raw.equals(pattern(9, 4096))).toBe(true);
  });

  it("2 for a lost primary footer (vhd-util's crash drill), repaired from the copy at offset 0", () => {
    const d = createVhd(f("nofooter.vhd"), { size: 8 * MiB, sizePolicy: "exact" });
    d.write(3 * MiB, pattern(10, 8192));
    d.close();
    const size = statSync(f("nofooter.vhd")).size;
    const fd = openSync(f("nofooter.vhd"), "r+");
    writeSync(fd, Buffer.alloc(512), 0, 512, size - 512);
    closeSync(fd);
    const r = xenlab(["check", "nofooter.vhd"]);
    expect(r.status).toBe(2);
    expect(r.stdout).toMatch(/primary footer cookie/);
    expect(xenlab(["check", "--repair", "nofooter.vhd"]).status).toBe(0);
    expect(qemuRaw(f("nofooter.vhd"), t.dir).subarray(3 * MiB, 3 * MiB + 8192).equals(pattern(10, 8192))).toBe(true);
  });

  it("2 for a BAT entry that clobbers the header; repair clears it", () => {
    const d = createVhd(f("bat.vhd"), { size: 8 * MiB, sizePolicy: "exact" });
    d.write(0, pattern(11, 4096));
    d.write(4 * MiB, pattern(12, 4096));
    d.close();
    const fd = openSync(f("bat.vhd"), "r+");
    const e = Buffer.alloc(4);
    e.writeUInt32BE(1); // sector 1 = the dynamic header
    writeSync(fd, e, 0, 4, 1536 + 4 * 2);
    closeSync(fd);
    const r = xenlab(["check", "--json", "bat.vhd"]);
    expect(r.status).toBe(2);
    const rep = JSON.parse(r.stdout);
    expect(rep.findings.filter((x: { severity: string }) => x.severity === "error")).toEqual([expect.objectContaining({ field: "BAT entry 2", offset: 1536 + 8 })]);
    const fixed = xenlab(["check", "--repair", "bat.vhd"]);
    expect(fixed.stdout).toMatch(/cleared BAT entry 2/);
    expect(fixed.status).toBe(0);
    expect(qemuRaw(f("bat.vhd"), t.dir).subarray(0, 4096).equals(pattern(11, 4096))).toBe(true);
  });
});

describe("xenlab vhd map / convert / compact / resize / coalesce", () => {
  it("map --json agrees with qemu-img map on a dynamic disk", () => {
    run("qemu-img", ["create", "-q", "-f", "vpc", f("m.vhd"), "20M"]);
    run("qemu-io", ["-f", "vpc", "-c", "write -P 1 0 4k", "-c", "write -P 2 6M 3M", "-c", "write -P 3 15M 1k", f("m.vhd")]);
    const ours = JSON.parse(xenlab(["map", "--json", "m.vhd"]).stdout).filter((e: { data: boolean }) => e.data);
    const theirs = JSON.parse(run("qemu-img", ["map", "--output=json", "-f", "vpc", f("m.vhd")])).filter((e: { data: boolean }) => e.data);
    expect(ours.map((e: { start: number; length: number; offset: number }) => [e.start, e.length, e.offset])).toEqual(
      theirs.map((e: { start: number; length: number; offset: number }) => [e.start, e.length, e.offset]),
    );
  });

  it("convert raw -> dynamic -> fixed -> raw round-trips exactly; a chain flattens to what pyvhdi reads", () => {
    const raw = Buffer.alloc(9 * MiB + 512);
    pattern(13, MiB).copy(raw, 0);
    pattern(14, 100).copy(raw, 9 * MiB + 100);
    writeFileSync(f("in.raw"), raw);
    expect(xenlab(["convert", "-O", "dynamic", "in.raw", "c1.vhd"]).status).toBe(0);
    expect(run("qemu-img", ["compare", "-f", "raw", "-F", "vpc", f("in.raw"), f("c1.vhd")])).toContain("identical");
    expect(xenlab(["convert", "-O", "fixed", "c1.vhd", "c2.vhd"]).status).toBe(0);
    expect(vhdiinfoMediaSize(f("c2.vhd"))).toBe(raw.length);
    expect(xenlab(["convert", "-O", "raw", "c2.vhd", "out.raw"]).status).toBe(0);
    expect(readFileSync(f("out.raw")).equals(raw)).toBe(true);
    expect(xenlab(["convert", "-O", "dynamic", "snap.vhd", "flat.vhd"]).status).toBe(0);
    pyvhdiRead([f("flat.vhd")], f("flat.raw"));
    expect(readFileSync(f("flat.raw")).equals(readFileSync(f("snap.raw")))).toBe(true);
  });

  it("compact drops zeroed blocks and keeps data and identity", () => {
    const d = createVhd(f("cmp.vhd"), { size: 16 * MiB });
    d.write(0, pattern(15, 2 * MiB));
    d.write(4 * MiB, pattern(16, 2 * MiB));
    d.write(4 * MiB, Buffer.alloc(2 * MiB));
    d.close();
    const before = JSON.parse(xenlab(["info", "--json", "cmp.vhd"]).stdout);
    const rawBefore = qemuRaw(f("cmp.vhd"), t.dir);
    expect(xenlab(["compact", "cmp.vhd"]).status).toBe(0);
    const after = JSON.parse(xenlab(["info", "--json", "cmp.vhd"]).stdout);
    expect(after.header.allocatedBlocks).toBe(1);
    expect(after.footer.uniqueId).toBe(before.footer.uniqueId);
    expect(after.fileSize).toBeLessThan(before.fileSize);
    expect(qemuRaw(f("cmp.vhd"), t.dir).equals(rawBefore)).toBe(true);
  });

  it("resize grows dynamic and fixed disks (qemu-img sees it), shrinks only with --shrink", () => {
    const d = createVhd(f("rs.vhd"), { size: 10 * MiB, sizePolicy: "exact" });
    d.write(MiB, pattern(17, 4096));
    d.close();
    expect(xenlab(["resize", "rs.vhd", "+90M"]).status).toBe(0);
    expect(qemuVirtualSize(f("rs.vhd"))).toBe(100 * MiB);
    expect(vhdiinfoMediaSize(f("rs.vhd"))).toBe(100 * MiB);
    expect(qemuRaw(f("rs.vhd"), t.dir).subarray(MiB, MiB + 4096).equals(pattern(17, 4096))).toBe(true);
    expect(xenlab(["check", "rs.vhd"]).status).toBe(0);
    expect(xenlab(["resize", "rs.vhd", "5M"]).status).toBe(1);
    expect(xenlab(["resize", "--shrink", "rs.vhd", "5M"]).status).toBe(0);
    expect(qemuVirtualSize(f("rs.vhd"))).toBe(5 * MiB);
    expect(xenlab(["check", "rs.vhd"]).status).toBe(0);
    const fx = createVhd(f("rsf.vhd"), { type: "fixed", size: 4 * MiB, sizePolicy: "exact" });
    fx.write(4 * MiB - 512, Buffer.alloc(512, 0x42));
    fx.close();
    expect(xenlab(["resize", "rsf.vhd", "6M"]).status).toBe(0);
    expect(qemuVirtualSize(f("rsf.vhd"))).toBe(6 * MiB);
    const raw = qemuRaw(f("rsf.vhd"), t.dir);
    expect(raw[4 * MiB - 1]).toBe(0x42);
    expect(raw.subarray(4 * MiB).every((b) => b === 0)).toBe(true);
  });

  it("coalesce merges a child into its parent", () => {
    expect(xenlab(["create", "cp.vhd", "8M"]).status).toBe(0);
    expect(xenlab(["write", "cp.vhd", "0"], pattern(18, 3 * MiB)).status).toBe(0);
    expect(xenlab(["snapshot", "cp.vhd", "cc.vhd"]).status).toBe(0);
    expect(xenlab(["write", "cc.vhd", "1000000"], pattern(19, 70000)).status).toBe(0);
    const child = xenlab(["read", "cc.vhd", "0", String(4 * MiB)]).raw;
    const r = xenlab(["coalesce", "cc.vhd"]);
    expect(r.status).toBe(0);
    const parent = VhdDisk.open(f("cp.vhd"), { readOnly: true });
    const got = Buffer.alloc(4 * MiB);
    parent.read(0, got);
    parent.close();
    expect(got.equals(child)).toBe(true);
    expect(qemuRaw(f("cp.vhd"), t.dir).subarray(0, 4 * MiB).equals(child)).toBe(true);
  });
});

describe("xenlab vhd rebase (XenServer's coalesce-then-reparent)", () => {
  it("merges the middle of a chain into the base, repoints the top, and the top reads the same without the middle", () => {
    expect(xenlab(["create", "g-base.vhd", "8M"]).status).toBe(0);
    expect(xenlab(["write", "g-base.vhd", "0"], pattern(30, 3 * MiB)).status).toBe(0);
    expect(xenlab(["snapshot", "g-base.vhd", "g-mid.vhd"]).status).toBe(0);
    expect(xenlab(["write", "g-mid.vhd", "1M"], pattern(31, MiB)).status).toBe(0);
    expect(xenlab(["snapshot", "g-mid.vhd", "g-top.vhd"]).status).toBe(0);
    expect(xenlab(["write", "g-top.vhd", "1500000"], pattern(32, 100_000)).status).toBe(0);
    const before = xenlab(["read", "g-top.vhd", "0", String(4 * MiB)]).raw;
    expect(xenlab(["coalesce", "g-mid.vhd"]).status).toBe(0);
    const r = xenlab(["rebase", "g-top.vhd", "g-base.vhd"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("g-base.vhd");
    rmSync(f("g-mid.vhd"));
    expect(xenlab(["read", "g-top.vhd", "0", String(4 * MiB)]).raw.equals(before)).toBe(true);
    expect(xenlab(["check", "g-top.vhd"]).status).toBe(0);
    pyvhdiRead([f("g-top.vhd"), f("g-base.vhd")], f("g-top.raw"));
    expect(readFileSync(f("g-top.raw")).subarray(0, 4 * MiB).equals(before)).toBe(true);
    expect(xenlab(["rebase", "g-base.vhd", "g-top.vhd"]).status).toBe(1); // not a differencing disk
  });
});

describe("exit codes and flags as qemu-img users expect", () => {
  it("check exits 1, as qemu-img does for a file it cannot open, for a file that is not a VHD or too small to be one", () => {
    writeFileSync(f("text.vhd"), Buffer.from("not a disk image at all\n".repeat(100)));
    writeFileSync(f("tiny.vhd"), Buffer.alloc(100));
    for (const name of ["text.vhd", "tiny.vhd"]) {
      const ours = xenlab(["check", name]);
      const qemu = spawnSync("qemu-img", ["info", "-f", "vpc", f(name)]);
      expect(qemu.status).toBe(1); // qemu's vpc driver refuses to open it
      expect(ours.status).toBe(1);
      expect(ours.stdout).toMatch(/Could not open .* as a VHD: /);
    }
  });

  it("convert -p shows progress on stdout as qemu-img does, and converts exactly (-p is a flag here, not create's -p PARENT)", () => {
    writeFileSync(f("p.raw"), pattern(21, 4 * MiB));
    const progress = /^ {4}\(0\.00\/100%\)\r( {4}\(\d+\.\d\d\/100%\)\r)* {4}\(100\.00\/100%\)\r\n/;
    const q = runStatus("qemu-img", ["convert", "-p", "-f", "raw", "-O", "vpc", f("p.raw"), f("p-qemu.vhd")]);
    expect(q.stdout).toMatch(progress);
    const r = xenlab(["convert", "-p", "-O", "dynamic", "p.raw", "p.vhd"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(progress);
    expect(qemuRaw(f("p.vhd"), t.dir).equals(readFileSync(f("p.raw")))).toBe(true);
    // create keeps -p PARENT
    expect(xenlab(["create", "-p", "p.vhd", "p-child.vhd"]).status).toBe(0);
    expect(JSON.parse(xenlab(["info", "--json", "p-child.vhd"]).stdout).type).toBe("differencing");
  });
});
