/**
 * The views in JupyterLab's renderers, light and dark, as a person reads them. JupyterLab runs the
 * notebook of views on our kernel in Debian's Chromium (menus clicked as a user clicks them); for
 * each picture the test measures what the eye gets: every pixel of text is compared with what lies
 * behind it (the same picture drawn without its text, over the page's own background), and the
 * WCAG contrast ratio must reach 4.5:1 (AA) for three quarters of the text pixels (the rest are
 * anti-aliased edges) in both themes; and no text may fall outside the picture's frame. Screenshots of every
 * output in both themes go to tests/.artifacts/views/lab-*.png.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/package-root";
import { launchChromium } from "../support/chromium";
import { JUPYTERLAB_PY, jupyterSandbox, RunningServer, startServer } from "../support/jupyter";
import { VIEWS, viewsNotebook } from "../support/view-cells";

const ARTIFACTS = join(PACKAGE_ROOT, "tests", ".artifacts", "views");
const THEMES = ["JupyterLab Light", "JupyterLab Dark"] as const;

/**
 * In the page: for each SVG output (an <img> in JupyterLab), the contrast of its text. The picture
 * is drawn twice onto a canvas filled with the colour actually behind the output: as it is, and
 * with its <text> removed; the pixels that differ are text, and each is compared with the pixel
 * behind it. Returns, per output, the contrast three quarters of those pixels reach, and the texts
 * whose box leaves the picture's frame.
 */
