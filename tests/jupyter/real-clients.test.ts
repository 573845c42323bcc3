/**
 * The kernel as real Jupyter software sees it: installed as a kernelspec, listed by
 * `jupyter kernelspec list`, driven by Debian's jupyter_client, executing a notebook under
 * `jupyter nbconvert --execute` (nbclient), and reached through a real Jupyter server by
 * @jupyterlab/services, JupyterLab's own client library.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KERNEL_MAIN } from "../../src/jupyter/client";
import { KERNEL_NODE_FLAGS } from "../../src/jupyter/kernelspec";
import { jupyterSandbox, PY, RunningServer, startServer } from "../support/jupyter";

const { work, prefix, env } = jupyterSandbox("clients");

it("`xenlab install --prefix` writes a kernelspec that `jupyter kernelspec list` finds", () => {
  const listed = JSON.parse(execFileSync("jupyter", ["kernelspec", "list", "--json"], { env, encoding: "utf8" }));
  const spec = listed.kernelspecs.xenlab;
  expect(spec.resource_dir).toBe(join(prefix, "share", "jupyter", "kernels", "xenlab"));
  expect(spec.spec).toMatchObject({ language: "typescript", interrupt_mode: "message", display_name: "XenLab (TypeScript)" });
  expect(spec.spec.argv).toEqual([process.execPath, ...KERNEL_NODE_FLAGS, KERNEL_MAIN, "kernel", "-f", "{connection_file}"]);
  const files = execFileSync("ls", [spec.resource_dir], { encoding: "utf8" }).split("\n");
  expect(files).toEqual(expect.arrayContaining(["kernel.json", "logo-32x32.png", "logo-64x64.png"]));
});

it("Debian's jupyter_client starts, runs, interrupts, restarts and shuts down the kernel", () => {
  const out = JSON.parse(execFileSync(PY, [join(__dirname, "python", "drive_kernel.py")], { env, encoding: "utf8", timeout: 120_000 }));
  expect(out.interrupt_mode).toBe("message");
  expect(out.kernel_info.status).toBe("ok");
  expect(out.execute.reply.status).toBe("ok");
  expect(out.execute.iopub).toEqual(
    expect.arrayContaining([
      { type: "stream", content: { name: "stdout", text: "side effect\n" } },
      expect.objectContaining({ type: "execute_result", content: expect.objectContaining({ data: { "text/plain": "42" } }) }),
    ]),
  );
  expect(out.error.reply).toMatchObject({ status: "error", ename: "TypeError", evalue: "bad frame" });
  expect(out.error.iopub.some((m: { type: string }) => m.type === "error")).toBe(true);
  expect(out.interrupt.reply.ename).toBe("KeyboardInterrupt");
  expect(out.interrupt.seconds).toBeLessThan(1);
  expect(out.alive_after_interrupt).toBe("ok");
  expect(out.after_restart.reply.status).toBe("ok");
  expect(JSON.stringify(out.after_restart.iopub)).toContain("undefined:gone");
  expect(out.alive_after_shutdown).toBe(false);
});

it("`jupyter nbconvert --execute` (nbclient) runs a notebook on the kernel and nbformat validates it", () => {
  const nb = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: "xenlab", display_name: "XenLab (TypeScript)", language: "typescript" } },
    cells: [
      { id: "a1", cell_type: "markdown", metadata: {}, source: "# nbclient test" },
      { id: "a2", cell_type: "code", metadata: {}, execution_count: null, outputs: [], source: "const frames: number[] = [1, 2, 3];\nconsole.log(frames.length)" },
      { id: "a3", cell_type: "code", metadata: {}, execution_count: null, outputs: [], source: "display({ [Symbol.for('Jupyter.display')]: () => ({ 'image/svg+xml': '<svg xmlns=\"http://www.w3.org/2000/svg\"/>' }) }); frames.reduce((a, b) => a + b)" },
      { id: "a4", cell_type: "code", metadata: {}, execution_count: null, outputs: [], source: "%lsmagic" },
    ],
  };
  const input = join(work, "nbclient.ipynb");
  writeFileSync(input, JSON.stringify(nb));
  execFileSync("jupyter", ["nbconvert", "--to", "notebook", "--execute", "--output", "nbclient.out.ipynb", input], { env, cwd: work, stdio: "pipe", timeout: 120_000 });
  const outPath = join(work, "nbclient.out.ipynb");
  execFileSync(PY, ["-c", "import nbformat,sys; nbformat.validate(nbformat.read(sys.argv[1], as_version=4))", outPath], { env });
  // nbformat stores multi-line strings as lists of lines; join them back.
  const done = JSON.parse(readFileSync(outPath, "utf8"), (_k, v) => (Array.isArray(v) && v.every((x) => typeof x === "string") && _k !== "traceback" ? v.join("") : v));
  const [, c2, c3, c4] = done.cells;
  expect(c2.outputs).toEqual([{ output_type: "stream", name: "stdout", text: "3\n" }]);
  expect(c3.outputs.map((o: { output_type: string }) => o.output_type)).toEqual(["display_data", "execute_result"]);
  expect(c3.outputs[0].data["image/svg+xml"]).toContain("<svg");
  expect(c3.outputs[1].data["text/plain"]).toBe("6");
  expect(c4.outputs[0].data["text/plain"]).toContain("%lsmagic");
  expect([c2.execution_count, c3.execution_count, c4.execution_count]).toEqual([1, 2, 3]);
});

describe("through a real Jupyter server with @jupyterlab/services", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer("jupyter_server", { work, prefix, env });
  });
  afterAll(() => server?.stop());

  it("starts the kernel, receives execute_result and display_data, and completes", async () => {
    const services = await import("@jupyterlab/services");
    const WebSocket = (await import("ws")).default;
    const serverSettings = services.ServerConnection.makeSettings({
      baseUrl: `${server.url}/`,
      wsUrl: `ws://127.0.0.1:${server.port}/`,
      token: server.token,
      WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
      appendToken: true,
    });
    const kernelManager = new services.KernelManager({ serverSettings });
    const kernel = await kernelManager.startNew({ name: "xenlab" });
    try {
      // The kernel object's `info` settles once its websocket is up and kernel_info answered.
      const info = await kernel.info;
      expect(info.implementation).toBe("xenlab");
      expect(kernel.connectionStatus).toBe("connected");
      const seen: { type: string; content: any }[] = [];
      const future = kernel.requestExecute({ code: "display({ [Symbol.for('Jupyter.display')]: () => ({ 'text/html': '<i>dom0</i>' }) }); 'xen' + 4.17" });
      future.onIOPub = (msg) => {
        seen.push({ type: msg.header.msg_type, content: msg.content });
      };
      const reply = await future.done;
      expect(reply!.content.status).toBe("ok");
      const display = seen.find((m) => m.type === "display_data")!;
      expect(display.content.data["text/html"]).toBe("<i>dom0</i>");
      expect(seen.find((m) => m.type === "execute_result")!.content.data["text/plain"]).toBe("'xen4.17'");
      const completion = await kernel.requestComplete({ code: "%lsm", cursor_pos: 4 });
      expect(completion!.content).toMatchObject({ status: "ok", matches: ["%lsmagic"] });
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- jupyter server log ---\n${server.log()}`);
    } finally {
      await kernel.shutdown().catch(() => undefined);
      kernelManager.dispose();
    }
  });
});

/** `jupyter console` on the installed kernelspec, fed `input` line by line as if typed. */
function jupyterConsole(input: string): { status: number | null; stdout: string } {
  return spawnSync("jupyter", ["console", "--kernel", "xenlab", "--simple-prompt"], { env, input, encoding: "utf8", timeout: 60_000 });
}

it("`jupyter console` runs cells typed at its prompt", () => {
  const r = jupyterConsole("6 * 7\nconsole.log('from the console')\n%lsmagic\n");
  expect(r.status).toBe(0);
  expect(r.stdout).toContain("XenLab");
  expect(r.stdout).toMatch(/Out\[1\]: 42/);
  expect(r.stdout).toContain("from the console");
  expect(r.stdout).toContain("%lsmagic");
});

it("`exit` typed in `jupyter console` ends the console through the ask_exit payload, and the lines after it never run", () => {
  // Were ask_exit ignored, the console would go on and run the last line before stdin's end.
  const r = jupyterConsole("6 * 7\nexit\nconsole.log('after exit')\n");
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/Out\[1\]: 42/);
  expect(r.stdout).not.toContain("after exit");
});
