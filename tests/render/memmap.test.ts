/** The machine memory map view: counts that match the frame table, valid SVG, bounded size. */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { FrameUse, MachineMemory } from "../../src/machine/memory";
import { domId, mfn } from "../../src/machine/types";
import { memoryMap } from "../../src/render/memmap";

const MiB = 1 << 20;

/** Well-formed XML, checked by Python's parser (an independent reader). */
function parsesAsXml(svg: string): void {
  execFileSync("/usr/bin/python3", ["-c", "import sys, xml.etree.ElementTree as E; E.fromstring(sys.stdin.read())"], { input: svg });
}

describe("memoryMap", () => {
  const mem = new MachineMemory(64 * MiB);
  mem.allocate(domId(0x7ff2), 256, FrameUse.Hypervisor);
  mem.allocate(domId(0), 2048, FrameUse.Ram);
  mem.allocate(domId(1), 1000, FrameUse.Ram);
  mem.allocate(domId(1), 5, FrameUse.PageTable);
  mem.allocate(domId(2), 300, FrameUse.Ram);
  mem.allocate(domId(1), 1, FrameUse.Shared);

  it("summarises each owner with frame counts equal to the frame table's", () => {
    const map = memoryMap(mem, { label: (d) => (d === 1 ? "dom1 longhorn" : `dom${d}`) });
    const counts = new Map<number, number>();
    for (let i = 0; i < mem.frameCount; i++) {
      const info = mem.info(mfn(i));
      if (info.use !== FrameUse.Free) counts.set(info.owner, (counts.get(info.owner) ?? 0) + 1);
    }
    const owners = map.owners().filter((o) => o.owner !== 0x7ff4);
    expect(new Map(owners.map((o) => [o.owner, o.frames]))).toEqual(counts);
    const text = map.toMimeBundle()["text/plain"];
    expect(text).toMatch(/dom1 longhorn\s+1006 frames\s+3\.9 MiB\s+in 3 runs: guest RAM 1000, page tables 5, shared \(grants, rings, shared_info\) 1/);
    expect(text).toContain("Machine memory: frames 0x0..0x3fff (16384 frames, 64.0 MiB)");
  });

  it("draws valid SVG with a legend and hover titles naming frames, owner and use", () => {
    const svg = memoryMap(mem).svg();
    parsesAsXml(svg);
    expect(svg).toContain("<title>mfn 0x0–");
    expect(svg).toMatch(/Xen, hypervisor<\/title>/);
    expect(svg).toMatch(/>dom1 3\.9 MiB</);
    expect(svg).toContain(">page tables<");
  });

  it("zooms into a frame range", () => {
    // Xen has frames 0..255, dom0 256..2303, then dom1's RAM and page tables 2304..3308.
    const zoom = memoryMap(mem, { first: 2304, end: 2304 + 1005 });
    expect(zoom.owners().map((o) => o.owner)).toEqual([1]);
    expect(zoom.text()).toContain("frames 0x900..0xcec (1005 frames");
    expect(() => memoryMap(mem, { first: 10, end: 10 })).toThrow(/empty frame range/);
  });
});

describe("at scale", () => {
  it("a 16 GiB host with 64 domains draws under 300 KB, and so does a maximally fragmented map", () => {
    const big = new MachineMemory(16 * 1024 * MiB);
    for (let d = 0; d < 64; d++) {
      big.allocate(domId(d), 16384, FrameUse.Ram);
      big.allocate(domId(d), 64, FrameUse.PageTable);
    }
    const svg = memoryMap(big).svg();
    expect(svg.length).toBeLessThan(300_000);
    parsesAsXml(svg);
    expect(memoryMap(big).owners().length).toBe(65); // 64 domains + free

    const shredded = new MachineMemory(256 * MiB);
    for (let i = 0; i < shredded.frameCount; i++) shredded.allocate(domId(i % 97), 1, i % 3 ? FrameUse.Ram : FrameUse.PageTable);
    const map = memoryMap(shredded);
    expect(map.runs.length).toBe(shredded.frameCount);
    const fragmented = map.svg();
    expect(fragmented.length).toBeLessThan(300_000);
    parsesAsXml(fragmented);
  });
});

describe("memoryMap keeps small runs visible", () => {
  it("a lone shared_info frame and a few page-table frames among a GiB of RAM are drawn at least 3 px wide", () => {
    const big = new MachineMemory(1024 * MiB);
    big.allocate(domId(1), 100_000, FrameUse.Ram);
    big.allocate(domId(1), 1, FrameUse.Shared);
    big.allocate(domId(1), 100_000, FrameUse.Ram);
    big.allocate(domId(1), 4, FrameUse.PageTable);
    big.allocate(domId(1), 50_000, FrameUse.Ram);
    const svg = memoryMap(big).svg();
    const widths = (fill: string) => [...svg.matchAll(new RegExp(`<rect x="[\\d.]+" y="[\\d.]+" width="([\\d.]+)" height="[\\d.]+" fill="${fill}"/>`, "g"))].map((m) => Number(m[1]));
    for (const fill of ["#c2a521", "#e0913a"]) {
      const w = widths(fill);
      expect(w.length, fill).toBeGreaterThanOrEqual(1);
      expect(Math.min(...w), fill).toBeGreaterThanOrEqual(3);
    }
  });
});
