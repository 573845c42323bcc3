/**
 * The views as a person sees them: the classic Jupyter notebook (Debian's jupyter-notebook) runs
 * a notebook of views on our kernel inside Debian's Chromium, driven by playwright-core; the test
 * asserts that each picture is in the page with the elements it should have, and saves a
 * screenshot of each (tests/.artifacts/views/*.png).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/package-root";
import { launchChromium } from "../support/chromium";
import { jupyterSandbox, RunningServer, startServer } from "../support/jupyter";
import { VIEWS, viewsNotebook } from "../support/view-cells";

const ARTIFACTS = join(PACKAGE_ROOT, "tests", ".artifacts", "views");
const sandbox = jupyterSandbox("browser");
const work = sandbox.work;

let server: RunningServer;

beforeAll(async () => {
  writeFileSync(join(work, "views.ipynb"), JSON.stringify(viewsNotebook()));
  server = await startServer("notebook", sandbox);
}, 120_000);

afterAll(() => server?.stop());

it("the classic notebook in Chromium runs the views and shows each picture", async () => {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(`${server.url}/notebooks/views.ipynb?token=${server.token}`);
    await page.waitForFunction(() => (window as any).Jupyter?.notebook?.kernel?.is_connected?.() === true, undefined, { timeout: 60_000 });
    await page.evaluate(() => (window as any).Jupyter.notebook.execute_all_cells());
    const state = () => page.evaluate(() => (window as any).Jupyter.notebook.get_cells().map((c: any) => ({ n: c.input_prompt_number, outputs: c.output_area.outputs.map((o: any) => o.output_type + ":" + (o.ename ?? "") + (o.evalue ?? "")) })));
    await page.waitForFunction(
      (n) => {
        const cells = (window as any).Jupyter.notebook.get_cells();
        const failed = cells.some((c: any) => c.output_area.outputs.some((o: any) => o.output_type === "error"));
        return failed || (cells.length === n && cells.every((c: any) => typeof c.input_prompt_number === "number" && c.output_area.outputs.length > 0));
      },
      VIEWS.length,
      { timeout: 90_000 },
    ).catch(async (err: Error) => {
      await page.screenshot({ path: join(work, "timeout.png") });
      throw new Error(`${err.message}\ncells: ${JSON.stringify(await state())}\nscreenshot: ${join(work, "timeout.png")}\n${server.log().slice(-3000)}`);
    });
    const errors = await page.evaluate(() => (window as any).Jupyter.notebook.get_cells().flatMap((c: any) => c.output_area.outputs.filter((o: any) => o.output_type === "error").map((o: any) => `${o.ename}: ${o.evalue}`)));
    expect(errors).toEqual([]);
    mkdirSync(ARTIFACTS, { recursive: true });
    const cells = await page.$$(".cell.code_cell");
    for (const [i, v] of VIEWS.entries()) {
      const output = await cells[i]!.$(".output_area");
      expect(output, `${v.view} has an output area`).not.toBeNull();
      expect(await cells[i]!.$$(v.selector), `${v.view}: ${v.selector}`).not.toHaveLength(0);
      await output!.screenshot({ path: join(ARTIFACTS, `${v.view}.png`) });
    }
    // The memory map names owners in its legend; the VHD layout names the disk.
    expect(await cells[0]!.innerText()).toContain("dom0 Longhorn");
    expect(await cells[2]!.innerHTML()).toContain("longhorn.vhd");
    expect(await cells[3]!.innerText()).toMatch(/win2003/);
    expect(await cells[6]!.innerText()).toMatch(/debian/);
  } finally {
    await browser.close();
  }
}, 180_000);
