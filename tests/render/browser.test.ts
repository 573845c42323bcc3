/**
 * The views as a person sees them: the classic Jupyter notebook (Debian's jupyter-notebook) runs
 * a notebook of views on our kernel inside Debian's Chromium, driven by playwright-core; the test
 * asserts that each picture is in the page with the elements it should have, and saves a
 * screenshot of each (tests/.artifacts/views/*.png).
 */
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { KERNEL_MAIN } from "../../src/jupyter/client";
import { PACKAGE_ROOT } from "../../src/package-root";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = join(PACKAGE_ROOT, "tests", ".artifacts", "views");
const work = mkdtempSync(join(tmpdir(), "xenlab-browser-"));
const prefix = join(work, "prefix");
const env = {
  ...process.env,
  JUPYTER_PATH: join(prefix, "share", "jupyter"),
  JUPYTER_RUNTIME_DIR: join(work, "runtime"),
  JUPYTER_CONFIG_DIR: join(work, "config"),
  JUPYTER_DATA_DIR: join(work, "data"),
  XENLAB_HISTORY: join(work, "history.jsonl"),
  PYDEVD_DISABLE_FILE_VALIDATION: "1",
};

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
];

let server: ChildProcess;
let port = 0;
const token = "browser-test";
let log = "";

beforeAll(async () => {
  execFileSync(process.execPath, [KERNEL_MAIN, "install", "--prefix", prefix], { env });
  const nb = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: "xenlab", display_name: "XenLab (TypeScript)", language: "typescript" } },
    cells: VIEWS.map((v, i) => ({ id: `v${i}`, cell_type: "code", metadata: {}, execution_count: null, outputs: [], source: v.source })),
  };
  writeFileSync(join(work, "views.ipynb"), JSON.stringify(nb));
  port = await new Promise<number>((res) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
  server = spawn("/usr/bin/python3", ["-m", "notebook", "--no-browser", "--allow-root", `--port=${port}`, "--ip=127.0.0.1", `--NotebookApp.token=${token}`, `--notebook-dir=${work}`], { env, stdio: ["ignore", "pipe", "pipe"] });
  server.stderr!.on("data", (d: Buffer) => (log += d.toString()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/api/status?token=${token}`)).ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`notebook server did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}, 120_000);

afterAll(() => server?.kill("SIGTERM"));

it("the classic notebook in Chromium runs the views and shows each picture", async () => {
  expect(existsSync(CHROMIUM), "Debian's chromium is installed by scripts/install-test-peers.sh").toBe(true);
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(`http://127.0.0.1:${port}/notebooks/views.ipynb?token=${token}`);
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
      throw new Error(`${err.message}\ncells: ${JSON.stringify(await state())}\nscreenshot: ${join(work, "timeout.png")}\n${log.slice(-3000)}`);
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
  } finally {
    await browser.close();
  }
}, 180_000);
