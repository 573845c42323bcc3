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

/** Each <g>'s hover title and owner rectangle, and every text, as Python's XML parser reads them. */
function readSvg(svg: string): { groups: { title: string; x: number; y: number; w: number; frames?: number; from?: number }[]; texts: string[] } {
  const py = `
import sys, json, xml.etree.ElementTree as E
ns = "{http://www.w3.org/2000/svg}"
root = E.fromstring(sys.stdin.read())
groups = []
for g in root.iter(ns + "g"):
    t, r = g.find(ns + "title"), g.find(ns + "rect")
    if t is not None and r is not None:
        groups.append({"title": t.text, "x": float(r.get("x")), "y": float(r.get("y")), "w": float(r.get("width"))})
print(json.dumps({"groups": groups, "texts": [t.text for t in root.iter(ns + "text")]}))`;
  return JSON.parse(execFileSync("/usr/bin/python3", ["-c", py], { input: svg }).toString());
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

  it("draws what the frame table says: every titled range's frames have its owner and use, each owner's ranges add up to its frames, drawn to one scale in address order", () => {
    const labels: Record<number, string> = { 0: "dom0", 1: "dom1", 2: "dom2", 0x7ff2: "Xen", 0x7ff4: "nobody" }; // 0x7ff4: DOMID_INVALID owns free frames
    const uses: Record<string, FrameUse> = { "guest RAM": FrameUse.Ram, "page tables": FrameUse.PageTable, "shared (grants, rings, shared_info)": FrameUse.Shared, hypervisor: FrameUse.Hypervisor, free: FrameUse.Free };
    const map = memoryMap(mem, { label: (d) => labels[d] ?? `dom${d}` });
    const { groups, texts } = readSvg(map.svg());
    const drawn = new Map<number, number>();
    for (const g of groups) {
      const m = /^mfn 0x([0-9a-f]+)–0x([0-9a-f]+): (.+?), (.+)$/.exec(g.title)!;
      expect(m, g.title).not.toBeNull();
      const [from, to] = [parseInt(m[1]!, 16), parseInt(m[2]!, 16)];
      const owner = Number(Object.keys(labels).find((k) => labels[Number(k)] === m[3]));
      // The frame table (not the view's own runs) is the oracle for what the title claims.
      for (let f = from; f <= to; f++) expect(mem.info(mfn(f)), `${g.title}: mfn ${f}`).toEqual(expect.objectContaining({ owner, use: uses[m[4]!] }));
      drawn.set(owner, (drawn.get(owner) ?? 0) + to - from + 1);
      g.frames = to - from + 1;
      g.from = from;
    }
    expect(drawn).toEqual(new Map([[0x7ff2, 256], [0, 2048], [1, 1006], [2, 300], [0x7ff4, 16384 - 256 - 2048 - 1006 - 300]]));
    // One horizontal scale (pixels per frame) for every range not widened for visibility (3 px
    // minimum): each is its frames' width to within a frame at either edge (pixel rounding).
    const wide = groups.filter((g) => g.w > 3);
    const scale = wide.reduce((a, g) => a + g.w, 0) / wide.reduce((a, g) => a + g.frames!, 0);
    for (const g of wide) expect(Math.abs(g.w - g.frames! * scale), g.title).toBeLessThanOrEqual(2 * scale);
    // Within a row, ranges lie left to right in mfn order.
    for (const row of new Set(groups.map((g) => g.y))) {
      const r = groups.filter((g) => g.y === row).sort((a, b) => a.from! - b.from!);
      for (let i = 1; i < r.length; i++) expect(r[i]!.x).toBeGreaterThan(r[i - 1]!.x);
    }
    // The legend gives each owner's size as the frame table counts it (4 KiB frames).
    for (const [owner, frames] of drawn) expect(texts).toContain(`${labels[owner]} ${(frames * 4096 / MiB).toFixed(1)} MiB`);
    expect(texts).toContain("page tables");
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
