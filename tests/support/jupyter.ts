/**
 * A private Jupyter installation for tests that use real Jupyter software: temporary data,
 * runtime and config folders, our kernelspec installed into a temporary prefix, and servers
 * (jupyter_server, the classic notebook) started on a free loopback port.
 */
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KERNEL_MAIN } from "../../src/jupyter/client";

export const PY = "/usr/bin/python3";

export interface JupyterSandbox {
  /** Where notebooks and outputs go. */
  work: string;
  /** The prefix our kernelspec is installed into. */
  prefix: string;
  env: NodeJS.ProcessEnv;
}

export function jupyterSandbox(name: string): JupyterSandbox {
  const work = mkdtempSync(join(tmpdir(), `xenlab-${name}-`));
  const prefix = join(work, "prefix");
  const env = {
    ...process.env,
    JUPYTER_PATH: join(prefix, "share", "jupyter"),
    JUPYTER_RUNTIME_DIR: join(work, "runtime"),
    JUPYTER_CONFIG_DIR: join(work, "config"),
    JUPYTER_DATA_DIR: join(work, "data"),
    XENLAB_HISTORY: join(work, "history.jsonl"),
    JUPYTER_PLATFORM_DIRS: "1",
    // debugpy (imported by jupyter tools) otherwise warns about frozen modules on every start
    PYDEVD_DISABLE_FILE_VALIDATION: "1",
  };
  execFileSync(process.execPath, [KERNEL_MAIN, "install", "--prefix", prefix], { env });
  return { work, prefix, env };
}

export async function freePort(): Promise<number> {
  return new Promise<number>((res, rej) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
    s.on("error", rej);
  });
}

export interface RunningServer {
  port: number;
  token: string;
  url: string;
  log(): string;
  stop(): void;
}

/** Starts `jupyter_server` or the classic `notebook` and waits until its REST API answers. */
/** JupyterLab's own venv (scripts/install-test-peers.sh: Debian 12 does not package it). */
export const JUPYTERLAB_PY = "/opt/xenlab-jupyterlab/bin/python";

export async function startServer(kind: "jupyter_server" | "notebook" | "jupyterlab", sandbox: JupyterSandbox): Promise<RunningServer> {
  const port = await freePort();
  const token = `xenlab-${kind}`;
  const serverApp = [`--ServerApp.port=${port}`, "--ServerApp.ip=127.0.0.1", `--ServerApp.token=${token}`, "--ServerApp.open_browser=False", "--ServerApp.allow_root=True", `--ServerApp.root_dir=${sandbox.work}`];
  const args =
    kind === "jupyter_server" ? ["-m", "jupyter_server", ...serverApp]
    : kind === "jupyterlab" ? ["-m", "jupyterlab", ...serverApp]
    : ["-m", "notebook", "--no-browser", "--allow-root", `--port=${port}`, "--ip=127.0.0.1", `--NotebookApp.token=${token}`, `--notebook-dir=${sandbox.work}`];
  const proc: ChildProcess = spawn(kind === "jupyterlab" ? JUPYTERLAB_PY : PY, args, { env: sandbox.env, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  proc.stderr!.on("data", (d: Buffer) => (log += d.toString()));
  const server = { port, token, url: `http://127.0.0.1:${port}`, log: () => log, stop: () => void proc.kill("SIGTERM") };
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await fetch(`${server.url}/api/status?token=${token}`)).ok) return server;
    } catch {
      // not up yet
    }
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`${kind} did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Whether a process exists (signal 0 checks without sending anything). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
