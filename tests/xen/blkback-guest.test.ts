/**
 * The blkfront C guest (tests/guests/blkfront-guest.c, gcc + libxen-dev) against the host's blkback:
 * the xenbus handshake seen from XenStore, reads checked against the image's bytes, a write and a
 * flush checked afterwards with qemu-img (the independent reader), read-only access enforced, the
 * ring stepped by hand with the grant flags Xen shows, and block-detach closing both ends.
 */
import { grantRef, port } from "../../src/xen/types";
import { beforeAll, describe, expect, it } from "vitest";
import { copyFileSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { XenHost } from "../../src/xen/host";
import type { Domain } from "../../src/xen/domain";
import { attachDisk, listDisks, runBlockXl, ringSnapshot, Vbd, XenbusState } from "../../src/xen/blkback";
import { buildBlkfrontGuest, expectedWrittenSector, fnv64, makeImages, qemuRaw, tmpDir } from "./blkback-helpers";

const SIZE = 4 << 20;
let img: ReturnType<typeof makeImages>;
let dir: string;

const cfg = (name: string, cmdline: string) => `name = "${name}"\ntype = "pvh"\nkernel = "${buildBlkfrontGuest()}"\nmemory = 16\ncmdline = "${cmdline}"`;

/** Creates the guest paused, attaches the disk, records both ends' states, runs. */
function boot(host: XenHost, name: string, cmdline: string, spec: string, opts: { autoServe?: boolean; run?: boolean } = {}) {
  const d = host.createDomain(cfg(name, cmdline), { paused: true });
  const vbd = attachDisk(host, d, spec, { autoServe: opts.autoServe });
  const states = { fe: [] as string[], be: [] as string[] };
  host.xenstore.watch(`${vbd.frontendPath}/state`, `t-fe-${name}`, -1, () => { try { states.fe.push(host.xenstore.read(`${vbd.frontendPath}/state`)); } catch { states.fe.push("gone"); } });
  host.xenstore.watch(`${vbd.backendPath}/state`, `t-be-${name}`, -1, () => { try { states.be.push(host.xenstore.read(`${vbd.backendPath}/state`)); } catch { states.be.push("gone"); } });
  host.unpause(d);
  if (opts.run !== false) host.run({ ns: 500e6, until: () => !host.domains.has(d.domid) });
  return { d, vbd, states };
}

beforeAll(() => {
  dir = tmpDir();
  img = makeImages(dir, SIZE);
});

describe("blkfront on a dynamic VHD made by qemu-img", () => {
  let d: Domain, vbd: Vbd, states: { fe: string[]; be: string[] };
  let host: XenHost;
  beforeAll(() => {
    host = new XenHost({ pcpus: 2, memoryMiB: 256 });
    const path = join(dir, "rw-dynamic.vhd");
    copyFileSync(img.dynamic, path);
    ({ d, vbd, states } = boot(host, "rw", "mode=check write=77", `format=vhd, vdev=xvda, access=rw, target=${path}`));
  });

  it("goes through the xenbus handshake: backend 1→2→4, frontend 1→3→4, then both close when the domain goes", () => {
    expect(d.consoleLog).toContain(`blkfront: vbd 51712 backend /local/domain/0/backend/qdisk/${d.domid}/51712 (d0) state 2\n`);
    expect(d.consoleLog).toContain(`blkfront: connected ring-ref 8 evtchn 3: sectors ${SIZE / 512} sector-size 512 info 0 flush 1 (backend state 4)\n`);
    // (the backend had probed to InitWait before the test's watch fired for the first time)
    expect(states.be.slice(0, 4)).toEqual(["2", "4", "6", "gone"]);
    expect(new Set(states.be.slice(3))).toEqual(new Set(["gone"])); // empty parents removed too
    expect(states.fe.slice(0, 3)).toEqual(["1", "3", "4"]);
    // powered off → destroyed: the frontend dir went, the backend closed and libxl removed both
    expect(vbd.removed).toBe(true);
    expect(host.xenstore.exists(vbd.backendPath)).toBe(false);
  });

  it("reads sectors 0-15 in one two-segment request: the bytes of the image", () => {
    expect(d.consoleLog).toContain(`read sectors 0-15: status 0 fnv ${fnv64(img.bytes.subarray(0, 8192))} first bytes ${[0, 1, 510, 511].map((i) => img.bytes[i]!.toString(16)).join(" ")}\n`);
  });

  it("honours first_sect/last_sect: sector 3 lands at sector 5 of the page and nothing else changes", () => {
    expect(d.consoleLog).toContain(`read sector 3 into page sector 5: status 0 fnv ${fnv64(img.bytes.subarray(3 * 512, 4 * 512))} untouched-before ee untouched-after ee\n`);
  });

  it("the backend's write journal: sector 77 as qemu-img reads it is what the frontend wrote through the ring; a sector it never wrote, or one byte edited in, is not", () => {
    const after = qemuRaw(join(dir, "rw-dynamic.vhd"), "vpc");
    const s77 = after.subarray(77 * 512, 78 * 512);
    expect(vbd.frontendWrote(77 * 512, s77)).toBe(true);
    expect(vbd.frontendWrote(76 * 512, after.subarray(76 * 512, 77 * 512))).toBe(false);
    const edited = new Uint8Array(s77);
    edited[100] ^= 1;
    expect(vbd.frontendWrote(77 * 512, edited)).toBe(false);
    expect(vbd.frontendWrote(77 * 512 + 1, s77)).toBe(false); // not sector-aligned
    // The record is not a field a notebook cell could reach and rewrite.
    expect(Object.keys(vbd).some((k) => /journal/i.test(k))).toBe(false);
  });

  it("answers BLKIF_RSP_ERROR past the end and BLKIF_RSP_EOPNOTSUPP for a write barrier", () => {
    expect(d.consoleLog).toContain("read past the end: status -1\n");
    expect(d.consoleLog).toContain("write barrier: status -2\n");
  });

  it("writes a sector and flushes; qemu-img sees exactly that sector changed", () => {
    expect(d.consoleLog).toContain("write sector 77: status 0, flush: status 0\n");
    expect(d.consoleLog).toContain("read back sector 77: status 0 same\n");
    const after = qemuRaw(join(dir, "rw-dynamic.vhd"), "vpc");
    expect(after.length).toBe(SIZE);
    const want = new Uint8Array(img.bytes);
    want.set(expectedWrittenSector(77), 77 * 512);
    expect(Buffer.from(after.subarray(77 * 512, 78 * 512)).equals(Buffer.from(want.subarray(77 * 512, 78 * 512)))).toBe(true);
    expect(Buffer.from(after).equals(Buffer.from(want))).toBe(true);
  });

  it("notifications follow req_event/rsp_event: one kick per push, one notify for the first answer only", () => {
    expect(d.consoleLog).toContain("grants busy at end of access: 0, notifies sent 7, responses 7\n");
    expect(vbd.stats).toMatchObject({ requests: 7, reads: 4, writes: 1, flushes: 1, errors: 1, unsupported: 1, kicks: 7, bytesRead: 9216, bytesWritten: 512 });
    // The guest picks each answer up before it re-arms rsp_event (no RING_FINAL_CHECK needed),
    // so only the first answer (rsp_event = 1 from SHARED_RING_INIT) asked for an event.
    expect(vbd.stats.notifies).toBe(1);
  });
});

describe("legacy specs, read-only access, raw images", () => {
  it("'tap:vhd:…,xvdb,r' on a fixed VHD: reads work, writes and flushes get BLKIF_RSP_ERROR, the file is unchanged", () => {
    const host = new XenHost({ pcpus: 1, memoryMiB: 128 });
    const path = join(dir, "ro-fixed.vhd");
    copyFileSync(img.fixed, path);
    const { d, vbd } = boot(host, "ro", "mode=ro write=5", `tap:vhd:${path},xvdb,r`);
    expect(d.consoleLog).toContain(`sectors ${SIZE / 512} sector-size 512 info 4 flush 1`);
    expect(d.consoleLog).toContain(`read sectors 0-15: status 0 fnv ${fnv64(img.bytes.subarray(0, 8192))}`);
    expect(d.consoleLog).toContain("write sector 5: status -1, flush: status -1\n");
    expect(d.consoleLog).toContain("read back sector 5: status 0 different\n");
    expect(vbd.lastError).toBeDefined();
    expect(Buffer.from(qemuRaw(path, "vpc")).equals(Buffer.from(img.bytes))).toBe(true);
  });

  it("'file:disk.raw,xvda,w' serves the raw file through phy", () => {
    const host = new XenHost({ pcpus: 1, memoryMiB: 128 });
    const path = join(dir, "rw.raw");
    copyFileSync(img.raw, path);
    const { d } = boot(host, "raw", "mode=check write=4000", `file:${path},xvda,w`);
    expect(d.consoleLog).toContain(`blkfront: vbd 51712 backend /local/domain/0/backend/vbd/${d.domid}/51712 (d0) state 2`);
    expect(d.consoleLog).toContain("write sector 4000: status 0, flush: status 0\n");
    const want = new Uint8Array(img.bytes);
    want.set(expectedWrittenSector(4000), 4000 * 512);
    expect(Buffer.from(qemuRaw(path, "raw")).equals(Buffer.from(want))).toBe(true);
  });
});

describe("stepping the ring by hand", () => {
  it("shows the request posted, then in flight with its grants mapped (GTF_reading|GTF_writing), then answered", () => {
    const host = new XenHost({ pcpus: 1, memoryMiB: 128 });
    const { d, vbd } = boot(host, "step", "mode=check write=9", `format=vhd, vdev=xvda, access=ro, target=${img.dynamic}`, { autoServe: false, run: false });
    host.run({ ns: 200e6, until: () => vbd.pendingKick });
    expect(vbd.pendingKick).toBe(true);
    let snap = ringSnapshot(vbd)!;
    expect(snap).toMatchObject({ reqProd: 1, reqCons: 0, rspProd: 0, rspProdPvt: 0 });
    expect(snap.slots[0]).toMatchObject({ state: "posted", op: "READ", sector: 0n, sectors: 16 });
    // The guest waits: nothing happens however long it runs.
    host.run({ ns: 20e6 });
    expect(d.consoleLog).not.toContain("read sectors 0-15");
    const [f] = vbd.take(1);
    expect(f!.req.segments.map((s) => s.gref)).toEqual([9, 10]);
    expect(d.gnttab.entry(grantRef(9))!.flags).toBe(0x19); // permit_access | reading | writing: a writable map for a READ
    snap = ringSnapshot(vbd)!;
    expect(snap.slots[0]!.state).toBe("in flight");
    const text = vbd.toMimeBundle()["text/plain"];
    expect(text).toContain("in flight [0] READ id 1 sector 0 (16 × 512 B)");
    expect(text).toContain("seg 0: gref 9 sectors 0..7, grant 0x19 permit_access|reading|writing mapped rw");
    expect(vbd.toMimeBundle()["image/svg+xml"]).toContain("req_prod=1");
    expect(vbd.complete(1)).toEqual([0]);
    expect(d.gnttab.entry(grantRef(9))!.flags & 0x18).toBe(0);
    snap = ringSnapshot(vbd)!;
    expect(snap).toMatchObject({ rspProd: 1, rspProdPvt: 1 });
    expect(snap.slots[0]!.state).toBe("answered");
    expect(vbd.stats.notifies).toBe(1);
    vbd.autoServe = true;
    host.run({ ns: 200e6, until: () => !host.domains.has(d.domid) });
    expect(d.consoleLog).toContain(`read sectors 0-15: status 0 fnv ${fnv64(img.bytes.subarray(0, 8192))}`);
    expect(d.consoleLog).toContain("write sector 9: status -1, flush: status -1\n");
  });
});

describe("xl block-attach / block-list / block-detach", () => {
  it("attach to a running guest, list with ring-ref and event channel, detach: backend Closing → frontend Closed → removed", () => {
    const host = new XenHost({ pcpus: 1, memoryMiB: 128 });
    const d = host.createDomain(cfg("hot", "mode=check write=1 then=wait"));
    // The guest finds no vbd yet: attach before it looks (paused), as xl create would.
    host.pause(d);
    const path = join(dir, "hot.vhd");
    copyFileSync(img.dynamic, path);
    const r = runBlockXl(host, ["block-attach", "hot", `format=vhd`, `vdev=xvda`, `access=rw`, `target=${path}`]);
    expect(r.exitCode).toBe(0);
    host.unpause(d);
    host.run({ ns: 200e6, until: () => d.consoleLog.includes("notifies sent") });
    const vbd = listDisks(host, "hot")[0]!;
    expect(vbd.connected).toBe(true);
    const list = runBlockXl(host, ["block-list", "hot"]).stdout.split("\n");
    expect(list[1]).toBe(`51712 0   ${String(d.domid).padEnd(6)} 4     3      8        ${vbd.backendPath.padEnd(30)}`);
    const det = runBlockXl(host, ["block-detach", "hot", "xvda"]);
    expect(det).toMatchObject({ exitCode: 0, stderr: "" });
    expect(vbd.removed).toBe(true);
    expect(d.consoleLog).toContain(`blkfront: backend state ${XenbusState.Closing}, closed; device node removed\n`);
    expect(runBlockXl(host, ["block-list", "hot"]).stdout.split("\n").length).toBe(2);
    expect(host.xenstore.exists(vbd.frontendPath)).toBe(false);
    // the ring page and the event channel were given back
    expect(d.gnttab.entry(grantRef(8))!.flags & 0x18).toBe(0);
    expect(d.evtchn.get(port(3))?.state).toBe("unbound");
  });
});

describe("many requests in flight (the bench mode)", () => {
  /** Sum of each sector's first little-endian u64, mod 2^64, as the guest adds them up. */
  function firstWordSum(bytes: Uint8Array, sectors: number): string {
    const v = new DataView(bytes.buffer, bytes.byteOffset);
    let s = 0n;
    for (let i = 0; i < sectors; i++) s = (s + v.getBigUint64(i * 512, true)) & 0xffffffffffffffffn;
    return s.toString(16);
  }

  it("a full ring of 11-segment reads: 32 requests per kick, the data checks out, and one answer in 32 is notified at most", () => {
    const host = new XenHost({ pcpus: 1, memoryMiB: 128 });
    const kib = 44 * 64; // 64 requests of 11 pages
    const { d, vbd } = boot(host, "b32", `mode=bench kib=${kib} depth=32`, `format=vhd, vdev=xvda, access=ro, target=${img.dynamic}`);
    expect(d.consoleLog).toContain(`bench: 64 requests, ${kib * 2} sectors, sum ${firstWordSum(img.bytes, kib * 2)}, errors 0, notifies 2\n`);
    expect(vbd.stats).toMatchObject({ requests: 64, reads: 64, kicks: 2, pagesMapped: 64 * 11, mapBatches: 64, unmapBatches: 64, bytesRead: kib * 1024 });
    expect(vbd.stats.notifies).toBeLessThanOrEqual(2);
  });

  it("one request at a time: a kick per request", () => {
    const host = new XenHost({ pcpus: 1, memoryMiB: 128 });
    const kib = 44 * 8;
    const { d, vbd } = boot(host, "b1", `mode=bench kib=${kib} depth=1`, `format=raw, vdev=xvda, access=ro, target=${img.raw}`);
    expect(d.consoleLog).toContain(`bench: 8 requests, ${kib * 2} sectors, sum ${firstWordSum(img.bytes, kib * 2)}, errors 0, notifies 8\n`);
    expect(vbd.stats.kicks).toBe(8);
  });
});

describe("disk = [...] in xl.cfg", () => {
  it("xl create attaches the disks before the guest runs; the guest reads them", () => {
    const host = new XenHost({ pcpus: 1, memoryMiB: 128 });
    const d = host.createDomain(`${cfg("cfgdisk", "mode=ro write=1")}\ndisk = [ 'format=vhd, vdev=xvda, access=ro, target=${img.dynamic}' ]`);
    expect(listDisks(host, d).map((v) => v.disk.vdev)).toEqual(["xvda"]);
    host.run({ ns: 500e6, until: () => !host.domains.has(d.domid) });
    expect(d.consoleLog).toContain(`read sectors 0-15: status 0 fnv ${fnv64(img.bytes.subarray(0, 8192))}`);
    expect(listDisks(host)).toEqual([]);
  });

  it("a disk that cannot be opened fails the create, naming the file, and leaves no domain behind", () => {
    const host = new XenHost({ pcpus: 1, memoryMiB: 128 });
    expect(() => host.createDomain(`${cfg("nodisk", "mode=ro")}\ndisk = [ 'format=vhd, vdev=xvda, target=${dir}/missing.vhd' ]`)).toThrow(/missing.vhd: no such file/);
    expect(host.findDomain("nodisk")).toBeUndefined();
    expect(host.xenstore.exists("/local/domain/0/backend/qdisk")).toBe(false);
  });
});

describe("through runXl (what %xl calls)", () => {
  it("xl block-attach / block-list / block-detach are xl subcommands", async () => {
    const { runXl } = await import("../../src/xen/xl/xl");
    const host = new XenHost({ pcpus: 1, memoryMiB: 128 });
    const d = host.createLabDomain("lab", new Uint8Array([0xfa, 0xf4]), { paused: true });
    expect(runXl(host, ["block-attach", "lab", `tap:vhd:${img.fixed},xvdb,r`]).exitCode).toBe(0);
    expect(runXl(host, ["block-list", "lab"]).stdout).toContain(`51728 0   ${String(d.domid).padEnd(6)} 1     -1     -1       /local/domain/0/backend/qdisk/${d.domid}/51728`);
    expect(runXl(host, ["block-detach", "lab", "51728"]).exitCode).toBe(0);
    expect(runXl(host, ["block-list", "lab"]).stdout.trim().split("\n")).toHaveLength(1);
    expect(runXl(host, ["help"]).stdout).toContain(" block-attach        Create a new virtual block device");
  });
});

describe("determinism", () => {
  it("the same guest and disk give the same console, counters, virtual time and ring", () => {
    const once = () => {
      const host = new XenHost({ pcpus: 1, memoryMiB: 128 });
      const path = join(tmpDir(), "det.vhd");
      copyFileSync(img.dynamic, path);
      const { d, vbd } = boot(host, "det", "mode=check write=300", `format=vhd, vdev=xvda, access=rw, target=${path}`);
      return { log: d.consoleLog, stats: vbd.stats, now: host.now, insns: host.instructions, hc: [...d.hypercalls] };
    };
    const a = once(), b = once();
    expect(b).toEqual(a);
    expect(a.log).toContain("write sector 300: status 0, flush: status 0");
  });
});

describe("BLKIF_OP_FLUSH_DISKCACHE is VhdDisk.flush", () => {
  it("a write into an unallocated block of a dynamic VHD reaches qemu-img's view only after the guest's flush", () => {
    // 1 MiB of data then zeros: qemu-img leaves the second 2 MiB block unallocated.
    const d0 = tmpDir();
    const raw = join(d0, "sparse.raw");
    const bytes = new Uint8Array(4 << 20);
    bytes.set(img.bytes.subarray(0, 1 << 20));
    writeFileSync(raw, bytes);
    const vhd = join(d0, "sparse.vhd");
    execFileSync("qemu-img", ["convert", "-f", "raw", "-O", "vpc", "-o", "subformat=dynamic,force_size=on", raw, vhd]);
    const host = new XenHost({ pcpus: 1, memoryMiB: 128 });
    const { d, vbd } = boot(host, "fl", "mode=check write=5000", `format=vhd, vdev=xvda, access=rw, target=${vhd}`, { autoServe: false, run: false });
    const sector = () => qemuRaw(vhd, "vpc").subarray(5000 * 512, 5001 * 512);
    const ops: string[] = [];
    let sawBeforeFlush: Uint8Array | undefined;
    for (let i = 0; i < 8 && !vbd.removed; i++) {
      host.run({ ns: 200e6, until: () => vbd.pendingKick || !host.domains.has(d.domid) });
      if (!vbd.pendingKick) break;
      const [f] = vbd.take(1);
      ops.push(String(f!.req.operation));
      if (f!.req.operation === 3) sawBeforeFlush = new Uint8Array(sector()); // write done, flush not yet
      vbd.complete(1);
    }
    expect(ops.slice(0, 5)).toEqual(["0", "0", "0", "1", "3"]);
    expect([...sawBeforeFlush!].every((b) => b === 0)).toBe(true);
    expect(Buffer.from(sector()).equals(Buffer.from(expectedWrittenSector(5000)))).toBe(true);
    expect(d.consoleLog).toContain("write sector 5000: status 0, flush: status 0\n");
  });
});

describe("domain lifecycle with disks", () => {
  it("on_reboot=restart: the old vbd goes with the old domain, the new domain gets the disk again and reconnects", () => {
    const host = new XenHost({ pcpus: 1, memoryMiB: 128 });
    const path = join(tmpDir(), "reboot.vhd");
    copyFileSync(img.dynamic, path);
    const d = host.createDomain(`${cfg("rb", "mode=ro then=wait")}\non_reboot = "restart"\ndisk = [ 'format=vhd, vdev=xvda, access=rw, target=${path}' ]`);
    host.run({ ns: 300e6, until: () => d.consoleLog.includes("notifies sent") });
    const old = listDisks(host, d)[0]!;
    expect(old.connected).toBe(true);
    host.shutdownDomain(d, "reboot");
    host.run({ ns: 300e6, until: () => (host.findDomain("rb")?.consoleLog ?? "").includes("notifies sent") });
    const d2 = host.domain("rb");
    expect(d2.domid).not.toBe(d.domid);
    expect(old.removed).toBe(true);
    const now = listDisks(host);
    expect(now.map((v) => [v.domid, v.disk.vdev, v.connected])).toEqual([[d2.domid, "xvda", true]]);
    expect(host.xenstore.exists(`/local/domain/0/backend/qdisk/${d.domid}`)).toBe(false);
  });

  it("destroying a domain with requests in flight drops them without touching its freed memory", () => {
    const host = new XenHost({ pcpus: 1, memoryMiB: 128 });
    const base = host.machine.memory.allocatedFrames;
    const { d, vbd } = boot(host, "gone", "mode=bench kib=1408 depth=32", `format=vhd, vdev=xvda, access=ro, target=${img.dynamic}`, { autoServe: false, run: false });
    host.run({ ns: 200e6, until: () => vbd.pendingKick });
    expect(vbd.take(5)).toHaveLength(5);
    const free0 = host.machine.memory.allocatedFrames;
    host.destroyDomain(d);
    expect(vbd.removed).toBe(true);
    expect(vbd.inflight).toHaveLength(0);
    expect(vbd.stats.bytesRead).toBe(0);
    expect(host.machine.memory.allocatedFrames).toBeLessThan(free0);
    // Every frame came back: the ring and the data pages blkback had mapped went with its unmaps.
    expect(host.machine.memory.allocatedFrames).toBe(base);
  });
});
