/**
 * The shared platform: the trace ring keeps the newest records in order, timers report the
 * earliest deadline of every source, the pvclock scale matches Xen's set_time_scale arithmetic
 * (checked by converting a TSC back to ns), and the device bus routes ports and MSRs to the one
 * device that claims them and refuses overlapping claims.
 */
import { describe, expect, it } from "vitest";
import { DeviceBus, PlatformVcpu, Timers, TraceRing, VirtualClock, vcpuId } from "../../src/platform";
import { vector } from "../../src/abi/x86";
import { Machine, Vcpu, domId } from "../../src/machine";

describe("platform", () => {
  it("the trace ring keeps the last N records, oldest first, across wrap-around and resize", () => {
    const r = new TraceRing<number>(4);
    for (let i = 0; i < 10; i++) r.push(i);
    expect(r.records()).toEqual([6, 7, 8, 9]);
    expect(r.last()).toBe(9);
    expect(r.total).toBe(10);
    r.limit = 2;
    expect(r.records()).toEqual([8, 9]);
    r.enabled = false;
    r.push(10);
    expect(r.records()).toEqual([8, 9]);
    expect(() => new TraceRing(0)).toThrow(/positive integer/);
  });

  it("timers: the earliest deadline over all sources; each source fires what is due", () => {
    const t = new Timers();
    const fired: string[] = [];
    let a = 500, b = 300;
    t.add({ name: "a", next: () => a, fire: (now) => { if (a <= now) { fired.push(`a@${now}`); a = Infinity; } } });
    t.add({ name: "b", next: () => b, fire: (now) => { if (b <= now) { fired.push(`b@${now}`); b = Infinity; } } });
    expect(t.next()).toBe(300);
    t.fire(400);
    expect(fired).toEqual(["b@400"]);
    expect(t.next()).toBe(500);
    expect(() => t.add({ name: "a", next: () => Infinity, fire: () => {} })).toThrow(/already registered/);
  });

  it("the pvclock scale converts the TSC back to ns (Xen's ((tsc << shift) * mul) >> 32)", () => {
    for (const mhz of [1, 1000, 2400, 3000]) {
      const c = new VirtualClock(mhz);
      const { mul, shift } = c.timeScale();
      expect(mul).toBeLessThan(2 ** 32);
      const ns = 123_456_789;
      const tsc = BigInt(c.tscAt(ns));
      const shifted = shift >= 0 ? tsc << BigInt(shift) : tsc >> BigInt(-shift);
      const back = Number((shifted * BigInt(mul)) >> 32n);
      expect(Math.abs(back - ns)).toBeLessThan(2 + 1000 / mhz);
    }
  });

  it("the device bus routes a port or an MSR to the device that claims it and refuses overlaps", () => {
    const bus = new DeviceBus();
    const writes: number[] = [];
    bus.add({ name: "debugcon", ports: [{ first: 0xe9, last: 0xe9 }], portOut: (_v, _p, _s, val) => { writes.push(val); }, portIn: () => 0xe9 });
    bus.add({ name: "msr-dev", msrs: [{ first: 0x800, last: 0x8ff }], rdmsr: (_v, msr) => (msr === 0x802 ? 7n : "gp"), wrmsr: () => true });
    expect(() => bus.add({ name: "clash", ports: [{ first: 0xe0, last: 0xef }] })).toThrow(/overlaps "debugcon"/);
    const cpu = new Vcpu(new Machine(16), domId(1), 0);
    const v: PlatformVcpu = { key: "t", index: vcpuId(0), cpu, inject: (vec) => cpu.injectInterrupt(vec) };
    expect(bus.handle(v, { kind: "io", direction: "out", port: 0xe9, size: 1, value: 0x41 })).toBe("handled");
    expect(writes).toEqual([0x41]);
    expect(bus.handle(v, { kind: "io", direction: "out", port: 0x80, size: 1, value: 0 })).toBe("unclaimed");
    expect(bus.handle(v, { kind: "rdmsr", msr: 0x803 })).toBe("gp");
    expect(bus.handle(v, { kind: "wrmsr", msr: 0x803, value: 1n })).toBe("handled");
    expect(bus.handle(v, { kind: "rdmsr", msr: 0x1b })).toBe("unclaimed");
    v.inject(vector(0x30));
    expect(cpu.pendingInterrupts).toContain(0x30);
  });
});
