/** %host shows or replaces the notebook's hosts; cells see them as `host` (Xen) and `longhorn` (Hyper-V). */
import { afterAll, beforeAll, expect, it } from "vitest";
import { Cells } from "../support/cells";

let cells: Cells;
beforeAll(() => {
  cells = new Cells();
});
afterAll(() => cells.close());

it("%host new replaces the Xen host that `host` and %xl see", async () => {
  const out = await cells.run("%host new --pcpus 2 --memory 512");
  expect(out.errors).toEqual([]);
  expect((await cells.run("host.pcpus.length")).text).toBe("2");
  expect((await cells.run("%xl info")).text).toMatch(/nr_cpus\s+: 2/);
});

it("%host new --hypervisor hyperv gives a fresh Longhorn host as `longhorn`, with its root partition", async () => {
  const out = await cells.run("%host new --hypervisor hyperv");
  expect(out.errors).toEqual([]);
  const same = await cells.run("longhorn === currentHypervHost()");
  expect(same.text).toBe("true");
  expect((await cells.run("%hyperv partitions")).errors).toEqual([]);
});

it("names bad arguments", async () => {
  expect((await cells.run("%host new --hypervisor vmware")).errors[0]!.evalue).toBe("--hypervisor is xen or hyperv, not vmware");
  expect((await cells.run("%host new --pcpus zero")).errors[0]!.evalue).toContain("--pcpus takes a positive whole number");
  expect((await cells.run("%host reboot")).errors[0]!.evalue).toContain("not reboot");
});
