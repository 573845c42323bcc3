/**
 * No orphan kernels: when the client that started the kernel dies without a word (SIGKILL: a
 * crashed server or console), the kernel notices, as ipykernel's parent poller does, and exits,
 * even while a cell keeps its main thread busy.
 */
import { afterAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { rmSync } from "node:fs";
import { PY, jupyterSandbox, processAlive } from "../support/jupyter";
import { PARENT_POLL_MS } from "../../src/jupyter/parent-watch";

const sandbox = jupyterSandbox("lifecycle");
afterAll(() => rmSync(sandbox.work, { recursive: true, force: true }));

const alive = processAlive;

async function kernelUnder(mode: "idle" | "busy"): Promise<{ parent: number; kernel: number }> {
  const p = spawn(PY, [join(__dirname, "python", "orphan_parent.py"), mode], { env: sandbox.env, stdio: ["ignore", "pipe", "inherit"] });
  const kernel = await new Promise<number>((resolve, reject) => {
    let text = "";
    p.stdout.on("data", (d: Buffer) => {
      text += d.toString();
      const m = /^(\d+)\n/.exec(text);
      if (m) resolve(Number(m[1]));
    });
    p.on("exit", (code) => reject(new Error(`client exited with ${code} before starting the kernel`)));
  });
  return { parent: p.pid!, kernel };
}

async function goneWithin(pid: number, ms: number): Promise<number> {
  const t0 = performance.now();
  while (alive(pid)) {
    if (performance.now() - t0 > ms) return -1;
    await new Promise((r) => setTimeout(r, 50));
  }
  return performance.now() - t0;
}

// The bound is the poll period, with generous room for a loaded machine.
const BOUND = PARENT_POLL_MS + 8000;

describe("the kernel exits when the client that started it is SIGKILLed", () => {
  for (const mode of ["idle", "busy"] as const) {
    it(`${mode === "busy" ? "while a cell busy-loops" : "when idle"}, within the poll period`, async () => {
      const { parent, kernel } = await kernelUnder(mode);
      expect(alive(kernel)).toBe(true);
      process.kill(parent, "SIGKILL");
      const took = await goneWithin(kernel, BOUND);
      if (took < 0) process.kill(kernel, "SIGKILL"); // leave no orphan behind even when failing
      expect(took).toBeGreaterThanOrEqual(0);
    }, 90_000);
  }
});
