/** The progress view: fraction, text bar, HTML bar; unknown totals show activity. */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ProgressView } from "../../src/render/progress";

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
