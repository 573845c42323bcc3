/** Views draw real state: domain list, event channels, grant tables, XenStore tree, pCPU timeline. SVG checked by Python's XML parser. */
import { grantRef } from "../../src/xen/types";
import { domId, gfn } from "../../src/machine";
import { execFileSync } from "node:child_process";
import { beforeAll, describe, expect, it } from "vitest";
import { XenHost } from "../../src/xen/host";
import { GTF_permit_access } from "../../src/xen/abi";
import { labCode } from "./helpers";
import { buildPvhGuest } from "./guest-build";

function wellFormed(xml: string): void {
  execFileSync("/usr/bin/python3", ["-c", "import sys, xml.etree.ElementTree as E; E.fromstring(sys.stdin.read())"], { input: xml });
}

let host: XenHost;
beforeAll(() => {
  host = new XenHost({ pcpus: 2, memoryMiB: 512 });
  const k = buildPvhGuest().path;
  host.createDomain(`name="ping"\ntype="pvh"\nkernel="${k}"\nmemory=32\ncmdline="role=ping peer=2 rounds=3"`);
  host.createDomain(`name="pong"\ntype="pvh"\nkernel="${k}"\nmemory=32\ncmdline="role=pong peer=1 rounds=3"`);
  host.createLabDomain("spin", labCode("l: jmp l"));
  host.run({ ns: 20e6 });
});

describe("views", () => {
  it("the domain list is xl list text with an SVG of vCPU states and memory", () => {
    const b = host.toMimeBundle();
    expect(b["text/plain"]).toMatch(/^Name\s+ID\s+Mem VCPUs\tState\tTime\(s\)\n/);
    wellFormed(b["image/svg+xml"] as string);
    expect(() => host.createLabDomain("a<b", new Uint8Array([0xf4]))).toThrow(/not a valid domain name/);
    expect(host.domain("ping").toMimeBundle()["text/plain"]).toContain("Event channels:");
  });

  it("event channels: interdomain pairs, virqs, the host's services", () => {
    const b = host.eventChannels().toMimeBundle();
    expect(b["text/plain"]).toContain("port   4 interdomain -> d2:4");
    expect(b["text/plain"]).toMatch(/port\s+3 virq\s+virq 0 vcpu 0/);
    expect(b["text/plain"]).toMatch(/\[xenstore d1\]/);
    wellFormed(b["image/svg+xml"] as string);
    expect((b["image/svg+xml"] as string).match(/<line /g)?.length).toBeGreaterThanOrEqual(1);
  });

  it("grant tables decode GTF flags and show who maps what", () => {
    const g = host.domain("spin");
    g.gnttab.setEntry(grantRef(9), domId(1), gfn(0x123), GTF_permit_access | (1 << 2));
    const b = host.grantTables().toMimeBundle();
    expect(b["text/plain"]).toContain("ref    9 flags 0x0005 permit_access|readonly");
    expect(b["text/plain"]).toMatch(/ref    8 flags 0x0000 invalid\s+to d2 frame/); // ping revoked its grant to pong after the unmap
    expect(b["text/html"]).toContain("<table");
  });

  it("the XenStore tree lists nodes xenstore-ls style with permissions in HTML", () => {
    const b = host.xenstoreTree("/local/domain/1").toMimeBundle();
    expect(b["text/plain"]).toContain('/local/domain/1/name = "ping"');
    expect(b["text/plain"]).toContain('/local/domain/1/data/hello = "world"');
    expect(b["text/html"]).toContain("(n1,r2)");
  });

  it("the timeline accounts every ns each domain ran", () => {
    const b = host.timeline(0, host.now).toMimeBundle();
    wellFormed(b["image/svg+xml"] as string);
    const spin = host.domain("spin");
    const m = new RegExp(`spin\\s+([\\d.]+) ms`).exec(b["text/plain"])!;
    expect(Number(m[1])).toBeCloseTo(spin.cpuTime() / 1e6, 2);
  });
});

describe("trace and vCPU views", () => {
  it("the hypercall trace names calls and errno results", () => {
    const h = new XenHost({ pcpus: 1, memoryMiB: 128 });
    h.createDomain(`name="early"\ntype="pvh"\nkernel="${buildPvhGuest().path}"\nmemory=16\ncmdline="role=xsbench rounds=1"`);
    h.run({ ns: 0.5e6 });
    const t = h.traceView(1, 1000).toMimeBundle()["text/plain"];
    expect(t).toMatch(/d1v0\s+xen_version\(0, 0, /);
    expect(t).toMatch(/d1v0\s+hvm_op\(0, 0x[0-9a-f]+, \d+\)\s+= 0/);
    expect(t).toMatch(/d1v0\s+memory_op\(7, 0x[0-9a-f]+, \d+\)\s+= 0/);
    h.createLabDomain("bad", labCode("mov eax, 41\n vmcall\n cli\n hlt"));
    h.run({ ns: 1e6 });
    expect(h.traceView(2).toMimeBundle()["text/plain"]).toMatch(/d2v0\s+dm_op\(.*\)\s+= -ENOSYS/);
  });

  it("a vCPU shows Xen's view of it above the machine's registers", () => {
    const b = host.domain("ping").vcpus[0]!.toMimeBundle();
    expect(b["text/plain"]).toMatch(/^d1v0 \(ping\): blocked on block, pCPU \d, credit -?\d+, up\n/);
  });
});

describe("Viridian moves Xen's leaves (xl.cfg viridian = 1)", () => {
  it("Xen's signature at 0x40000100 and the hypercall MSR at 0x40000200", () => {
    const h = new XenHost({ pcpus: 1, memoryMiB: 128 });
    const d = h.createLabDomain("vir", labCode(`
      mov eax, 0x40000100
      cpuid
      mov r12, rbx
      mov eax, 0x40000102
      cpuid
      mov r13, rbx
      mov ecx, ebx
      mov eax, 0x300000
      xor edx, edx
      wrmsr
      cli
      hlt`), { extra: "viridian = 1\non_poweroff = 'preserve'" });
    h.run({ ns: 1e6 });
    const cpu = d.vcpus[0]!.cpu!;
    expect(cpu.getReg("r12")).toBe(0x566e6558n);
    expect(cpu.getReg("r13")).toBe(0x40000200n);
    expect(d.hypercallPageGpa).toBe(0x300000);
    expect([...d.guest.read(0x300000 + 17 * 32, 9)]).toEqual([0xb8, 17, 0, 0, 0, 0x0f, 0x01, 0xc1, 0xc3]);
  });
});
