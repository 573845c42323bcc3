/**
 * Image locking as qemu does it: OFD locks on bytes 100+perm / 200+perm (block/file-posix.c).
 * Every check here uses two real processes: qemu-io or qemu-img on one side, our CLI or a node
 * process holding a VhdDisk open on the other, and each side must refuse the other as qemu
 * refuses itself, with the holder named on our side.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { buildVhdLib, run, runStatus, tempDir, vhdCli } from "./helpers";

const t = tempDir("lock");
afterAll(t.cleanup);
const f = (name: string) => join(t.dir, name);
let xenlab: ReturnType<typeof vhdCli>;
let lib = "";
let holder: ChildProcess | undefined;

beforeAll(() => {
  lib = buildVhdLib(join(t.dir, "lib"));
  xenlab = vhdCli(join(t.dir, "lib"), t.dir);
});

afterEach(async () => {
  if (!holder) return;
  const h = holder;
  holder = undefined;
  // our holder closes its image and exits when its stdin closes; qemu-io sleeps on: end it (our child, by its pid)
  if (h.spawnfile === "qemu-io") h.kill("SIGTERM");
  else h.stdin?.end();
  await new Promise((r) => h.once("exit", r));
});

function fresh(name: string): string {
  run("qemu-img", ["create", "-q", "-f", "vpc", f(name), "16M"]);
  return f(name);
}

/** Starts a process that keeps `cmd` open until its stdin closes; resolves once it holds the image. */
function hold(cmd: string, args: string[], ready: RegExp | number): Promise<ChildProcess> {
  const p = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
  holder = p;
  return new Promise((resolve, reject) => {
    let out = "";
    const check = () => {
      if (typeof ready !== "number" && ready.test(out)) resolve(p);
    };
    p.stdout!.on("data", (d) => ((out += d), check()));
    p.stderr!.on("data", (d) => (out += d));
    p.once("exit", (c) => reject(new Error(`holder exited ${c}: ${out}`)));
    if (typeof ready === "number") setTimeout(() => resolve(p), ready);
  });
}

/** A node process with the image open through our library, as a writer or a reader. */
function holdOurs(path: string, writable: boolean, forceShare = false): Promise<ChildProcess> {
  const script = `
const v = require(${JSON.stringify(lib)});
const d = v.VhdDisk.open(process.argv[1], { readOnly: ${!writable}, host: v.lockingHost(v.nodeFileHost, { forceShare: ${forceShare} }) });
${writable ? "d.write(0, Buffer.alloc(512, 7)); d.flush();" : ""}
console.log("holding");
process.stdin.on("end", () => { d.close(); process.exit(0); });
process.stdin.resume();`;
  return hold(process.execPath, ["-e", script, path], /holding/);
}

/** qemu-io with the image open (read-write unless -r) for `ms`; /proc/locks shows its bytes while it sleeps. */
function holdQemu(path: string, readOnly: boolean): Promise<ChildProcess> {
  return hold("qemu-io", ["-f", "vpc", ...(readOnly ? ["-r"] : []), "-c", "sleep 20000", path], 700);
}

describe("qemu holding the image: our verbs refuse as qemu-img does, naming the holder", () => {
  it("a qemu-io writer: our write is refused (write lock), info too (shared write lock), info -U reads", async () => {
    const img = fresh("a.vhd");
    const q = await holdQemu(img, false);
    const w = xenlab(["write", img, "0"], Buffer.alloc(512, 1));
    expect(w.status).toBe(1);
    expect(w.stderr).toMatch(/Failed to get "write" lock/);
    expect(w.stderr).toContain(`pid ${q.pid} (qemu-io`);
    expect(w.stderr).toMatch(/Is another process using the image/);
    // qemu-img info is refused the same way, with the same words
    expect(runStatus("qemu-img", ["info", img]).stderr).toMatch(/Failed to get shared "write" lock/);
    expect(xenlab(["info", img]).stderr).toMatch(/Failed to get shared "write" lock/);
    const u = xenlab(["info", "-U", img]);
    expect(u.status).toBe(0);
    expect(u.stdout).toMatch(/virtual size/);
  });

  it("a qemu-io reader: our writer is refused, our reader is not", async () => {
    const img = fresh("b.vhd");
    await holdQemu(img, true);
    expect(xenlab(["write", img, "0"], Buffer.alloc(512, 1)).stderr).toMatch(/Failed to get "write" lock/);
    expect(xenlab(["info", img]).status).toBe(0);
  });
});

describe("our process holding the image: qemu refuses as it refuses itself", () => {
  it("our writer: qemu-io cannot write, qemu-img info needs -U, our second writer is refused naming us", async () => {
    const img = fresh("c.vhd");
    const ours = await holdOurs(img, true);
    const qw = runStatus("qemu-io", ["-f", "vpc", "-c", "write 0 512", img]);
    expect(qw.status).not.toBe(0);
    expect(qw.stderr).toMatch(/Failed to get "write" lock/);
    expect(runStatus("qemu-img", ["info", img]).stderr).toMatch(/Failed to get shared "write" lock/);
    expect(runStatus("qemu-img", ["info", "-U", img]).status).toBe(0);
    const w = xenlab(["write", img, "512"], Buffer.alloc(512, 1));
    expect(w.status).toBe(1);
    expect(w.stderr).toContain(`pid ${ours.pid} (`);
    expect(xenlab(["check", "-U", img]).status).toBe(0);
  });

  it("our reader: qemu-io cannot write, qemu-img info (another reader) can", async () => {
    const img = fresh("d.vhd");
    await holdOurs(img, false);
    expect(runStatus("qemu-io", ["-f", "vpc", "-c", "write 0 512", img]).stderr).toMatch(/Failed to get "write" lock/);
    expect(runStatus("qemu-img", ["info", img]).status).toBe(0);
  });

  it("our -U reader blocks nobody: qemu-io writes beside it", async () => {
    const img = fresh("e.vhd");
    await holdOurs(img, false, true);
    expect(runStatus("qemu-io", ["-f", "vpc", "-c", "write -P 9 0 512", img]).status).toBe(0);
  });

  it("the locks go with the holder: once it exits, qemu-io writes", async () => {
    const img = fresh("g.vhd");
    const ours = await holdOurs(img, true);
    ours.stdin!.end();
    await new Promise((r) => ours.once("exit", r));
    holder = undefined;
    expect(runStatus("qemu-io", ["-f", "vpc", "-c", "write 0 512", img]).status).toBe(0);
  });
});

describe("an image in use is never emptied", () => {
  it("convert onto an image qemu-io has open is refused before truncating it", async () => {
    const img = fresh("h.vhd");
    run("qemu-io", ["-f", "vpc", "-c", "write -P 5 0 1M", img]);
    const before = readFileSync(img);
    run("qemu-img", ["create", "-q", "-f", "raw", f("src.raw"), "4M"]);
    await holdQemu(img, false);
    for (const to of ["dynamic", "raw", "fixed"]) {
      const r = xenlab(["convert", "-O", to, "src.raw", img]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/Failed to get "write" lock/);
      expect(readFileSync(img).equals(before)).toBe(true);
    }
  });

  it("-U is for reading: a repair with -U is refused, as qemu's force-share is for read-only opens", () => {
    const img = fresh("i.vhd");
    const r = xenlab(["check", "-U", "-r", "all", img]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/force-share=on can only be used with read-only images/);
    expect(runStatus("qemu-img", ["check", "-U", "-r", "all", img]).stderr).toMatch(/force-share=on can only be used with read-only images/);
  });
});
