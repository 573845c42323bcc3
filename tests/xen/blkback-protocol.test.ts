/**
 * The backend against a frontend played from the host side (a lab domain whose ring, grants and
 * XenStore nodes the test writes with the blkif layouts): the checks blkback makes on what a guest
 * puts on the ring, answered with BLKIF_RSP_ERROR instead of trusting it, a fuzz of random requests
 * that never escapes the guest boundary, and the handshake's refusals (protocol, event channel).
 */
import { domId, gfn } from "../../src/machine";
import { grantRef, type Port } from "../../src/xen/types";
import { describe, expect, it } from "vitest";
import { XenHost } from "../../src/xen/host";
import type { Domain } from "../../src/xen/domain";
import { GTF_permit_access, GTF_readonly } from "../../src/xen/abi";
import { attachDisk, BLKIF_OP, REQ, RSP, SEG, SRING, Vbd, XenbusState } from "../../src/xen/blkback";
import { makeImages, pseudoRandom, tmpDir } from "./blkback-helpers";

const RING_GFN = 0x800, DATA_GFN = 0x801;

interface Front { host: XenHost; d: Domain; vbd: Vbd; port: Port; bytes: Uint8Array; prod: number; cons: number }

/** A frontend written by hand: ring at RING_GFN granted as ref 8, data pages granted from ref 9. */
function front(opts: { access?: "ro" | "rw"; protocol?: string; badPort?: boolean } = {}): Front {
  const dir = tmpDir();
  const img = makeImages(dir, 1 << 20);
  const host = new XenHost({ pcpus: 1, memoryMiB: 128 });
  const d = host.createLabDomain("fe", new Uint8Array([0xfa, 0xf4]), { paused: true });
  const vbd = attachDisk(host, d, `format=vhd, vdev=xvda, access=${opts.access ?? "rw"}, target=${img.dynamic}`);
  const ring = new DataView(new ArrayBuffer(4096));
  ring.setUint32(SRING.req_event, 1, true);
  ring.setUint32(SRING.rsp_event, 1, true);
  d.guest.write(RING_GFN * 4096, new Uint8Array(ring.buffer));
  d.gnttab.setEntry(grantRef(8), domId(0), gfn(RING_GFN), GTF_permit_access);
  for (let i = 0; i < 8; i++) d.gnttab.setEntry(grantRef(9 + i), domId(0), gfn(DATA_GFN + i), GTF_permit_access);
  const port = d.evtchn.alloc("unbound", { remoteDom: domId(opts.badPort ? 7 : 0) })!.port;
  const xs = host.xenstore, fe = vbd.frontendPath, id = d.domid;
  xs.write(`${fe}/ring-ref`, "8", id);
  xs.write(`${fe}/event-channel`, String(port), id);
  xs.write(`${fe}/protocol`, opts.protocol ?? "x86_64-abi", id);
  xs.write(`${fe}/state`, String(XenbusState.Initialised), id);
  return { host, d, vbd, port, bytes: img.bytes, prod: 0, cons: 0 };
}

