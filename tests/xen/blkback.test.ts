/**
 * The blkback building blocks against independent references: struct layouts and the ring macros
 * of Debian's libxen-dev headers (compiled with gcc), the vdev numbering of xen-vbd-interface(7),
 * xl's disk spec forms, the XenStore nodes libxl writes, and `xl block-list`'s columns.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { runC } from "./headers";
import { BLKIF_OP, BLKIF_RING_SIZE, BLKIF_MAX_SEGMENTS_PER_REQUEST, REQ, RSP, SEG, SRING, VDISK_CDROM, VDISK_READONLY, VDISK_REMOVABLE, XenbusState, BLKIF_RSP_EOPNOTSUPP, BLKIF_RSP_ERROR } from "../../src/xen/blkback/abi";
import { parseVdev } from "../../src/xen/blkback/devid";
import { resolveDisk } from "../../src/xen/blkback/spec";
import { BlkifBackRing } from "../../src/xen/blkback/ring";
import { BlkbackError } from "../../src/xen/blkback/errors";
import { attachDisk, detachDisk, listDisks, runBlockXl, xlBlockList } from "../../src/xen/blkback";
import { XenHost } from "../../src/xen/host";
import { makeImages, tmpDir } from "./blkback-helpers";

const C_HEAD = `#define __XEN_INTERFACE_VERSION__ 0x00040e00
#include <stdio.h>
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#define xen_mb() __sync_synchronize()
#define xen_rmb() __sync_synchronize()
#define xen_wmb() __sync_synchronize()
#include <xen/io/blkif.h>
#include <xen/io/xenbus.h>
`;

describe("blkif ABI vs libxen-dev", () => {
  it("request, segment, response and shared-ring offsets; 32 entries; ops, statuses, VDISK bits, xenbus states", () => {
    const out = runC(`${C_HEAD}
int main(void){
  blkif_front_ring_t fr; static char page[4096]; FRONT_RING_INIT(&fr, (blkif_sring_t*)page, 4096);
  printf("%zu %zu %zu %zu %zu %zu %zu\\n", offsetof(blkif_request_t, operation), offsetof(blkif_request_t, nr_segments), offsetof(blkif_request_t, handle), offsetof(blkif_request_t, id), offsetof(blkif_request_t, sector_number), offsetof(blkif_request_t, seg), sizeof(blkif_request_t));
  printf("%zu %zu %zu %zu\\n", offsetof(struct blkif_request_segment, gref), offsetof(struct blkif_request_segment, first_sect), offsetof(struct blkif_request_segment, last_sect), sizeof(struct blkif_request_segment));
  printf("%zu %zu %zu %zu\\n", offsetof(blkif_response_t, id), offsetof(blkif_response_t, operation), offsetof(blkif_response_t, status), sizeof(blkif_response_t));
  printf("%zu %zu %zu %zu %zu %u %zu\\n", offsetof(blkif_sring_t, req_prod), offsetof(blkif_sring_t, req_event), offsetof(blkif_sring_t, rsp_prod), offsetof(blkif_sring_t, rsp_event), offsetof(blkif_sring_t, ring), RING_SIZE(&fr), sizeof(union blkif_sring_entry));
  printf("%d %d %d %d %d %d %d\\n", BLKIF_OP_READ, BLKIF_OP_WRITE, BLKIF_OP_WRITE_BARRIER, BLKIF_OP_FLUSH_DISKCACHE, BLKIF_OP_DISCARD, BLKIF_OP_INDIRECT, BLKIF_MAX_SEGMENTS_PER_REQUEST);
  printf("%d %d %d %d %d\\n", BLKIF_RSP_ERROR, BLKIF_RSP_EOPNOTSUPP, VDISK_CDROM, VDISK_REMOVABLE, VDISK_READONLY);
  printf("%d %d %d %d %d %d %d\\n", XenbusStateUnknown, XenbusStateInitialising, XenbusStateInitWait, XenbusStateInitialised, XenbusStateConnected, XenbusStateClosing, XenbusStateClosed);
  return 0; }`).trim().split("\n");
    expect(out[0]).toBe([REQ.operation, REQ.nr_segments, REQ.handle, REQ.id, REQ.sector_number, REQ.seg, REQ.size].join(" "));
    expect(out[1]).toBe([SEG.gref, SEG.first_sect, SEG.last_sect, SEG.size].join(" "));
    expect(out[2]).toBe([RSP.id, RSP.operation, RSP.status, RSP.size].join(" "));
    expect(out[3]).toBe([SRING.req_prod, SRING.req_event, SRING.rsp_prod, SRING.rsp_event, SRING.ring, BLKIF_RING_SIZE, REQ.size].join(" "));
    expect(out[4]).toBe([BLKIF_OP.READ, BLKIF_OP.WRITE, BLKIF_OP.WRITE_BARRIER, BLKIF_OP.FLUSH_DISKCACHE, BLKIF_OP.DISCARD, BLKIF_OP.INDIRECT, BLKIF_MAX_SEGMENTS_PER_REQUEST].join(" "));
    expect(out[5]).toBe([BLKIF_RSP_ERROR, BLKIF_RSP_EOPNOTSUPP, VDISK_CDROM, VDISK_REMOVABLE, VDISK_READONLY].join(" "));
    expect(out[6]).toBe([0, 1, 2, 3, 4, 5, 6].map((_, i) => Object.values(XenbusState)[i]).join(" "));
  });

  it("the back ring's notify and final-check rules agree with ring.h's macros, including across the 2^32 wrap", () => {
    // [rsp_prod old, responses to push, rsp_event, req_prod, req_cons]
    const cases: number[][] = [];
    for (const base of [0, 5, 0xfffffff0, 0xffffffff]) for (const push of [1, 2, 5]) for (const ev of [0, 1, 3, 6]) cases.push([base, push, (base + ev) >>> 0, (base + push + ev) >>> 0, (base + push) >>> 0]);
    const rows = cases.map((c) => `{${c.map((x) => `${x}u`).join(",")}}`).join(",");
    const out = runC(`${C_HEAD}
static unsigned cases[][5] = {${rows}};
int main(void){ static char page[4096];
  for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    blkif_sring_t *s = (blkif_sring_t*)page; blkif_back_ring_t br; memset(page, 0, sizeof page);
    BACK_RING_ATTACH(&br, s, cases[i][0], 4096);
    s->rsp_prod = cases[i][0]; s->rsp_event = cases[i][2];
    br.rsp_prod_pvt = cases[i][0] + cases[i][1];
    int notify; RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&br, notify);
    s->req_prod = cases[i][3]; br.req_cons = cases[i][4]; br.rsp_prod_pvt = cases[i][4];
    int work; RING_FINAL_CHECK_FOR_REQUESTS(&br, work);
    printf("%d %d %u\\n", notify, work != 0, s->req_event);
  } return 0; }`).trim().split("\n");
    cases.forEach((c, i) => {
      const page = new DataView(new ArrayBuffer(4096));
      const ring = new BlkifBackRing(() => page);
      page.setUint32(SRING.rsp_prod, c[0]!, true);
      page.setUint32(SRING.rsp_event, c[2]!, true);
      ring.rspProdPvt = (c[0]! + c[1]!) >>> 0;
      const notify = ring.pushResponsesAndCheckNotify();
      page.setUint32(SRING.req_prod, c[3]!, true);
      ring.reqCons = c[4]!;
      ring.rspProdPvt = c[4]!;
      const work = ring.finalCheckForRequests();
      expect(`${notify ? 1 : 0} ${work ? 1 : 0} ${page.getUint32(SRING.req_event, true)}`, `case ${c.join(",")}`).toBe(out[i]);
    });
  });
});

describe("virtual device numbers (xen-vbd-interface.7)", () => {
  it("xvd, hd, sd and the extended xvd form; numbers as themselves", () => {
    const n = (v: string) => parseVdev(v).devid;
    expect(n("xvda")).toBe(51712);
    expect(n("xvdb")).toBe(51728);
    expect(n("xvda1")).toBe(51713);
    expect(n("xvdp15")).toBe(51967);
    expect(n("xvdq")).toBe((1 << 28) | (16 << 8));
    expect(n("xvdaa")).toBe((1 << 28) | (26 << 8));
    expect(n("d0p1")).toBe(51713);
    expect(n("hda")).toBe(768);
    expect(n("hdb")).toBe(832);
    expect(n("hdc")).toBe(5632);
    expect(n("sda")).toBe(2048);
    expect(n("sdb3")).toBe(2067);
    expect(n("51712")).toBe(51712);
    expect(parseVdev("xvdq").disk).toBe(16);
  });

  it("bad names are typed errors naming the vdev", () => {
    for (const bad of ["", "xvd", "vda", "hde", "sdq", "xvda256", "0"]) {
      expect(() => parseVdev(bad), bad).toThrow(BlkbackError);
    }
    expect(() => parseVdev("vda")).toThrow(/"vda" is not a virtual device name/);
  });
});

describe("disk specs → backend (libxl's choices)", () => {
  let dir: string;
  let img: ReturnType<typeof makeImages>;
  beforeAll(() => { dir = tmpDir(); img = makeImages(dir, 1 << 20); });

  it("the modern form with format=vhd goes to qdisk with params vhd:<path>", () => {
    const r = resolveDisk(`format=vhd, vdev=xvda, access=rw, target=${img.dynamic}`);
    expect(r).toMatchObject({ kind: "qdisk", type: "qdisk", params: `vhd:${img.dynamic}`, readOnly: false, devid: 51712, format: "vhd", warnings: [] });
  });

  it("legacy 'tap:vhd:' is a VHD; 'file:' on a raw image is phy with the path as params", () => {
    expect(resolveDisk(`tap:vhd:${img.fixed},xvdb,r`)).toMatchObject({ kind: "qdisk", format: "vhd", readOnly: true, devid: 51728 });
    expect(resolveDisk(`file:${img.raw},xvda,w`)).toMatchObject({ kind: "vbd", type: "phy", params: img.raw, format: "raw", readOnly: false });
    expect(resolveDisk(`disk.raw,raw,hda,rw`, dir)).toMatchObject({ kind: "vbd", path: join(dir, "disk.raw"), devid: 768 });
  });

  it("a cdrom is read-only whatever the access says", () => {
    expect(resolveDisk(`${img.raw},raw,hdc,cdrom`)).toMatchObject({ cdrom: true, readOnly: true, devid: 5632 });
  });

  it("'file:' on a VHD is format=raw as xl says, with a warning that the guest sees the footer", () => {
    const r = resolveDisk(`file:${img.dynamic},xvda,w`);
    expect(r.format).toBe("raw");
    expect(r.warnings[0]).toMatch(/is a VHD but the spec says format=raw/);
  });

  it("errors name the field: missing file, unsupported format, phy with vhd", () => {
    expect(() => resolveDisk(`format=raw, vdev=xvda, target=${dir}/nope.img`)).toThrow(/target: .*nope.img: no such file/);
    expect(() => resolveDisk(`format=qcow2, vdev=xvda, target=${img.raw}`)).toThrow(/format: qcow2 images are not served/);
    expect(() => resolveDisk(`format=vhd, vdev=xvda, backendtype=phy, target=${img.dynamic}`)).toThrow(/backendtype: phy serves raw devices only/);
  });
});

describe("toolstack nodes, block-list and detach without a frontend", () => {
  it("writes libxl's backend and frontend nodes with their permissions; block-list shows them; a detach with no frontend removes at once", () => {
    const dir = tmpDir();
    const img = makeImages(dir, 1 << 20);
    const host = new XenHost({ pcpus: 1, memoryMiB: 128 });
    const d = host.createLabDomain("lab", new Uint8Array([0xfa, 0xf4]), { paused: true });
    const vbd = attachDisk(host, d, `tap:vhd:${img.fixed},xvdb,r`);
    const xs = host.xenstore, be = `/local/domain/0/backend/qdisk/${d.domid}/51728`, fe = `/local/domain/${d.domid}/device/vbd/51728`;
    expect(vbd.backendPath).toBe(be);
    const rd = (p: string) => xs.read(p);
    expect({ frontend: rd(`${be}/frontend`), "frontend-id": rd(`${be}/frontend-id`), online: rd(`${be}/online`), state: rd(`${be}/state`), dev: rd(`${be}/dev`), type: rd(`${be}/type`), mode: rd(`${be}/mode`), "device-type": rd(`${be}/device-type`), params: rd(`${be}/params`) })
      .toEqual({ frontend: fe, "frontend-id": String(d.domid), online: "1", state: "2", dev: "xvdb", type: "qdisk", mode: "r", "device-type": "disk", params: `vhd:${img.fixed}` });
    expect({ backend: rd(`${fe}/backend`), "backend-id": rd(`${fe}/backend-id`), state: rd(`${fe}/state`), "virtual-device": rd(`${fe}/virtual-device`) })
      .toEqual({ backend: be, "backend-id": "0", state: "1", "virtual-device": "51728" });
    expect(xs.getPerms(be)).toEqual([{ perm: "n", id: 0 }, { perm: "r", id: d.domid }]);
    expect(xs.getPerms(fe)).toEqual([{ perm: "n", id: d.domid }, { perm: "r", id: 0 }]);
    // The guest may read its backend's nodes but not write them.
    expect(xs.read(`${be}/params`, d.domid)).toBe(`vhd:${img.fixed}`);
    expect(() => xs.write(`${be}/state`, "4", d.domid)).toThrow(/EACCES/);
    // xl block-list: printf("%-5s %-3s %-6s %-5s %-6s %-8s %-30s\n", ...) then one row per disk.
    const list = xlBlockList(host, [d.domid]);
    expect(list).toBe(`Vdev  BE  handle state evt-ch ring-ref BE-path                       \n51728 0   ${String(d.domid).padEnd(6)} 1     -1     -1       ${be.padEnd(30)}\n`);
    expect(runBlockXl(host, ["block-list", "lab"]).stdout).toBe(list);
    expect(() => attachDisk(host, d, `tap:vhd:${img.fixed},xvdb,r`)).toThrow(/already attached/);
    expect(() => attachDisk(host, d, `format=vhd, vdev=xvdc, access=rw, target=${img.fixed}`)).toThrow(/one writer, or any number of readers/);
    expect(runBlockXl(host, ["block-detach", "lab", "xvdz"])).toMatchObject({ exitCode: 1, stderr: "Error: Device xvdz not connected.\n" });
    detachDisk(host, d, "xvdb");
    expect(vbd.removed).toBe(true);
    expect(xs.exists(be)).toBe(false);
    expect(xs.exists(fe)).toBe(false);
    expect(listDisks(host, d)).toEqual([]);
  });
});

describe("xl block-* messages (tools/xl/xl_block.c)", () => {
  it("unknown domains, bad specs and unknown devices", () => {
    const img = makeImages(tmpDir(), 1 << 20);
    const host = new XenHost({ pcpus: 1, memoryMiB: 128 });
    host.createLabDomain("lab", new Uint8Array([0xfa, 0xf4]), { paused: true });
    expect(runBlockXl(host, ["block-attach", "nosuch", `${img.raw},raw,xvda,w`])).toMatchObject({ exitCode: 1, stderr: "nosuch is an invalid domain identifier\n" });
    expect(runBlockXl(host, ["block-attach", "lab", "format=raw", "vdev=bogus", `target=${img.raw}`])).toMatchObject({ exitCode: 1, stderr: `libxl: error: vdev: "bogus" is not a virtual device name (xvda, hdc, sda1, d0p1 or a number)\nlibxl_device_disk_add failed.\n` });
    const l = runBlockXl(host, ["block-list", "lab", "nosuch"]);
    expect(l).toMatchObject({ exitCode: 0, stderr: "nosuch is an invalid domain identifier\n" });
    expect(l.stdout.split("\n")[0]).toBe("Vdev  BE  handle state evt-ch ring-ref BE-path                       ");
    const w = runBlockXl(host, ["block-attach", "lab", `file:${img.dynamic},xvda,w`]);
    expect(w.exitCode).toBe(0);
    expect(w.stderr).toMatch(/^warning: .* is a VHD but the spec says format=raw/);
  });
});
