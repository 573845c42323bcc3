/** The progress view: fraction, text bar, HTML bar; unknown totals show activity. */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ProgressView, type ProgressState } from "../../src/render/progress";
import { launchChromium } from "../support/chromium";

describe("ProgressView", () => {
  it("shows done/total as a bar, with figures and status", () => {
    const v = new ProgressView({ label: "dom1 running", done: 2_500_000, total: 10_000_000, unit: "instructions", figures: { "virtual time": "0.25 s" }, status: "running" });
    expect(v.fraction).toBe(0.25);
    expect(v.text()).toBe("dom1 running: [########......................] 25.0% 2,500,000 / 10,000,000 instructions (virtual time 0.25 s)");
    const html = v.toMimeBundle()["text/html"] as string;
    expect(html).toContain("width:25.0%");
    // well-formed markup (Python's XML parser as the independent reader)
    execFileSync("/usr/bin/python3", ["-c", "import sys, xml.etree.ElementTree as E; E.fromstring(sys.stdin.read())"], { input: html });
  });

  it("without a total shows the amount only, and says how it ended", () => {
    const v = new ProgressView({ label: "converting", done: 12, unit: "MiB", status: "interrupted" });
    expect(v.fraction).toBeUndefined();
    expect(v.text()).toBe("converting: 12 MiB — interrupted");
  });

  it("escapes labels", () => {
    expect(new ProgressView({ label: "<dom>", done: 0, total: 1 }).html()).toContain("&lt;dom&gt;");
  });
});

describe("ProgressView in Chromium (what the bar says as a browser lays it out)", () => {
  it("the filled part is done/total of the track's width, clamped to it, and the words under it give the same figures", async () => {
    const cases: [ProgressState, number][] = [
      [{ label: "dom1 running", done: 2_500_000, total: 10_000_000, unit: "instructions" }, 0.25],
      [{ label: "convert", done: 1, total: 3, unit: "MiB" }, 1 / 3],
      [{ label: "start", done: 0, total: 7 }, 0],
      [{ label: "finished", done: 7, total: 7, status: "done" }, 1],
      [{ label: "overshoot", done: 9, total: 7 }, 1],
    ];
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 800, height: 200 } });
      for (const [state, fraction] of cases) {
        await page.setContent(new ProgressView(state).html());
        // The track is the bordered box; the bar is its only child. Widths as laid out, in CSS px.
        const m = await page.evaluate(() => {
          const track = document.querySelector("div > div:nth-child(2)") as HTMLElement;
          const bar = track.firstElementChild as HTMLElement;
          return { track: track.clientWidth, bar: bar.getBoundingClientRect().width, text: document.body.innerText };
        });
        expect(m.track, state.label).toBeGreaterThan(100);
        expect(Math.abs(m.bar - fraction * m.track), `${state.label}: ${m.bar} of ${m.track}`).toBeLessThanOrEqual(0.1 * m.track / 100 + 0.5);
        expect(m.text, state.label).toContain(`${state.done.toLocaleString("en-US")} / ${state.total!.toLocaleString("en-US")}`);
        if (state.unit) expect(m.text).toContain(state.unit);
        if (state.status === "done") expect(m.text).toContain("done");
      }
      // With no total the bar fills the track faintly: activity, not a fraction.
      await page.setContent(new ProgressView({ label: "scanning", done: 12, unit: "MiB" }).html());
      const u = await page.evaluate(() => {
        const track = document.querySelector("div > div:nth-child(2)") as HTMLElement;
        const bar = track.firstElementChild as HTMLElement;
        return { track: track.clientWidth, bar: bar.getBoundingClientRect().width, opacity: getComputedStyle(bar).opacity, text: document.body.innerText };
      });
      expect(u.bar).toBeCloseTo(u.track, 0);
      expect(Number(u.opacity)).toBeLessThan(1);
      expect(u.text).toContain("12 MiB");
      expect(u.text).not.toContain("/");
    } finally {
      await browser.close();
    }
  }, 60_000);
});
