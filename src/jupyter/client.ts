/**
 * A minimal Jupyter client on zeromq, for the conformance tests and the benchmarks: it starts a
 * kernel process (ours by default, or any kernelspec argv such as ipykernel's) and talks to it over
 * the wire the way jupyter_client does, with its own signing code so that the kernel's signatures
 * are checked independently of the kernel's wire module.
 */
import { ChildProcess, spawn } from "node:child_process";
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as zmq from "zeromq";
import { PACKAGE_ROOT } from "../package-root";
import { KERNEL_ENV, KERNEL_NODE_FLAGS } from "./kernelspec";

export const KERNEL_MAIN = join(PACKAGE_ROOT, "dist", "src", "cli", "main.js");
/** Our kernel's argv, as kernel.json has it. */
export const XENLAB_ARGV = [process.execPath, ...KERNEL_NODE_FLAGS, KERNEL_MAIN, "kernel", "-f", "{connection_file}"];

export interface Msg {
  header: { msg_id: string; msg_type: string; session: string; date: string; version: string; username: string };
  parent_header: { msg_id?: string; msg_type?: string };
  metadata: Record<string, unknown>;
  content: Record<string, any>;
  buffers: Buffer[];
  topic?: string;
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
    srv.on("error", rej);
  });
}

export interface StartOptions {
  transport?: "tcp" | "ipc";
  key?: string;
  env?: Record<string, string>;
  historyFile?: string;
  /** The kernel command, `{connection_file}` standing for the file (default: ours). */
  argv?: string[];
}

export class KernelClient {
  readonly session = randomUUID();
  proc!: ChildProcess;
  stderr = "";
  private shell = new zmq.Dealer();
  private control = new zmq.Dealer();
  stdinSock = new zmq.Dealer();
  private iopub = new zmq.Subscriber();
  private hb = new zmq.Request();
  readonly iopubLog: Msg[] = [];
  private iopubWaiters: (() => void)[] = [];
  private replies = new Map<string, (m: Msg) => void>();
  readonly stdinRequests: Msg[] = [];
  private stdinWaiters: (() => void)[] = [];
  exited: Promise<number | null> = Promise.resolve(null);
  startedAt = 0;

  constructor(
    readonly key: string,
    readonly connection: Record<string, unknown>,
    readonly connectionFile: string,
  ) {}

  static async start(opts: StartOptions = {}): Promise<KernelClient> {
    const dir = mkdtempSync(join(tmpdir(), "xenlab-kc-"));
    const key = opts.key ?? randomBytes(16).toString("hex");
    const transport = opts.transport ?? "tcp";
    const ports: Record<string, number> = {};
    for (const name of ["shell", "iopub", "stdin", "control", "hb"]) ports[`${name}_port`] = transport === "tcp" ? await freePort() : 1 + Math.floor(Math.random() * 65000);
    const connection = { transport, ip: transport === "tcp" ? "127.0.0.1" : join(dir, "kernel"), key, signature_scheme: "hmac-sha256", ...ports, kernel_name: "xenlab" };
    const file = join(dir, "connection.json");
    writeFileSync(file, JSON.stringify(connection));
    const client = new KernelClient(key, connection, file);
    const argv = (opts.argv ?? XENLAB_ARGV).map((a) => a.replace("{connection_file}", file));
    // Our kernel gets the environment its kernel.json gives it; another kernel's argv gets none of it.
    const kernelEnv = opts.argv ? {} : KERNEL_ENV;
    await client.launch(argv, { XENLAB_HISTORY: opts.historyFile ?? join(dir, "history.jsonl"), ...kernelEnv, ...opts.env });
    return client;
  }

