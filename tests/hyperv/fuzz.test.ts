/**
 * Hypercall inputs come from guests: random input values and random input blocks, from a child and
 * from the root, must only ever produce HV_STATUS results (never an exception in the host), and
 * the host must stay usable afterwards.
 */
import { gfn } from "../../src/machine/types";
import { describe, expect, it } from "vitest";
import { HypervHost, HV_STATUS, HVCALL, decodeResult, CALLS } from "../../src/hyperv";
import { VMBUS_MESSAGE_CONNECTION_ID } from "../../src/hyperv/vmbus-abi";

describe("hypercall fuzz", () => {
  it("20,000 random calls give HV_STATUS values only", () => {
    const h = new HypervHost();
    const child = h.createChild({ name: "victim", memoryMiB: 2, paused: true });
    const known = new Set<number>(Object.values(HV_STATUS));
    let seed = 0x5eed;
    const rnd = () => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed; };
    const r64 = () => (BigInt(rnd()) << 32n) | BigInt(rnd());
    const codes = [...CALLS.map((c) => c.code), 0, 1, 0x99, 0xffff];
    const seen = new Map<number, number>();
    for (let k = 0; k < 20000; k++) {
      const caller = k % 3 === 0 ? h.root : child;
      const page = 0x1000 * (1 + (rnd() % 8));
      const bytes = new Uint8Array(256);
      for (let i = 0; i < bytes.length; i++) bytes[i] = rnd() & 0xff;
      // Sometimes aim the partition id fields at real partitions so deeper paths run.
      if (k % 2) new DataView(bytes.buffer).setBigUint64(0, BigInt(rnd() % 2 ? child.id : h.root.id), true);
      // Deposits legitimately take pages away from the caller; write only where memory remains.
      if (caller.memory.p2m.lookup(gfn(page / 4096))) caller.memory.write(page, bytes);
      let rcx = BigInt(codes[rnd() % codes.length]!);
      if (rnd() % 4 === 0) rcx |= 1n << 16n;
      if (rnd() % 3 === 0) rcx |= BigInt(rnd() % 40) << 32n;
      if (rnd() % 8 === 0) rcx |= r64() & ~0xffffn;
      const rdx = rnd() % 5 === 0 ? r64() : BigInt(page + (rnd() % 4 === 0 ? rnd() % 4096 : 0));
      const r = h.dispatch(caller, caller.vps[0], rcx, rdx, BigInt(0x9000 + (rnd() % 2) * 8));
      const st = decodeResult(r.rax).status;
      expect(known.has(st)).toBe(true);
      seen.set(st, (seen.get(st) ?? 0) + 1);
    }
    // The toolstack's own pages were never deposited away.
    expect(h.root.memory.p2m.lookup(gfn(1))).toBeDefined();
    expect(h.root.memory.p2m.lookup(gfn(2))).toBeDefined();
    // The fuzz reached past input validation.
    expect(seen.get(HV_STATUS.SUCCESS) ?? 0).toBeGreaterThan(100);
    expect(seen.size).toBeGreaterThan(5);
    // Still a working host: a new child can be made and the root can query it.
    const p = h.createChild({ name: "after", memoryMiB: 1, paused: true });
    const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt(p.id), true);
    expect(h.rootCall(HVCALL.GET_MEMORY_BALANCE, b, { outSize: 16 }).status).toBe(HV_STATUS.SUCCESS);
  });
});

describe("bad guest memory in VMBus requests", () => {
  it("a GPADL naming unmapped pages closes the channel instead of failing the host", async () => {
    const { VmbusServer } = await import("../../src/hyperv");
    const h = new HypervHost();
    const p = h.createChild({ name: "bad", memoryMiB: 1, paused: true });
    const disk = { size: 1 << 20, readOnly: true, read: (_o: number, b: Uint8Array) => b.fill(7), write: () => {}, flush: () => {}, close: () => {} };
    const bus: InstanceType<typeof VmbusServer> = h.vmbus(p);
    const ch = bus.addStorage(disk, "mem");
    const msg = (words: number[], size: number) => { const b = new Uint8Array(size); const d = new DataView(b.buffer); words.forEach((w, i) => d.setUint32(i * 4, w, true)); return b; };
    // Contact (version 0.13), then a GPADL of 4 pages that are far outside the partition's memory.
    expect(h.postMessage(p, VMBUS_MESSAGE_CONNECTION_ID, 1, msg([14, 0, 13], 40))).toBe(HV_STATUS.SUCCESS);
    const g = new Uint8Array(20 + 8 + 4 * 8);
    const gd = new DataView(g.buffer);
    gd.setUint32(0, 8, true); gd.setUint32(8, ch.relid, true); gd.setUint32(12, 0x77, true); gd.setUint16(16, 8 + 32, true); gd.setUint16(18, 1, true);
    gd.setUint32(20, 4 * 4096, true);
    for (let i = 0; i < 4; i++) gd.setBigUint64(28 + i * 8, BigInt(0x90000 + i), true);
    expect(h.postMessage(p, VMBUS_MESSAGE_CONNECTION_ID, 1, g)).toBe(HV_STATUS.SUCCESS);
    expect(h.postMessage(p, VMBUS_MESSAGE_CONNECTION_ID, 1, msg([5, 0, ch.relid, 1, 0x77, 0, 2], 148))).toBe(HV_STATUS.SUCCESS);
    expect(ch.state).toBe("open");
    expect(h.signalEvent(p, ch.connectionId, 0)).toBe(HV_STATUS.SUCCESS);
    expect(ch.state).toBe("closed");
    expect(ch.error).toMatch(/guest-physical 0x9000000\d: no P2M entry/);
  });
});
