/** A long %run shows a live progress bar that ends as done; a short one shows only its summary. */
import { afterAll, beforeAll, expect, it } from "vitest";
import { Cells } from "../support/cells";

let cells: Cells;
beforeAll(() => {
  cells = new Cells();
});
afterAll(() => cells.close());

it("a run longer than a moment draws progress, updated in place, ending as done", async () => {
  await cells.run("setCurrentHost({ pcpus: 1, memoryMiB: 128, cpuMHz: 20 }); host.createLabDomain('spinner', Uint8Array.from([0xeb, 0xfe]))");
  const out = await cells.run("%run 5s");
  expect(out.errors).toEqual([]);
  expect(out.text).toMatch(/^ran 5000\.000 ms of virtual time/);
  expect(out.displays).toHaveLength(1);
  const id = out.displays[0]!.id!;
  expect(out.displays[0]!.bundle["text/plain"]).toMatch(/^running the host: \[/);
  const last = out.updates[out.updates.length - 1]!;
  expect(last.id).toBe(id);
  expect(last.bundle["text/plain"]).toMatch(/5,000 \/ 5,000 ms of virtual time \(instructions [\d,]+, MIPS [\d.]+\) — done$/);
});

it("a short run shows only its summary", async () => {
  const out = await cells.run("%run 1ms");
  expect(out.displays).toHaveLength(0);
  expect(out.text).toMatch(/^ran 1\.000 ms/);
});