async function textContrast(page: Page): Promise<{ cell: number; p75: number; pixels: number; clipped: string[] }[]> {
  return page.evaluate(async () => {
    const lum = (r: number, g: number, b: number) => {
      const f = (c: number) => { const s = c / 255; return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4; };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const behind = (el: Element): string => {
      for (let e: Element | null = el; e; e = e.parentElement) {
        const c = getComputedStyle(e).backgroundColor;
        if (c && c !== "transparent" && !/rgba\(.*, 0\)$/.test(c)) return c;
      }
      return "white";
    };
    const load = (src: string) => new Promise<HTMLImageElement>((res, rej) => { const i = new Image(); i.onload = () => res(i); i.onerror = rej; i.src = src; });
    const draw = (img: HTMLImageElement, bg: string) => {
      const c = document.createElement("canvas");
      c.width = img.naturalWidth; c.height = img.naturalHeight;
      const x = c.getContext("2d")!;
      x.fillStyle = bg; x.fillRect(0, 0, c.width, c.height); x.drawImage(img, 0, 0);
      return x.getImageData(0, 0, c.width, c.height).data;
    };
    const cells = Array.from(document.querySelectorAll(".jp-Notebook .jp-CodeCell"));
    const out: { cell: number; p75: number; pixels: number; clipped: string[] }[] = [];
    for (const [n, cell] of cells.entries()) {
      const img = cell.querySelector(".jp-OutputArea-output img[src^='data:image/svg+xml']") as HTMLImageElement | null;
      if (!img) continue;
      const svg = decodeURIComponent(img.src.slice(img.src.indexOf(",") + 1));
      const doc = new DOMParser().parseFromString(svg, "image/svg+xml");
      doc.querySelectorAll("text").forEach((t) => t.remove());
      const bare = await load(`data:image/svg+xml,${encodeURIComponent(new XMLSerializer().serializeToString(doc))}`);
      const bg = behind(img.parentElement!);
      const withText = draw(await load(img.src), bg), without = draw(bare, bg);
      const ratios: number[] = [];
      for (let i = 0; i < withText.length; i += 4) {
        if (withText[i] === without[i] && withText[i + 1] === without[i + 1] && withText[i + 2] === without[i + 2]) continue;
        const a = lum(withText[i]!, withText[i + 1]!, withText[i + 2]!), b = lum(without[i]!, without[i + 1]!, without[i + 2]!);
        ratios.push((Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05));
      }
      ratios.sort((p, q) => p - q);
      // Text outside the picture is cut off (the picture's own size is the frame).
      const probe = document.body.appendChild(document.createElement("div"));
      probe.innerHTML = svg;
      const root = probe.querySelector("svg")!;
      const [w, h] = [root.viewBox.baseVal.width || root.width.baseVal.value, root.viewBox.baseVal.height || root.height.baseVal.value];
      const clipped = Array.from(root.querySelectorAll("text")).filter((t) => {
        const b = (t as SVGGraphicsElement).getBBox();
        return b.x < -0.5 || b.y < -0.5 || b.x + b.width > w + 0.5 || b.y + b.height > h + 0.5;
      }).map((t) => t.textContent ?? "");
      probe.remove();
      out.push({ cell: n, p75: ratios[Math.floor(ratios.length * 0.75)] ?? 0, pixels: ratios.length, clipped });
    }
    return out;
  });
}

/** A menu path clicked as a user clicks it (JupyterLab's Lumino menus). */
async function menu(page: Page, ...path: string[]): Promise<void> {
  await page.locator(".lm-MenuBar-itemLabel", { hasText: new RegExp(`^${path[0]}$`) }).click();
  for (const item of path.slice(1)) await page.locator(".lm-Menu:visible .lm-Menu-itemLabel", { hasText: new RegExp(`^${item}$`) }).last().click();
}

const haveLab = existsSync(JUPYTERLAB_PY);

describe.skipIf(!haveLab)(`the views in JupyterLab${haveLab ? "" : ` (skipped: ${JUPYTERLAB_PY} is missing; scripts/install-test-peers.sh installs it from PyPI)`}`, () => {
  const sandbox = jupyterSandbox("jupyterlab");
  let server: RunningServer;
  beforeAll(async () => {
    writeFileSync(join(sandbox.work, "views.ipynb"), JSON.stringify(viewsNotebook()));
    // JupyterLab 4 leaves cells outside the viewport out of the page; a reader scrolls, we ask for all.
    const settings = join(sandbox.env.JUPYTER_CONFIG_DIR!, "lab", "user-settings", "@jupyterlab", "notebook-extension");
    mkdirSync(settings, { recursive: true });
    writeFileSync(join(settings, "tracker.jupyterlab-settings"), JSON.stringify({ windowingMode: "none" }));
    server = await startServer("jupyterlab", sandbox);
  }, 120_000);
  afterAll(() => server?.stop());

  it("runs every view and each picture's text is readable in the light and the dark theme", async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      await page.goto(`${server.url}/lab/tree/views.ipynb?token=${server.token}`);
      await page.locator(".jp-Notebook .jp-CodeCell").first().waitFor({ timeout: 90_000 });
      // The kernel the notebook names has started when the toolbar says so.
      await page.locator(".jp-StatusBar-Widget", { hasText: /XenLab \(TypeScript\) \| Idle/ }).first().waitFor({ timeout: 90_000 });
      await menu(page, "Run", "Run All Cells");
      await page.waitForFunction(
        (n) => {
          const prompts = Array.from(document.querySelectorAll(".jp-Notebook .jp-CodeCell .jp-InputPrompt")).map((p) => p.textContent ?? "");
          const failed = document.querySelector(".jp-Notebook [data-mime-type='application/vnd.jupyter.stderr']");
          return failed !== null || (prompts.length === n && prompts.every((p) => /\[\d+\]/.test(p)));
        },
        VIEWS.length,
        { timeout: 150_000 },
      ).catch(async (err: Error) => {
        await page.screenshot({ path: join(sandbox.work, "timeout.png"), fullPage: true });
        const prompts = await page.locator(".jp-InputPrompt").allInnerTexts();
        throw new Error(`${err.message}\nprompts: ${JSON.stringify(prompts)}\nscreenshot: ${join(sandbox.work, "timeout.png")}\n${server.log().slice(-3000)}`);
      });
      const errors = await page.locator(".jp-Notebook [data-mime-type='application/vnd.jupyter.stderr']").allInnerTexts();
      expect(errors).toEqual([]);
      // JupyterLab draws image/svg+xml as an <img>; every SVG view is one here (none refused as untrusted).
      const svgViews = VIEWS.flatMap((v, i) => (v.selector.includes("svg") ? [i] : []));
      expect(await page.locator(".jp-OutputArea-output img[src^='data:image/svg+xml']").count()).toBe(svgViews.length);
      mkdirSync(ARTIFACTS, { recursive: true });
      for (const theme of THEMES) {
        await menu(page, "Settings", "Theme", theme);
        await page.waitForFunction((t) => document.body.dataset.jpThemeName === t, theme, { timeout: 30_000 });
        await page.waitForTimeout(500); // the theme's stylesheet applies after the attribute
        const cells = page.locator(".jp-Notebook .jp-CodeCell");
        for (const [i, v] of VIEWS.entries()) {
          const area = cells.nth(i).locator(".jp-OutputArea");
          await area.scrollIntoViewIfNeeded();
          await area.screenshot({ path: join(ARTIFACTS, `lab-${theme.split(" ")[1]!.toLowerCase()}-${v.view}.png`) });
        }
        const measured = await textContrast(page);
        expect(measured.map((m) => m.cell)).toEqual(svgViews);
        for (const m of measured) {
          expect(m.pixels, `${VIEWS[m.cell]!.view} has text`).toBeGreaterThan(50);
          expect(m.p75, `${VIEWS[m.cell]!.view}: text contrast in ${theme}`).toBeGreaterThanOrEqual(4.5);
          expect(m.clipped, `${VIEWS[m.cell]!.view}: text outside the picture`).toEqual([]);
        }
      }
    } finally {
      await browser.close();
    }
  }, 420_000);
});
