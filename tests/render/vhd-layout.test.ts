/** The VHD file-layout bar names what it shows: a legend for every structure, each one visible and in file order, drawn at its byte offset. */
import { execFileSync } from "node:child_process";
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

  it("draws each structure where its bytes are, as the VHD spec's fields say (read by Python from the file, not by our parser), blocks in file order rather than BAT order", () => {
    const path = join(mkdtempSync(join(tmpdir(), "vhd-layout-")), "o.vhd");
    const d = createVhd(path, { type: "dynamic", size: 64 << 20 });
    // Blocks are appended in the order they are first written: 20, 3, 11 (2 MiB blocks).
    for (const b of [20, 3, 11]) d.write(b * (2 << 20) + 4096, new Uint8Array(512).fill(b));
    d.flush();
    const svg = renderVhdSvg(d);
    d.close();
    // The spec's own reading: footer (last 512 bytes) data offset at 16, the dynamic header's
    // table offset at 16 and max table entries at 28, BAT entries big-endian sector numbers.
    const py = `
import json, struct, sys
f = open(sys.argv[1], "rb").read()
foot = f[-512:]
assert foot[:8] == b"conectix"
hdr_off = struct.unpack(">Q", foot[16:24])[0]
hdr = f[hdr_off:hdr_off + 1024]
assert hdr[:8] == b"cxsparse"
bat_off, = struct.unpack(">Q", hdr[16:24]); entries, = struct.unpack(">I", hdr[28:32]); block, = struct.unpack(">I", hdr[32:36])
bat = struct.unpack(">%dI" % entries, f[bat_off:bat_off + 4 * entries])
blocks = {i: s * 512 for i, s in enumerate(bat) if s != 0xffffffff}
bitmap = ((block // 512 // 8 + 511) // 512) * 512
print(json.dumps({"size": len(f), "header": hdr_off, "bat": bat_off, "batLen": (entries * 4 + 511) // 512 * 512, "blocks": blocks, "blockLen": bitmap + block, "footer": len(f) - 512}))`;
    const spec = JSON.parse(execFileSync("/usr/bin/python3", ["-c", py, path]).toString()) as { size: number; header: number; bat: number; batLen: number; blocks: Record<string, number>; blockLen: number; footer: number };
    expect(Object.keys(spec.blocks).map(Number).sort((a, b) => a - b)).toEqual([3, 11, 20]);
    expect(spec.blocks[20]!).toBeLessThan(spec.blocks[3]!); // written first, so first in the file
    const rects = [...svg.matchAll(/<rect class="layout" data-kind="[^"]+" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"[^>]*><title>([^<]*) @(\d+) \(\+(\d+)\)<\/title>/g)]
      .map((m) => ({ x: Number(m[1]), w: Number(m[2]), what: m[3]!, at: Number(m[4]), len: Number(m[5]) }));
    const want: [string, number, number][] = [["footer copy", 0, 512], ["dynamic header", spec.header, 1024], ["BAT", spec.bat, spec.batLen],
      ...Object.entries(spec.blocks).map(([b, at]): [string, number, number] => [`block ${b}`, at, spec.blockLen]), ["footer", spec.footer, 512]];
    expect(rects.map((r) => [r.what, r.at, r.len]).sort()).toEqual(want.sort());
    // The bar spans the outline rectangle; each structure starts at its offset's share of the file
    // and is as wide as its share (at least 3 px), to the 0.1 px the picture is written in.
    const bar = /<rect x="10" y="[\d.]+" width="([\d.]+)" height="16" fill="#fff"/.exec(svg)!;
    const width = Number(bar[1]);
    for (const r of rects) {
      expect(r.x, r.what).toBeCloseTo(10 + (r.at / spec.size) * width, 1);
      expect(r.w, r.what).toBeCloseTo(Math.max(3, (r.len / spec.size) * width), 1);
    }
    // In the picture, block 20 lies left of block 3, as in the file.
    const x = (what: string) => rects.find((r) => r.what === what)!.x;
    expect(x("block 20")).toBeLessThan(x("block 11"));
    expect(x("block 3")).toBeLessThan(x("block 11"));
    expect(x("footer")).toBeGreaterThan(x("block 11"));
  });
});
