/**
 * %p2m and %topology over a live host: what they draw agrees with the host's own tables, the SVG is
 * well-formed (Python's XML parser), and bad input is named.
 */
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { currentHost } from "../../src/xen";
import { Cells } from "../support/cells";

const parsesAsXml = (svg: string) => execFileSync("/usr/bin/python3", ["-c", "import sys, xml.etree.ElementTree as E; E.fromstring(sys.stdin.read())"], { input: svg });

let cells: Cells;
beforeAll(async () => {
  cells = new Cells();
  const setup = await cells.run(`setCurrentHost({ pcpus: 2, memoryMiB: 256, cpuMHz: 10 });
const fe = host.createLabDomain("frontend", Uint8Array.from([0xf4]), { vcpus: 2, paused: true });
const port = fe.evtchn.alloc("unbound", { remoteDom: domId(0), label: "demo" })!.port;
host.bindService(fe, port, "demo", () => {});`);
  expect(setup.errors).toEqual([]);
});
afterAll(() => cells.close());

describe("%p2m", () => {
  it("lists runs that cover exactly the domain's P2M entries, and draws them", async () => {
    const out = await cells.run("%p2m frontend");
    expect(out.errors).toEqual([]);
    const host = currentHost();
    const d = host.domain("frontend");
    const entries = host.machine.p2m(d.domid).entries();
    const runs = [...out.text.matchAll(/gfn (0x[0-9a-f]+)-(0x[0-9a-f]+) -> mfn (0x[0-9a-f]+)-(0x[0-9a-f]+)/g)];
    const covered = new Map<number, number>();
    for (const [, g1, g2, m1] of runs) for (let g = Number(g1); g <= Number(g2!); g++) covered.set(g, Number(m1) + g - Number(g1));
    expect(covered.size).toBe(entries.length);
    for (const e of entries) expect(covered.get(e.gfn)).toBe(e.mfn);
    parsesAsXml(out.results[0]!["image/svg+xml"] as string);
  });

  it("names a domain that does not exist", async () => {
    expect((await cells.run("%p2m ghost")).errors[0]!.evalue).toBe("%p2m: no domain ghost (%xl list shows them)");
  });
});

describe("%topology", () => {
  it("shows each domain with its vCPUs and the event channels between domains", async () => {
    const out = await cells.run("%topology");
    expect(out.errors).toEqual([]);
    expect(out.text).toMatch(/^d0 Domain-0 \(dom0, \d+ MiB\) vCPUs v0:\w+ v1:\w+/m);
    expect(out.text).toMatch(/^d1 frontend \(lab, 16 MiB\) vCPUs v0:\w+ v1:\w+/m);
    expect(out.text).toMatch(/d0 <-> d1: xenstore, console, demo/);
    const svg = out.results[0]!["image/svg+xml"] as string;
    parsesAsXml(svg);
    expect(svg).toMatch(/event channel d[01] ↔ d[01]: demo/);
  });
});

describe("the scheduler timeline", () => {
  it("ends with each guest vCPU's credit balance and priority", async () => {
    const out = await cells.run(`setCurrentHost({ pcpus: 1, memoryMiB: 256, cpuMHz: 10 });
host.createLabDomain("a", Uint8Array.from([0xeb, 0xfe]), { extra: "cpu_weight = 512" });
host.createLabDomain("b", Uint8Array.from([0xeb, 0xfe]));
%run 100ms
host.timeline()`);
    expect(out.errors).toEqual([]);
    expect(out.text).toMatch(/credit now:\n  a v0\s+-?\d+  (UNDER|OVER|BOOST)\n  b v0\s+-?\d+  (UNDER|OVER|BOOST)/);
    const credits = currentHost().domain("a").vcpus[0]!.credit;
    expect(out.text).toContain(`a v0`.padEnd(24) + String(Math.round(credits)).padStart(7));
    parsesAsXml(out.results[0]!["image/svg+xml"] as string);
  });
});
