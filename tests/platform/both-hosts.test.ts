/**
 * One platform under both hypervisors: a platform device written once (here a POST-code port
 * 0x80 and an MSR, as a chipset would have) answers guests on the Xen host and on the Longhorn
 * host alike, and Hyper-V's VPs are scheduled by the same run loop as Xen's vCPUs: two spinning
 * child VPs on one LP share it evenly, a quantum at a time.
 */
import { describe, expect, it } from "vitest";
import { XenHost } from "../../src/xen/host";
import { HypervHost } from "../../src/hyperv/host";
import type { PlatformDevice } from "../../src/platform";
import { labCode } from "../xen/helpers";
import { nasm } from "../hyperv/helpers";

const GUEST = `
  mov al, 0x42
  out 0x80, al
  mov ecx, 0x4b564d00
  rdmsr
  mov r12, rax
  in al, 0x80
  movzx r13, al
  cli
  hlt`;

function postCard(log: string[]): PlatformDevice {
  let last = 0;
  return {
    name: "post-card",
    ports: [{ first: 0x80, last: 0x80 }],
    msrs: [{ first: 0x4b564d00, last: 0x4b564d00 }],
    portOut: (v, _p, _s, value) => { last = value; log.push(`${v.key} out 0x${value.toString(16)}`); },
    portIn: () => last + 1,
    rdmsr: (v) => BigInt(0x1000 + v.index),
  };
}

describe("the shared platform", () => {
  it("a platform device serves a Xen lab guest and a Hyper-V child with the same code", () => {
    const log: string[] = [];
    const xen = new XenHost({ pcpus: 1, memoryMiB: 128 });
    xen.devices.add(postCard(log));
    const d = xen.createLabDomain("post", labCode(GUEST), { extra: 'on_poweroff = "preserve"' });
    xen.run({ ns: 1e6 });
    const hv = new HypervHost({ lps: 1 });
    hv.devices.add(postCard(log));
    const p = hv.createChild({ name: "post", code: nasm(GUEST) });
    hv.run({ ns: 1e6 });
    expect(log).toEqual([`d${d.domid}v0 out 0x42`, `p${p.id}vp0 out 0x42`]);
    for (const cpu of [d.vcpus[0]!.cpu!, p.vps[0]!.cpu]) {
      expect(cpu.getReg("r12")).toBe(0x1000n);
      expect(cpu.getReg("r13")).toBe(0x43n);
    }
  });

  it("Hyper-V child VPs share one LP evenly on the platform's run loop", () => {
    const hv = new HypervHost({ lps: 1, quantum: 10_000 });
    const spin = nasm("l: inc rax\n jmp l");
    const a = hv.createChild({ name: "a", code: spin });
    const b = hv.createChild({ name: "b", code: spin });
    const r = hv.run({ ns: 10_000_000 });
    expect(r.stoppedBy).toBe("time");
    const ra = a.vps[0]!.runtimeNs, rb = b.vps[0]!.runtimeNs;
    // One LP: together they ran the whole 10 ms, each within one quantum (10 µs) of half.
    expect(ra + rb).toBeCloseTo(10_000_000, -3);
    expect(Math.abs(ra - rb)).toBeLessThanOrEqual(10_000);
    expect(hv.instructions).toBe(Math.round((ra + rb) * hv.cpuMHz / 1000));
  });
});
