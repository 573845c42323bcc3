/**
 * SIGTERM ends the kernel whatever it is doing, even while a cell busy-loops on the main thread
 * (where a JavaScript signal handler would never run). The parent watch is lifecycle.test.ts.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, it } from "vitest";
import { KernelClient, XENLAB_ARGV } from "../../src/jupyter/client";
import { processAlive } from "../support/jupyter";

const started: { k: KernelClient; kernelPid: number }[] = [];
afterEach(async () => {
  for (const { k, kernelPid } of started.splice(0)) {
    if (alive(kernelPid)) process.kill(kernelPid, "SIGKILL");
    await k.shutdown(); // the shell is gone by now: this only closes the client's sockets
  }
});

const alive = processAlive;

/** Polls until `pid` is gone; the poller checks once a second, so a loaded machine gets 20 s. */
async function gone(pid: number, withinMs = 20_000): Promise<number> {
  const t0 = performance.now();
  while (alive(pid)) {
    if (performance.now() - t0 > withinMs) throw new Error(`process ${pid} still runs after ${withinMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return performance.now() - t0;
}

/** A kernel started by a shell that writes the kernel's pid and waits on it. */
async function kernelUnderShell(env: Record<string, string> = {}): Promise<{ k: KernelClient; kernelPid: number }> {
  const pidFile = join(mkdtempSync(join(tmpdir(), "xenlab-parent-")), "kernel.pid");
  const quoted = XENLAB_ARGV.map((a) => (a === "{connection_file}" ? '"$1"' : `'${a}'`)).join(" ");
  const k = await KernelClient.start({ argv: ["/bin/sh", "-c", `${quoted} & echo $! > '${pidFile}'; wait`, "sh", "{connection_file}"], env });
  await k.request("shell", "kernel_info_request");
  await k.waitReady();
  const kernel = { k, kernelPid: Number(readFileSync(pidFile, "utf8")) };
  started.push(kernel);
  return kernel;
}

async function busyLoop(k: KernelClient): Promise<void> {
  const sent = await k.send("shell", "execute_request", { code: "console.log('busy'); while (true) {}", silent: false, store_history: true });
  sent.reply.catch(() => undefined); // the kernel dies before it can answer
  await k.waitIopub((m) => m.parent_header.msg_id === sent.id && m.header.msg_type === "stream");
}

describe("SIGTERM", () => {
  it("exits on SIGTERM while idle and while a cell loops", async () => {
    const idle = await kernelUnderShell();
    process.kill(idle.kernelPid, "SIGTERM");
    await gone(idle.kernelPid);
    const busy = await kernelUnderShell();
    await busyLoop(busy.k);
    process.kill(busy.kernelPid, "SIGTERM");
    await gone(busy.kernelPid);
  });
});
