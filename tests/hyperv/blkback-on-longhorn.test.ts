/**
 * The root's blkback for a Xen-enabled child (src/hyperv/xen-blkback.ts: Xen's own blkback over
 * the adapter's grant table and event channels). The oracle is the Xen host: the blkfront C guest
 * (tests/guests/blkfront-guest.c, unmodified) drives the same requests against the same image on
 * both hosts and prints the same transcript; qemu-img reads what it wrote on each.
 */
import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { XenHost } from "../../src/xen/host";
import { attachDisk } from "../../src/xen/blkback";
import { HypervHost, attachXenDisk, xenDisks } from "../../src/hyperv";
import { HVCALL } from "../../src/hyperv/tlfs";
import { buildBlkfrontGuest, expectedWrittenSector, makeImages, qemuRaw, tmpDir } from "../xen/blkback-helpers";

const SIZE = 4 << 20;
let img: ReturnType<typeof makeImages>;
let dir: string;
beforeAll(() => {
  dir = tmpDir();
  img = makeImages(dir, SIZE);
});

describe("blkfront on the Longhorn host, served by the root", () => {
  it("the blkfront guest's transcript equals the Xen host's: handshake, reads, the write, the error answers; qemu-img reads the written sector", () => {
    const guest = buildBlkfrontGuest();
    const cmdline = "mode=check write=77";
    const xenDisk = join(dir, "xen.vhd"), hvDisk = join(dir, "longhorn.vhd");
    copyFileSync(img.dynamic, xenDisk);
    copyFileSync(img.dynamic, hvDisk);

    const xen = new XenHost({ pcpus: 1, memoryMiB: 128 });
    const d = xen.createDomain(`name = "blk"\ntype = "pvh"\nkernel = "${guest}"\nmemory = 16\ncmdline = "${cmdline}"`, { paused: true });
    attachDisk(xen, d, `format=vhd, vdev=xvda, access=rw, target=${xenDisk}`);
    xen.unpause(d);
    xen.run({ ns: 500e6, until: () => !xen.domains.has(d.domid) });
    expect(d.consoleLog).toContain("write sector 77: status 0, flush: status 0\n");

    const hv = new HypervHost({ lps: 1 });
    const p = hv.createChild({ name: "blk", memoryMiB: 16, pvh: new Uint8Array(readFileSync(guest)), cmdline });
    const vbd = attachXenDisk(hv, p, `format=vhd, vdev=xvda, access=rw, target=${hvDisk}`);
    expect(xenDisks(hv, p)).toEqual([vbd]);
    hv.run({ until: () => p.shutdownReason !== undefined, maxInstructions: 100_000_000 });
    // The same lines, in the same order (the backend path names domain 1 on both hosts).
    expect(p.console).toBe(d.consoleLog);
    expect(p.shutdownReason).toBe(0);

    // The device as the root served it: the same requests as dom0's blkback.
    expect(vbd.stats).toMatchObject({ requests: 7, reads: 4, writes: 1, flushes: 1, errors: 1, unsupported: 1, kicks: 7, bytesRead: 9216, bytesWritten: 512 });
    const want = new Uint8Array(img.bytes);
    want.set(expectedWrittenSector(77), 77 * 512);
    expect(Buffer.from(qemuRaw(hvDisk, "vpc")).equals(Buffer.from(want))).toBe(true);
    // The grant table frame the root mapped in; each of the 7 kicks was the child's HvSignalEvent
    // on the root's connection, flag = the guest's blkif port (evtchn 3 in its transcript).
    const a = p.xenAdapter!;
    expect(a.log.some((t) => t.xen === "memory_op(add_to_physmap, grant_table 0)" && t.hyperv.some((h) => h.startsWith("root: HvMapGpaPages")))).toBe(true);
    const kicks = a.log.filter((t) => t.xen === "event_channel_op(send)" && t.hyperv.some((h) => /^HvSignalEvent\(conn 0x45560001, flag 3\) = 0$/.test(h)));
    expect(kicks.length).toBe(7);
    expect(hv.trace.filter((t) => t.partition === p.id && t.code === HVCALL.SIGNAL_EVENT && t.status === 0).length).toBeGreaterThanOrEqual(7);
  });
});