function post(f: Front, reqs: { op: number; sector: bigint; id: bigint; segs: [number, number, number][]; nr?: number }[]): { id: bigint; op: number; status: number }[] {
  const g = f.d.guest;
  for (const r of reqs) {
    const o = RING_GFN * 4096 + SRING.ring + (f.prod & 31) * REQ.size;
    const b = new DataView(new ArrayBuffer(REQ.size));
    b.setUint8(REQ.operation, r.op);
    b.setUint8(REQ.nr_segments, r.nr ?? r.segs.length);
    b.setBigUint64(REQ.id, r.id, true);
    b.setBigUint64(REQ.sector_number, r.sector, true);
    r.segs.slice(0, 11).forEach(([gref, first, last], i) => {
      b.setUint32(REQ.seg + i * SEG.size + SEG.gref, gref, true);
      b.setUint8(REQ.seg + i * SEG.size + SEG.first_sect, first);
      b.setUint8(REQ.seg + i * SEG.size + SEG.last_sect, last);
    });
    g.write(o, new Uint8Array(b.buffer));
    f.prod = (f.prod + 1) >>> 0;
  }
  const p = new DataView(new ArrayBuffer(4));
  p.setUint32(0, f.prod, true);
  g.write(RING_GFN * 4096 + SRING.req_prod, new Uint8Array(p.buffer));
  expect(f.host.evtchnSend(f.d, f.port)).toBe(0);
  const out = [];
  const rspProd = new DataView(g.read(RING_GFN * 4096 + SRING.rsp_prod, 4).buffer).getUint32(0, true);
  for (; f.cons !== rspProd; f.cons = (f.cons + 1) >>> 0) {
    const v = new DataView(g.read(RING_GFN * 4096 + SRING.ring + (f.cons & 31) * REQ.size, RSP.size).buffer);
    out.push({ id: v.getBigUint64(RSP.id, true), op: v.getUint8(RSP.operation), status: v.getInt16(RSP.status, true) });
  }
  return out;
}

