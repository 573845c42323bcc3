/**
 * A long %run shows a live progress bar that ends as done; a short one shows only its summary.
 * Cells get the same bar for either host with runWithProgress.
 */
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
  expect(last.bundle["text/plain"]).toMatch(/5,000 \/ 5,000 ms of virtual time \(instructions [\d,]+, MIPS [\d.]+, wall s [\d.]+\) — done$/);
});

it("a short run shows only its summary", async () => {
  const out = await cells.run("%run 1ms");
  expect(out.displays).toHaveLength(0);
  expect(out.text).toMatch(/^ran 1\.000 ms/);
});

it("runWithProgress draws the same bar for the Longhorn host from a cell, and says when the instruction budget stopped it", async () => {
  await cells.run("%host new --hypervisor hyperv --mhz 20");
  await cells.run("const spin = longhorn.createChild({ name: 'spin', code: Uint8Array.from([0xeb, 0xfe]) })");
  const out = await cells.run("const r = runWithProgress(longhorn, { ns: 3e9, label: 'spinning on Longhorn' }); r.instructions");
  expect(out.errors).toEqual([]);
  expect(out.displays).toHaveLength(1);
  const last = out.updates[out.updates.length - 1]!;
  expect(last.id).toBe(out.displays[0]!.id);
  // The bar's final figures are the run's own: 3 s of virtual time, and the instructions it reports.
  const insns = Number(out.text.replace(/[^\d]/g, ""));
  expect(insns).toBeGreaterThan(0);
  expect(last.bundle["text/plain"]).toMatch(/^spinning on Longhorn: \[#+\] 100\.0% 3,000 \/ 3,000 ms of virtual time/);
  expect(last.bundle["text/plain"]).toContain(`instructions ${insns.toLocaleString("en-US")},`);
  expect(last.bundle["text/plain"]).toMatch(/— done$/);

  const spent = await cells.run("runWithProgress(longhorn, { maxInstructions: 200_000_000, label: 'budget' }).stoppedBy");
  expect(spent.text).toContain("instructions");
  expect(spent.displays).toHaveLength(1);
  expect(spent.updates[spent.updates.length - 1]!.bundle["text/plain"]).toMatch(/^budget: .*instructions 200,0\d\d,\d{3},.* — stopped: instructions$/);
});
