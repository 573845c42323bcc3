/** The tour notebook (what `npm start` runs) executes top to bottom and shows real results. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { KERNEL_MAIN } from "../../src/jupyter/client";
import { PACKAGE_ROOT } from "../../src/package-root";

it("00-tour runs in-process with no error: the vCPU sums 1..10, the VHD checks clean and draws itself", () => {
  const out = join(mkdtempSync(join(tmpdir(), "xenlab-tour-")), "tour.ipynb");
  const r = spawnSync(process.execPath, [KERNEL_MAIN, "run", join(PACKAGE_ROOT, "notebooks", "00-tour.ipynb"), "-o", out], { encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
  const nb = JSON.parse(readFileSync(out, "utf8"));
  const outputs = nb.cells.flatMap((c: { outputs?: unknown[] }) => c.outputs ?? []) as { output_type: string; text?: string; data?: Record<string, string> }[];
  const text = outputs.map((o) => o.text ?? o.data?.["text/plain"] ?? "").join("\n");
  expect(text).toContain("exit: hlt after 23 instructions; eax = 55");
  expect(text).toContain("Windows Server Longhorn, meet Xen");
  expect(text).toContain("check: 0 findings, 2 of 33 blocks allocated");
  expect(outputs.some((o) => o.data?.["image/svg+xml"]?.includes("<svg"))).toBe(true);
  expect(outputs.some((o) => o.output_type === "error")).toBe(false);
});
