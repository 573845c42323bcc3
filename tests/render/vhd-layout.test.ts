/** The VHD file-layout bar names what it shows: a legend for every structure, each one visible and in file order. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderVhdSvg } from "../../src/render/vhd";
import { createVhd } from "../../src/vhd";

describe("VHD file layout", () => {
  it("a dynamic disk with one block: footer copy, header, BAT, block, footer, each at least 3 px, with a legend", () => {
    const d = createVhd(join(mkdtempSync(join(tmpdir(), "vhd-layout-")), "l.vhd"), { type: "dynamic", size: 64 << 20 });
    d.write(10 << 20, new Uint8Array(512).fill(1));
    d.flush();
    const svg = renderVhdSvg(d);
    d.close();
    const legend = [...svg.matchAll(/<text class="legend"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(legend).toEqual(["footer copy", "dynamic header", "BAT", "blocks (bitmap + data)", "footer"]);
    const rects = [...svg.matchAll(/<rect class="layout" data-kind="([^"]+)" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"/g)].map((m) => ({ kind: m[1]!, x: Number(m[2]), w: Number(m[3]) }));
    expect(rects.map((r) => r.kind)).toEqual(["footer copy", "dynamic header", "BAT", "blocks (bitmap + data)", "footer"]);
    for (const r of rects) expect(r.w, r.kind).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < rects.length; i++) expect(rects[i]!.x, rects[i]!.kind).toBeGreaterThanOrEqual(rects[i - 1]!.x);
    const height = Number(/<svg[^>]* height="(\d+)"/.exec(svg)![1]);
    const lastLegendY = Math.max(...[...svg.matchAll(/<text class="legend" x="[\d.]+" y="(\d+)"/g)].map((m) => Number(m[1])));
    expect(height).toBeGreaterThan(lastLegendY);
  });
});