describe("a frontend played by the test", () => {
  it("connects: the backend maps ring-ref 8 (GTF_reading|GTF_writing while connected) and binds the event channel", () => {
    const f = front();
    expect(f.vbd.state).toBe(XenbusState.Connected);
    expect(f.d.gnttab.entry(grantRef(8))!.flags).toBe(0x19);
    expect(f.d.evtchn.get(f.port)).toMatchObject({ state: "interdomain", remoteDom: 0 });
    expect(f.host.xenstore.read(`${f.vbd.backendPath}/sectors`)).toBe(String(2048));
  });

  it("checks every request: segments, sector ranges, grants, operations", () => {
    const f = front();
    const rs = post(f, [
      { op: BLKIF_OP.READ, sector: 0n, id: 1n, segs: [[9, 0, 7]] },
      { op: BLKIF_OP.READ, sector: 0n, id: 2n, segs: [] },                          // no segments
      { op: BLKIF_OP.READ, sector: 0n, id: 3n, segs: Array(12).fill([9, 0, 0]), nr: 12 }, // > 11
      { op: BLKIF_OP.READ, sector: 0n, id: 4n, segs: [[9, 5, 4]] },                 // last < first
      { op: BLKIF_OP.READ, sector: 0n, id: 5n, segs: [[9, 0, 8]] },                 // beyond the page
      { op: BLKIF_OP.READ, sector: 2047n, id: 6n, segs: [[9, 0, 1]] },              // crosses the end
      { op: BLKIF_OP.READ, sector: 0n, id: 7n, segs: [[300, 0, 0]] },               // ref not granted
      { op: BLKIF_OP.READ, sector: 0n, id: 8n, segs: [[99999, 0, 0]] },             // beyond the table
      { op: 9, sector: 0n, id: 9n, segs: [] },                                      // unknown op
      { op: BLKIF_OP.DISCARD, sector: 0n, id: 10n, segs: [] },                      // not offered
      { op: BLKIF_OP.FLUSH_DISKCACHE, sector: 0n, id: 11n, segs: [] },
      { op: BLKIF_OP.READ, sector: 0xffffffffffffffffn, id: 12n, segs: [[9, 0, 0]] }, // wraps
    ]);
    expect(rs.map((r) => [r.id, r.status])).toEqual([[1n, 0], [2n, -1], [3n, -1], [4n, -1], [5n, -1], [6n, -1], [7n, -1], [8n, -1], [9n, -1], [10n, -2], [11n, 0], [12n, -1]]);
    expect(rs.map((r) => r.op)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 9, 5, 3, 0]);
    expect([...f.d.guest.read(DATA_GFN * 4096, 4096)]).toEqual([...f.bytes.subarray(0, 4096)]);
    // Every mapping was undone, whatever the outcome.
    for (let i = 0; i < 8; i++) expect(f.d.gnttab.entry(grantRef(9 + i))!.flags).toBe(GTF_permit_access);
  });

  it("a read into a page granted read-only is refused (the backend needs to write it); a write from it is fine", () => {
    const f = front();
    f.d.gnttab.setEntry(grantRef(9), domId(0), gfn(DATA_GFN), GTF_permit_access | GTF_readonly);
    const rs = post(f, [
      { op: BLKIF_OP.READ, sector: 0n, id: 1n, segs: [[9, 0, 0]] },
      { op: BLKIF_OP.WRITE, sector: 0n, id: 2n, segs: [[9, 0, 0]] },
    ]);
    expect(rs.map((r) => r.status)).toEqual([-1, 0]);
    expect(f.vbd.lastError).toMatch(/read-only/);
  });

  it("read-only access: writes and flushes are BLKIF_RSP_ERROR, reads work", () => {
    const f = front({ access: "ro" });
    expect(f.host.xenstore.read(`${f.vbd.backendPath}/info`)).toBe("4");
    const rs = post(f, [
      { op: BLKIF_OP.WRITE, sector: 0n, id: 1n, segs: [[9, 0, 0]] },
      { op: BLKIF_OP.FLUSH_DISKCACHE, sector: 0n, id: 2n, segs: [] },
      { op: BLKIF_OP.READ, sector: 0n, id: 3n, segs: [[9, 0, 0]] },
    ]);
    expect(rs.map((r) => r.status)).toEqual([-1, -1, 0]);
  });

  it("a fuzz of 2,000 random requests: every one answered with its id and OKAY/ERROR/EOPNOTSUPP, nothing thrown, no grant left mapped", () => {
    const f = front();
    const rnd = pseudoRandom(2000 * 40, 77);
    let k = 0;
    const byte = () => rnd[k++]!;
    for (let batch = 0; batch < 100; batch++) {
      const reqs = Array.from({ length: 20 }, (_, i) => {
        const nseg = byte() % 13;
        return {
          op: byte() % 8, sector: BigInt(byte() * 9), id: BigInt(batch * 100 + i), nr: nseg,
          segs: Array.from({ length: nseg }, () => [9 + (byte() % 10), byte() % 9, byte() % 9] as [number, number, number]),
        };
      });
      const rs = post(f, reqs);
      expect(rs.map((r) => r.id)).toEqual(reqs.map((r) => r.id));
      for (const r of rs) expect([0, -1, -2]).toContain(r.status);
    }
    expect(f.vbd.stats.requests).toBe(2000);
    expect(f.vbd.stats.errors).toBeGreaterThan(100);
    expect(f.vbd.stats.reads + f.vbd.stats.writes).toBeGreaterThan(100);
    for (let i = 0; i < 8; i++) expect(f.d.gnttab.entry(grantRef(9 + i))!.flags & 0x18).toBe(0);
    expect(f.d.isShutdown).toBe(false);
  });
});

describe("refusals during the handshake (xenbus_dev_fatal)", () => {
  it("a 32-bit protocol: error node written, backend Closing, nothing mapped", () => {
    const f = front({ protocol: "x86_32-abi" });
    expect(f.vbd.state).toBe(XenbusState.Closing);
    expect(f.host.xenstore.read(`/local/domain/0/error${f.vbd.backendPath}/error`)).toMatch(/ENOSYS unsupported protocol x86_32-abi/);
    expect(f.d.gnttab.entry(grantRef(8))!.flags).toBe(GTF_permit_access);
    expect(f.vbd.ring).toBeUndefined();
  });

  it("an event channel not offered to dom0: refused, ring unmapped again", () => {
    const f = front({ badPort: true });
    expect(f.vbd.state).toBe(XenbusState.Closing);
    expect(f.vbd.lastError).toMatch(/not unbound for d0/);
    expect(f.d.gnttab.entry(grantRef(8))!.flags).toBe(GTF_permit_access);
  });
});