  async launch(argv: string[], env: Record<string, string>): Promise<void> {
    this.startedAt = performance.now();
    this.proc = spawn(argv[0]!, argv.slice(1), { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    this.proc.stderr!.on("data", (d: Buffer) => (this.stderr += d.toString()));
    this.proc.stdout!.on("data", (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((res) => this.proc.once("exit", (code) => res(code)));
    // As jupyter_client does: shell and stdin share one identity, so input_request finds us.
    this.shell.routingId = this.session;
    this.stdinSock.routingId = this.session;
    const c = this.connection;
    const addr = (name: string) => (c.transport === "tcp" ? `tcp://${c.ip}:${c[`${name}_port`]}` : `ipc://${c.ip}-${c[`${name}_port`]}`);
    this.shell.connect(addr("shell"));
    this.control.connect(addr("control"));
    this.stdinSock.connect(addr("stdin"));
    this.iopub.connect(addr("iopub"));
    this.iopub.subscribe("");
    this.hb.connect(addr("hb"));
    this.hb.receiveTimeout = 5000;
    void this.pump(this.shell, (m) => this.replies.get(m.parent_header.msg_id!)?.(m));
    void this.pump(this.control, (m) => this.replies.get(m.parent_header.msg_id!)?.(m));
    void this.pump(this.stdinSock, (m) => {
      this.stdinRequests.push(m);
      for (const w of this.stdinWaiters.splice(0)) w();
    });
    void this.pump(this.iopub, (m) => {
      this.iopubLog.push(m);
      for (const w of this.iopubWaiters.splice(0)) w();
    });
  }

  sign(frames: Buffer[]): string {
    const h = createHmac("sha256", this.key);
    for (const f of frames) h.update(f);
    return h.digest("hex");
  }

  /** Parses and verifies a received message; throws if the kernel's signature is wrong. */
  decode(frames: Buffer[]): Msg {
    const i = frames.findIndex((f) => f.toString() === "<IDS|MSG>");
    if (i < 0) throw new Error("no delimiter");
    const json = frames.slice(i + 2, i + 6);
    const sig = frames[i + 1]!.toString();
    if (sig !== this.sign(json)) throw new Error(`kernel sent a bad signature on ${json[0]!.toString()}`);
    const [header, parent_header, metadata, content] = json.map((f) => JSON.parse(f.toString()));
    return { header, parent_header, metadata, content, buffers: frames.slice(i + 6), topic: i > 0 ? frames[0]!.toString() : undefined };
  }

  private async pump(sock: zmq.Readable, on: (m: Msg) => void): Promise<void> {
    try {
      for await (const frames of sock) on(this.decode(frames));
    } catch {
      // socket closed
    }
  }

  makeMessage(msgType: string, content: Record<string, unknown>, extra: { buffers?: Buffer[] } = {}): { msg: Msg; frames: Buffer[] } {
    const header = { msg_id: randomUUID(), msg_type: msgType, session: this.session, username: "test", date: new Date().toISOString(), version: "5.5" };
    const json = [header, {}, {}, content].map((o) => Buffer.from(JSON.stringify(o)));
    const frames = [Buffer.from("<IDS|MSG>"), Buffer.from(this.sign(json)), ...json, ...(extra.buffers ?? [])];
    return { msg: { header, parent_header: {}, metadata: {}, content, buffers: extra.buffers ?? [] } as Msg, frames };
  }

  /** Sends raw frames on a channel (for forged or malformed messages). */
  async sendRaw(channel: "shell" | "control", frames: Buffer[]): Promise<void> {
    await (channel === "shell" ? this.shell : this.control).send(frames);
  }

  /** Sends a request; resolves with its reply. */
  async request(channel: "shell" | "control", msgType: string, content: Record<string, unknown> = {}, buffers?: Buffer[]): Promise<{ reply: Msg; id: string }> {
    const { msg, frames } = this.makeMessage(msgType, content, { buffers });
    const reply = this.replyTo(msg.header.msg_id);
    await this.sendRaw(channel, frames);
    return { reply: await reply, id: msg.header.msg_id };
  }

  /** Sends without waiting; returns the msg_id and a promise of the reply. */
  async send(channel: "shell" | "control", msgType: string, content: Record<string, unknown> = {}, buffers?: Buffer[]): Promise<{ id: string; reply: Promise<Msg> }> {
    const { msg, frames } = this.makeMessage(msgType, content, { buffers });
    const reply = this.replyTo(msg.header.msg_id);
    await this.sendRaw(channel, frames);
    return { id: msg.header.msg_id, reply };
  }

  replyTo(id: string, timeoutMs = 30_000): Promise<Msg> {
    return new Promise((res, rej) => {
      const t = setTimeout(() => rej(new Error(`no reply to ${id} within ${timeoutMs} ms\n${this.stderr}`)), timeoutMs);
      this.replies.set(id, (m) => {
        clearTimeout(t);
        this.replies.delete(id);
        res(m);
      });
    });
  }

  /** IOPub messages for one request, waiting until its idle status arrives. */
  async iopubFor(id: string, timeoutMs = 90_000): Promise<Msg[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const mine = this.iopubLog.filter((m) => m.parent_header.msg_id === id);
      if (mine.some((m) => m.header.msg_type === "status" && m.content.execution_state === "idle")) return mine;
      if (Date.now() > deadline) throw new Error(`no idle for ${id}; got ${mine.map((m) => m.header.msg_type)}\n${this.stderr}`);
      await this.nextIopub(deadline - Date.now());
    }
  }

  /** The generous default covers a first TypeScript cell, which loads TypeScript (seconds under load). */
  async waitIopub(pred: (m: Msg) => boolean, timeoutMs = 90_000): Promise<Msg> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.iopubLog.find(pred);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`iopub message not seen within ${timeoutMs} ms\n${this.stderr}`);
      await this.nextIopub(deadline - Date.now());
    }
  }

