/** The bar chart says its numbers: labels, totals and legend in the SVG text, bars to scale. */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { barChart } from "../../src/render/bar-chart";

const rects = (svg: string) => [...svg.matchAll(/<rect class="bar" data-part="([^"]+)" data-value="(\d+)" x="([\d.]+)" y="(\d+)" width="([\d.]+)"/g)].map((m) => ({ part: m[1]!, value: Number(m[2]), x: Number(m[3]), y: Number(m[4]), w: Number(m[5]) }));
const texts = (svg: string, cls: string) => [...svg.matchAll(new RegExp(`<text class="${cls}"[^>]*>([^<]*)</text>`, "g"))].map((m) => m[1]);

describe("barChart", () => {
  const chart = barChart("VM exits for the same 50 lines", [
    { label: "pv", parts: { hypercall: 51 } },
    { label: "emulated", parts: { io: 3050, hypercall: 1 } },
  ], "exits");

  it("names each bar, writes its total and lists every part in the legend", () => {
    const svg = chart.svg();
    execFileSync("/usr/bin/python3", ["-c", "import sys, xml.etree.ElementTree as E; E.fromstring(sys.stdin.read())"], { input: svg });
    expect(texts(svg, "label")).toEqual(["pv", "emulated"]);
    expect(texts(svg, "value")).toEqual(["51 exits", "3051 exits"]);
    expect(texts(svg, "legend")).toEqual(["hypercall", "io"]);
    expect(chart.text()).toContain("emulated    3051 exits  io 3050, hypercall 1");
  });

  it("draws bars to scale, one colour per part, a small part still visible", () => {
    const r = rects(chart.svg());
    const em = r.filter((b) => b.y !== r[0]!.y); // the second bar ("emulated")
    // Linear: every part above the 2 px floor has the same pixels per exit (to the 0.1 px the
    // SVG is written with), so the bars' lengths are in the ratio of their counts (3050 : 51).
    const scaled = r.filter((b) => b.w > 2);
    const longest = scaled.reduce((a, b) => (b.value > a.value ? b : a));
    const pxPerExit = longest.w / longest.value;
    for (const b of scaled) expect(Math.abs(b.w - b.value * pxPerExit), b.part).toBeLessThanOrEqual(0.1);
    expect(scaled.map((b) => b.value).sort((a, b) => a - b)).toEqual([51, 3050]);
    // The one-exit part would be 0.1 px: drawn at the floor, and the part after it starts where it ends.
    const tiny = em.find((b) => b.part === "hypercall")!;
    expect(tiny.w).toBe(2);
    const [first, second] = [...em].sort((a, b) => a.x - b.x);
    expect(second!.x).toBeCloseTo(first!.x + first!.w, 1);
    const fill = (svg: string, part: string) => [...new Set([...svg.matchAll(new RegExp(`data-part="${part}"[^>]*fill="([^"]+)"`, "g"))].map((m) => m[1]))];
    expect(fill(chart.svg(), "hypercall")).toHaveLength(1);
  });

  it("refuses a part that is not a count", () => {
    expect(() => barChart("x", [{ label: "a", parts: { n: -1 } }])).toThrow(/part "n" is -1/);
  });
});
