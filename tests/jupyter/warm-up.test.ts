/**
 * Ready when it says so: TypeScript is loaded by the first cell that needs it, so from the first
 * moment is_complete and history are answered without waiting for it, and a kernel that only ran
 * magics stays small (issue 19: idle resident memory ≤ 120 MiB; ipykernel's is ~68 MiB).
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { KernelClient } from "../../src/jupyter/client";

const IDLE_RSS_LIMIT_MIB = 120;

let k: KernelClient;
beforeAll(async () => {
  k = await KernelClient.start({ historyFile: join(mkdtempSync(join(tmpdir(), "xenlab-warm-")), "history.jsonl") });
});
afterAll(async () => k?.shutdown());

function rssMiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;
}

async function timed<T>(f: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await f();
  return { ms: performance.now() - t0, value };
}

it("answers is_complete and history at once after start, long before the first TypeScript cell is done", async () => {
  await k.request("shell", "kernel_info_request");
  const complete = await timed(() => k.request("shell", "is_complete_request", { code: "function f() {" }));
  expect(complete.value.reply.content.status).toBe("incomplete");
  const history = await timed(() => k.request("shell", "history_request", { hist_access_type: "tail", n: 5, output: false, raw: true }));
  expect(history.value.reply.content.status).toBe("ok");
  await k.waitReady();
  expect((await k.execute("%lsmagic")).reply.content.status).toBe("ok");
  await new Promise((r) => setTimeout(r, 300));
  const idle = rssMiB(k.proc.pid!);
  expect(idle).toBeLessThanOrEqual(IDLE_RSS_LIMIT_MIB);

  // The first TypeScript cell loads TypeScript and the library's declarations: the baseline.
  const first = await timed(() => k.execute("const warm: number = 1 + 1; warm"));
  expect(first.value.reply.content.status).toBe("ok");
  expect(complete.ms).toBeLessThan(first.ms / 4);
  expect(history.ms).toBeLessThan(first.ms / 4);
  // What the laziness saves is real: the checker is most of the kernel's memory once loaded.
  expect(rssMiB(k.proc.pid!)).toBeGreaterThan(idle + 40);
});
