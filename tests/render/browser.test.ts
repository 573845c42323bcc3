/**
 * The views as a person sees them: the classic Jupyter notebook (Debian's jupyter-notebook) runs
 * a notebook of views on our kernel inside Debian's Chromium, driven by playwright-core; the test
 * asserts that each picture is in the page with the elements it should have, and saves a
 * screenshot of each (tests/.artifacts/views/*.png).
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/package-root";
import { jupyterSandbox, RunningServer, startServer } from "../support/jupyter";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = join(PACKAGE_ROOT, "tests", ".artifacts", "views");
const sandbox = jupyterSandbox("browser");
const work = sandbox.work;

/** One cell per view; `view` names the screenshot, `expect` is a CSS selector that must match. */
const VIEWS = [
  {
    view: "memory-map",
    selector: ".output_svg svg title",
    source: `const machine = new Machine(256);
machine.memory.allocate(domId(0x7ff2), 2048, FrameUse.Hypervisor);
machine.populate(domId(0), gfn(0), 16384);
for (let d = 1; d <= 3; d++) machine.populate(domId(d), gfn(0), 6000 * d);
memoryMap(machine.memory, { label: (d) => ["dom0 Longhorn", "dom1 Windows", "dom2 Linux", "dom3 Xen-Linux"][d] ?? (d === 0x7ff2 ? "Xen" : "free") })`,
  },
  {
    view: "vcpu",
    selector: ".output_html pre",
    source: `const guest = machine.guest(domId(1));
const { cr3 } = buildPageTables(guest, 0x100000, [{ va: 0, gpa: 0, pages: 256 }]);
guest.write(0x1000, Uint8Array.from([0xb9, 0x0a, 0, 0, 0, 0x31, 0xc0, 0x01, 0xc8, 0xe2, 0xfc, 0xf4]));
const vcpu = new Vcpu(machine, domId(1), 0, { mode: "long64", rip: 0x1000, rsp: 0x80000, cr3 });
vcpu.run(5);
vcpu`,
  },
  {
    view: "vhd-layout",
    selector: ".output_svg svg rect",
    source: `import * as os from "os"; import * as path from "path"; import * as fs from "fs";
const disk = createVhd(path.join(fs.mkdtempSync(path.join(os.tmpdir(), "view-")), "longhorn.vhd"), { type: "dynamic", size: 64 << 20 });
disk.write(0, new Uint8Array(512).fill(1));
disk.write(40 << 20, new Uint8Array(4096).fill(2));
disk`,
  },
  {
    view: "scheduler-timeline",
    selector: ".output_svg svg rect",
    source: `const spin = Uint8Array.from([0xeb, 0xfe]); // jmp $: a guest that never blocks
host.createLabDomain("win2003", spin, { vcpus: 2, allVcpusUp: true });
host.createLabDomain("debian", spin);
%run 30ms
host.timeline()`,
  },
  { view: "xenstore-tree", selector: ".output_html", source: `host.xenstoreTree("/local/domain/1")` },
  { view: "event-channels", selector: ".output_svg svg", source: `host.eventChannels(1)` },
  { view: "domains", selector: ".output_svg svg", source: `host` },
  { view: "host-memory-map", selector: ".output_svg svg title", source: `%memmap` },
  { view: "p2m", selector: ".output_svg svg path", source: `%p2m win2003` },
  { view: "topology", selector: ".output_svg svg rect", source: `%topology` },
];

let server: RunningServer;

beforeAll(async () => {
  const nb = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: "xenlab", display_name: "XenLab (TypeScript)", language: "typescript" } },
    cells: VIEWS.map((v, i) => ({ id: `v${i}`, cell_type: "code", metadata: {}, execution_count: null, outputs: [], source: v.source })),
  };
  writeFileSync(join(work, "views.ipynb"), JSON.stringify(nb));
  server = await startServer("notebook", sandbox);
}, 120_000);

afterAll(() => server?.stop());

it("the classic notebook in Chromium runs the views and shows each picture", async () => {
  expect(existsSync(CHROMIUM), "Debian's chromium is installed by scripts/install-test-peers.sh").toBe(true);
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
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
