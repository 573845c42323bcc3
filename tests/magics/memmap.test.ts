/** %memmap over the shared host: the owners it draws are the frame table's, zoom works, bad input is named. */
import { afterAll, beforeAll, expect, it } from "vitest";
import { FrameUse } from "../../src/machine/memory";
import { currentHost, setCurrentHost } from "../../src/xen";
import { Cells } from "../support/cells";

let cells: Cells;
beforeAll(() => {
  setCurrentHost({ pcpus: 2, memoryMiB: 256 });
  cells = new Cells();
});
afterAll(() => cells.close());

it("draws the whole host with dom0 named and frame counts equal to the frame table's", async () => {
  const out = await cells.run("%memmap");
  expect(out.errors).toEqual([]);
  const mem = currentHost().machine.memory;
  const dom0Frames = mem.runs().filter((r) => r.owner === 0 && r.use !== FrameUse.Free).reduce((n, r) => n + r.count, 0);
  expect(dom0Frames).toBeGreaterThan(0);
  expect(out.text).toMatch(new RegExp(`dom0 Domain-0\\s+${dom0Frames} frames`));
  expect(out.results[0]!["image/svg+xml"]).toContain("<svg");
});

it("zooms to one domain's frames", async () => {
  const out = await cells.run("%memmap Domain-0");
  expect(out.errors).toEqual([]);
  expect(out.text.split("\n").filter((l) => /^\s{2}\S/.test(l)).map((l) => l.trim().split(/\s{2,}/)[0])).toEqual(["dom0 Domain-0"]);
});

it("names what was wrong", async () => {
  expect((await cells.run("%memmap ghost")).errors[0]!.evalue).toBe("%memmap: no domain ghost (%xl list shows them)");
  expect((await cells.run("%memmap --from lots")).errors[0]!.evalue).toContain("--from takes a machine frame number");
  expect((await cells.run("%memmap --frobnicate")).errors[0]!.evalue).toContain("unknown option --frobnicate");
});
