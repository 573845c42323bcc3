/**
 * A classroom on the engine teachers run: Debian's JupyterHub (with configurable-http-proxy) on
 * 127.0.0.1, a local-process spawner and a test authenticator. Two users each get a single-user
 * Jupyter server through the hub's REST API, and run a XenLab cell on their own kernel reached
 * through the hub's proxy by @jupyterlab/services, JupyterLab's client library.
 */
import { ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { freePort, jupyterSandbox } from "../support/jupyter";

const HUB = "/usr/bin/jupyterhub";
const TOKEN = "xenlab-hub-test-token";
const USERS = ["ada", "grace"];
/** Debian's configurable-http-proxy runs on whichever `node` is first on PATH: show it Debian's modules. */
const DEBIAN_NODE_MODULES = "/usr/share/nodejs";

let hub: ChildProcess | undefined;
let log = "";
let base = "";

async function api(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${base}/hub/api${path}`, { ...init, headers: { Authorization: `token ${TOKEN}`, ...(init.headers ?? {}) } });
}

beforeAll(async () => {
  if (!existsSync(HUB)) return;
  const { work, env } = jupyterSandbox("hub");
  const [port, hubPort, proxyApi] = [await freePort(), await freePort(), await freePort()];
  base = `http://127.0.0.1:${port}`;
  for (const u of USERS) mkdirSync(join(work, "home", u), { recursive: true });
  const config = join(work, "jupyterhub_config.py");
  writeFileSync(
    config,
    [
      `c.JupyterHub.ip = "127.0.0.1"`,
      `c.JupyterHub.port = ${port}`,
      `c.JupyterHub.hub_ip = "127.0.0.1"`,
      `c.JupyterHub.hub_port = ${hubPort}`,
      `c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:${proxyApi}"`,
      `c.JupyterHub.db_url = "sqlite:///${join(work, "hub.sqlite")}"`,
      `c.JupyterHub.cookie_secret_file = "${join(work, "cookie_secret")}"`,
      `c.JupyterHub.authenticator_class = "jupyterhub.auth.DummyAuthenticator"`,
      `c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"`,
      `c.SimpleLocalProcessSpawner.home_dir_template = "${join(work, "home")}/{username}"`,
      `c.Spawner.cmd = ["/usr/bin/jupyterhub-singleuser"]`,
      `c.Spawner.args = ["--allow-root"]`,
      `c.Spawner.start_timeout = 120`,
      `c.Spawner.http_timeout = 120`,
      // The kernelspec as a teacher installs it for everyone (here: the sandbox's prefix).
      `c.Spawner.environment = ${JSON.stringify({ JUPYTER_PATH: env.JUPYTER_PATH, XENLAB_HISTORY: env.XENLAB_HISTORY, PYDEVD_DISABLE_FILE_VALIDATION: "1" })}`,
      `c.JupyterHub.load_roles = [{"name": "test-admin", "scopes": ["admin:users", "admin:servers", "access:servers"], "services": ["test"]}]`,
      `c.JupyterHub.services = [{"name": "test", "api_token": "${TOKEN}"}]`,
    ].join("\n"),
  );
  hub = spawn(HUB, ["-f", config], { cwd: work, env: { ...env, CONFIGPROXY_AUTH_TOKEN: "xenlab-proxy", NODE_PATH: DEBIAN_NODE_MODULES }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  hub.stdout!.on("data", (d: Buffer) => (log += d.toString()));
  hub.stderr!.on("data", (d: Buffer) => (log += d.toString()));
  const deadline = Date.now() + 90_000;
  for (;;) {
    try {
      if ((await api("/")).ok) break;
    } catch {
      // not up yet
    }
    if (hub.exitCode !== null || Date.now() > deadline) throw new Error(`jupyterhub did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}, 120_000);

afterAll(async () => {
  if (!hub?.pid) return;
  for (const u of USERS) await api(`/users/${u}/server`, { method: "DELETE" }).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 1000));
  try {
    process.kill(-hub.pid, "SIGTERM"); // the hub, its proxy and the users' servers
  } catch {
    // already gone
  }
});

async function serverReady(user: string): Promise<void> {
  const deadline = Date.now() + 150_000;
  for (;;) {
    const info = (await (await api(`/users/${user}`)).json()) as { servers?: Record<string, { ready: boolean }> };
    if (info.servers?.[""]?.ready) return;
    if (Date.now() > deadline) throw new Error(`${user}'s server never became ready:\n${log}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

it.skipIf(!existsSync(HUB))("spawns a server per user through the REST API and runs a XenLab cell on each user's kernel through the proxy", async () => {
  const services = await import("@jupyterlab/services");
  const WebSocket = (await import("ws")).default;
  for (const u of USERS) {
    expect((await api(`/users/${u}`, { method: "POST" })).status, log).toBe(201);
    expect([201, 202], log).toContain((await api(`/users/${u}/server`, { method: "POST" })).status);
  }
  const answers: string[] = [];
  for (const u of USERS) {
    await serverReady(u);
    const serverSettings = services.ServerConnection.makeSettings({
      baseUrl: `${base}/user/${u}/`,
      wsUrl: `${base.replace("http", "ws")}/user/${u}/`,
      token: TOKEN,
      WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
      appendToken: true,
    });
    const kernelManager = new services.KernelManager({ serverSettings });
    const kernel = await kernelManager.startNew({ name: "xenlab" });
    try {
      expect((await kernel.info).implementation).toBe("xenlab");
      const run = async (code: string): Promise<string[]> => {
        const outputs: string[] = [];
        const future = kernel.requestExecute({ code });
        future.onIOPub = (msg) => {
          const c = msg.content as { data?: Record<string, string>; text?: string };
          if (c.data?.["text/plain"]) outputs.push(c.data["text/plain"]);
          if (c.text) outputs.push(c.text);
        };
        const reply = await future.done;
        expect(reply!.content.status, `${outputs.join("\n")}\n${log}`).toBe("ok");
        return outputs;
      };
      expect((await run("%xl list")).join("\n")).toContain("Domain-0");
      answers.push((await run(`const who: string = ${JSON.stringify(u)}; who.toUpperCase()`)).at(-1)!);
    } finally {
      await kernel.shutdown().catch(() => undefined);
      kernelManager.dispose();
    }
  }
  expect(answers).toEqual(["'ADA'", "'GRACE'"]);
}, 400_000);
