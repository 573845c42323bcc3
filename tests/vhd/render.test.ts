/** A VHD shows itself: text summary and an SVG of its chain, block occupancy and file layout. */
import { afterAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { createDifferencing, createVhd } from "../../src/vhd";
import { run, tempDir } from "./helpers";

const t = tempDir("render");
afterAll(t.cleanup);
const MiB = 1024 * 1024;

describe("VhdDisk.toMimeBundle", () => {
  it("summarises a chain and draws which file holds each block", () => {
    const p = join(t.dir, "p.vhd");
    const base = createVhd(p, { size: 64 * MiB, sizePolicy: "exact" });
    base.write(0, Buffer.alloc(2 * MiB, 1));
    base.write(10 * MiB, Buffer.alloc(2 * MiB, 2));
    base.close();
    const c = createDifferencing(join(t.dir, "c.vhd"), p);
    c.write(10 * MiB, Buffer.alloc(2 * MiB, 3));
    const bundle = c.toMimeBundle();
    c.close();
    expect(bundle["text/plain"]).toContain("differencing, 64 MiB");
    expect(bundle["text/plain"]).toContain("chain: c.vhd (differencing) -> p.vhd (dynamic)");
    const svg = bundle["image/svg+xml"] as string;
    // well-formed XML, checked by Python's parser; one cell per 2 MiB block
    const cells = run("/usr/bin/python3", ["-c", `
import sys, xml.dom.minidom
d = xml.dom.minidom.parseString(sys.stdin.read())
rects = d.getElementsByTagName("rect")
print(sum(1 for r in rects if r.getAttribute("fill") == "#e2e8f0"))
print(sum(1 for r in rects if r.getAttribute("fill") == "#2b6cb0" and r.getElementsByTagName("title") and "c.vhd" in r.getElementsByTagName("title")[0].firstChild.data))
print(sum(1 for r in rects if r.getAttribute("fill") == "#dd6b20" and r.getElementsByTagName("title") and "p.vhd" in r.getElementsByTagName("title")[0].firstChild.data))
`], Buffer.from(svg)).trim().split("\n").map(Number);
    expect(cells[0]).toBe(32); // background of every cell
    expect(cells[1]).toBe(1); // block 5 is the child's
    expect(cells[2]).toBe(1); // block 0 is the parent's (block 5's parent copy is hidden by the child)
  });

  it("summarises a large disk instead of drawing every block", () => {
    const d = createVhd(join(t.dir, "big.vhd"), { size: 2000 * 1024 * MiB, blockSize: 512 * 1024 });
    const svg = d.toMimeBundle()["image/svg+xml"] as string;
    d.close();
    expect(svg.length).toBeLessThan(200_000);
    expect(svg).toContain("one cell = ");
    const fixed = createVhd(join(t.dir, "f.vhd"), { type: "fixed", size: 8 * MiB });
    expect(fixed.toMimeBundle()["text/plain"]).toContain("fixed, 8");
    fixed.close();
  });
});
