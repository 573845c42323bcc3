/** The live host is in every cell's scope, shared with the %xl magics, and a cell may rebind the name. */
import { afterAll, beforeAll, expect, it } from "vitest";
import { Cells } from "../support/cells";
import { currentHost } from "../../src/xen";

let cells: Cells;
beforeAll(() => {
  cells = new Cells();
});
afterAll(() => cells.close());

it("`host` is the host %xl acts on, typed as a XenHost", async () => {
  const same = await cells.run("host === currentHost()");
  expect(same.errors).toEqual([]);
  expect(same.text).toBe("true");
  const listed = await cells.run("%xl list");
  expect(listed.errors).toEqual([]);
  expect(listed.text + listed.streams).toContain("Domain-0");
  const typed = await cells.run("host.nonexistentMethod()");
  expect(typed.errors[0]!.ename).toBe("TypeScriptError");
  expect(typed.errors[0]!.evalue).toContain("nonexistentMethod");
});

it("follows setCurrentHost, and a cell can rebind the name", async () => {
  await cells.run("setCurrentHost({ pcpus: 2 })");
  expect((await cells.run("host === currentHost()")).text).toBe("true");
  expect(currentHost()).toBeDefined();
  await cells.run("const host = 'mine'");
  expect((await cells.run("host")).text).toBe("'mine'");
});
