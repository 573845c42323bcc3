/** The machine memory map view: counts that match the frame table, valid SVG, bounded size. */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { FrameUse, MachineMemory } from "../../src/machine/memory";
import { domId, mfn } from "../../src/machine/types";
import { memoryMap } from "../../src/render/memmap";

const MiB = 1 << 20;

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

/** Row labels (the first frame of each row, right-aligned left of the plot) and every owner rectangle's place. */
function readGeometry(svg: string): { rows: { y: number; frame: number }[]; rects: { x: number; y: number; w: number; fill: string; title?: string }[] } {
  const py = `
import sys, json, xml.etree.ElementTree as E
ns = "{http://www.w3.org/2000/svg}"
root = E.fromstring(sys.stdin.read())
rows = [{"y": float(t.get("y")), "frame": int(t.text, 16)} for t in root.iter(ns + "text") if t.get("text-anchor") == "end" and t.text.startswith("0x")]
rects = []
for g in root.iter(ns + "g"):
    r, t = g.findall(ns + "rect"), g.find(ns + "title")
    if r:
        rects.append({"x": float(r[0].get("x")), "y": float(r[0].get("y")), "w": float(r[0].get("width")), "fill": r[0].get("fill"), "title": t.text if t is not None else None})
print(json.dumps({"rows": rows, "rects": rects}))`;
  return JSON.parse(execFileSync("/usr/bin/python3", ["-c", py], { input: svg, maxBuffer: 64 * MiB }).toString());
}

describe("at scale", () => {
  it("a 16 GiB host with 64 domains draws under 300 KB, each range drawn where its frames lie by the row labels' addresses, and named for what the frame table holds there", () => {
    const big = new MachineMemory(16 * 1024 * MiB);
    for (let d = 0; d < 64; d++) {
      big.allocate(domId(d), 16384, FrameUse.Ram);
      big.allocate(domId(d), 64, FrameUse.PageTable);
    }
    const svg = memoryMap(big).svg();
    expect(svg.length).toBeLessThan(300_000);
    expect(memoryMap(big).owners().length).toBe(65); // 64 domains + free
    const { rows, rects } = readGeometry(svg);
    // The row labels alone fix the scale: equal steps of frames from 0, covering the whole host.
    const step = rows[1]!.frame - rows[0]!.frame;
    expect(rows[0]!.frame).toBe(0);
    rows.forEach((r, i) => expect(r.frame).toBe(i * step));
    expect(rows.length * step).toBeGreaterThan(big.frameCount - rows.length); // the last row ends at the last frame (to rounding)
    const left = Math.min(...rects.map((r) => r.x)), right = Math.max(...rects.map((r) => r.x + r.w));
    const pxPerFrame = (right - left) / step;
    const rowOf = (y: number) => rows.findIndex((r) => Math.abs(r.y - (y + 13)) < 0.01);
    const uses: Record<string, FrameUse> = { "guest RAM": FrameUse.Ram, "page tables": FrameUse.PageTable, free: FrameUse.Free };
    let titled = 0;
    for (const r of rects.filter((x) => x.title)) {
      const m = /^mfn 0x([0-9a-f]+)–0x([0-9a-f]+): (?:dom(\d+)|(free)), (.+)$/.exec(r.title!)!;
      expect(m, r.title).not.toBeNull();
      const [from, to] = [parseInt(m[1]!, 16), parseInt(m[2]!, 16)];
      // What the title names is what the frame table holds at both ends of the range and in its middle.
      for (const f of [from, Math.floor((from + to) / 2), to]) {
        const info = big.info(mfn(f));
        expect(info.use, `${r.title}: mfn ${f}`).toBe(uses[m[5]!]);
        if (m[3] !== undefined) expect(info.owner, `${r.title}: mfn ${f}`).toBe(Number(m[3]));
      }
      // Drawn where its first frame maps: in the row whose label range holds it, at that frame's
      // offset from the row's start, to within one pixel column.
      const row = rowOf(r.y);
      expect(row, r.title).toBeGreaterThanOrEqual(0);
      expect(from - rows[row]!.frame, r.title).toBeGreaterThanOrEqual(0);
      expect(from - rows[row]!.frame, r.title).toBeLessThan(step);
      const column = (right - left) / Math.round((right - left) / Math.min(...rects.map((x) => x.w)));
      expect(Math.abs(left + (from - rows[row]!.frame) * pxPerFrame - r.x), r.title).toBeLessThanOrEqual(column + 0.1);
      titled++;
    }
    expect(titled).toBeGreaterThan(64);
    // Every domain's RAM (16384 frames from mfn d × 16448) is named somewhere at its own address.
    for (let d = 0; d < 64; d++) {
      const start = d * 16448;
      const hit = rects.find((r) => r.title?.includes(`dom${d}, guest RAM`));
      expect(hit, `dom${d}`).toBeDefined();
      const row = rowOf(hit!.y);
      expect(rows[row]!.frame + (hit!.x - left) / pxPerFrame, `dom${d}`).toBeGreaterThanOrEqual(start - step / 100);
    }
  });

  it("a maximally fragmented map (one frame per run, 97 owners) still draws under 300 KB, each row's rectangles tiling its width in address order", () => {
    const shredded = new MachineMemory(256 * MiB);
    for (let i = 0; i < shredded.frameCount; i++) shredded.allocate(domId(i % 97), 1, i % 3 ? FrameUse.Ram : FrameUse.PageTable);
    const map = memoryMap(shredded);
    expect(map.runs.length).toBe(shredded.frameCount);
    const fragmented = map.svg();
    expect(fragmented.length).toBeLessThan(300_000);
    const { rows, rects } = readGeometry(fragmented);
    expect(rows[0]!.frame).toBe(0);
    const step = rows[1]!.frame - rows[0]!.frame;
    expect(rows.length * step).toBeGreaterThan(shredded.frameCount - rows.length);
    const left = Math.min(...rects.map((r) => r.x)), right = Math.max(...rects.map((r) => r.x + r.w));
    for (const row of rows) {
      const mine = rects.filter((r) => Math.abs(r.y + 13 - row.y) < 0.01).sort((a, b) => a.x - b.x);
      expect(mine.length, `row ${row.frame}`).toBeGreaterThan(0);
      expect(mine[0]!.x).toBeCloseTo(left, 1);
      // Neighbours meet: each rectangle begins where the one before it ends (or under a widened
      // small run drawn over it), so no frame's column is left blank.
      for (let i = 1; i < mine.length; i++) expect(mine[i]!.x, `row ${row.frame}`).toBeLessThanOrEqual(mine[i - 1]!.x + mine[i - 1]!.w + 0.15); // x and width are rounded to 0.1 px
      expect(Math.max(...mine.map((r) => r.x + r.w))).toBeGreaterThanOrEqual(right - 0.1 - 3);
    }
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