  async waitStdin(timeoutMs = 10_000): Promise<Msg> {
    const deadline = Date.now() + timeoutMs;
    while (this.stdinRequests.length === 0) {
      if (Date.now() > deadline) throw new Error("no input_request");
      await new Promise<void>((res) => {
        this.stdinWaiters.push(res);
        setTimeout(res, Math.max(1, deadline - Date.now()));
      });
    }
    return this.stdinRequests.shift()!;
  }

  async replyStdin(parent: Msg, value: string): Promise<void> {
    const header = { msg_id: randomUUID(), msg_type: "input_reply", session: this.session, username: "test", date: new Date().toISOString(), version: "5.5" };
    const json = [header, parent.header, {}, { value }].map((o) => Buffer.from(JSON.stringify(o)));
    await this.stdinSock.send([Buffer.from("<IDS|MSG>"), Buffer.from(this.sign(json)), ...json]);
  }

  private nextIopub(ms: number): Promise<void> {
    return new Promise((res) => {
      this.iopubWaiters.push(res);
      setTimeout(res, Math.max(1, ms));
    });
  }

  /** Executes code and returns the reply and the request's IOPub messages (up to idle). */
  async execute(code: string, opts: Record<string, unknown> = {}): Promise<{ reply: Msg; iopub: Msg[]; id: string }> {
    const { reply, id } = await this.request("shell", "execute_request", { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true, ...opts });
    return { reply, iopub: await this.iopubFor(id), id };
  }

  /** Sends a heartbeat and returns the round trip in ms. */
  async ping(payload = "ping"): Promise<number> {
    const t = performance.now();
    await this.hb.send(payload);
    const [echo] = await this.hb.receive();
    if (echo!.toString() !== payload) throw new Error("heartbeat echoed something else");
    return performance.now() - t;
  }

  /**
   * Ready means: a kernel_info_request answered and its busy/idle seen on IOPub, which proves our
   * subscription is live (kernels without JEP 65's iopub_welcome need this; jupyter_client does it).
   */
  async waitReady(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { id, reply } = await this.send("shell", "kernel_info_request");
      try {
        await Promise.race([reply, new Promise<never>((_, rej) => setTimeout(() => rej(new Error("timeout")), 500))]);
        await this.waitIopub((m) => m.parent_header.msg_id === id && m.header.msg_type === "status", 500);
        return;
      } catch {
        if (Date.now() > deadline) throw new Error(`kernel did not become ready\n${this.stderr}`);
      }
    }
  }

  async shutdown(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      try {
        await Promise.race([this.request("control", "shutdown_request", { restart: false }), new Promise((r) => setTimeout(r, 3000))]);
      } catch {
        // already gone
      }
      const code = await Promise.race([this.exited, new Promise<string>((r) => setTimeout(() => r("timeout"), 3000))]);
      if (code === "timeout") this.proc.kill("SIGKILL");
    }
    for (const s of [this.shell, this.control, this.stdinSock, this.iopub, this.hb]) s.close();
  }
}

export const types = (msgs: Msg[]) => msgs.map((m) => m.header.msg_type);
