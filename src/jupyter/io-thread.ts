/**
 * The kernel's IO thread (a worker): binds the five sockets, answers heartbeat, control and
 * kernel_info itself, queues shell requests and hands them to the main thread one at a time, and
 * signs and sends whatever the main thread publishes. Because it never runs user code, it answers
 * within milliseconds however long a cell runs.
 */
import { writeSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import * as zmq from "zeromq";
import {
  ClonedMessage,
  INTERRUPT,
  REJECTED,
  revive,
  SharedState,
  STDIN_ANSWERED,
  STDIN_CAPACITY,
  STDIN_INTERRUPTED,
  STDIN_LENGTH,
  STDIN_STATE,
  ToIo,
  ToMain,
} from "./bridge";
import { ConnectionInfo, endpoint } from "./connection";
import { kernelInfoContent } from "./kernel-info";
import { Channel, JsonObject, makeChild, Message } from "./messages";
import { decode, encode, MessageTooLarge, Signer, WireError } from "./wire";
import { watchParent } from "./parent-watch";
import { releaseAfterBig } from "./memory-release";

interface IoThreadData {
  connection: ConnectionInfo;
  shared: SharedState;
  session: string;
}

/** One socket's sends, in order (zeromq.js allows one send in flight per socket). */
class SendQueue {
  private tail: Promise<void> = Promise.resolve();
  constructor(
    private readonly socket: zmq.Writable,
    private readonly name: string,
  ) {}
  /** Resolves once the frames are handed to libzmq. */
  send(frames: Buffer[]): Promise<void> {
    this.tail = this.tail
      .then(() => this.socket.send(frames))
      .catch((err: unknown) => log(`send on ${this.name} failed: ${(err as Error).message}`));
    return this.tail;
  }
}

/** The largest message (its frames after the signature) the kernel parses: 64 MiB unless configured. */
const MAX_MESSAGE_BYTES = maxMessageBytes(process.env.XENLAB_MAX_MESSAGE_BYTES);

function maxMessageBytes(setting: string | undefined): number {
  if (setting === undefined || setting === "") return 64 * 1024 * 1024;
  const n = Number(setting);
  if (!Number.isInteger(n) || n <= 0) {
    log(`XENLAB_MAX_MESSAGE_BYTES=${JSON.stringify(setting)} is not a positive whole number of bytes; using 64 MiB`);
    return 64 * 1024 * 1024;
  }
  return n;
}

function log(message: string): void {
  // Straight to fd 2: the main thread's stderr is captured into cell output.
  writeSync(2, `[xenlab io] ${message}\n`);
}

class IoThread {
  private readonly signer: Signer;
  private readonly shell = new zmq.Router();
  private readonly control = new zmq.Router();
  private readonly stdin = new zmq.Router();
  private readonly iopub = new zmq.XPublisher();
  private readonly hb = new zmq.Reply();
  private readonly out: Record<Channel, SendQueue>;
  private readonly queue: Message[] = [];
  /** The shell request the main thread is handling. */
  private busy: Message | undefined;
  private pendingInput: Message | undefined;
  private shuttingDown = false;

  constructor(
    private readonly data: IoThreadData,
    private readonly port: NonNullable<typeof parentPort>,
  ) {
    this.signer = new Signer(data.connection.key, data.connection.signature_scheme);
    this.iopub.verbosity = "allSubs";
    // Replies sent just before an exit (shutdown_reply) still get out; nothing waits longer.
    for (const s of this.sockets()) s.linger = 200;
    this.out = {
      shell: new SendQueue(this.shell, "shell"),
      control: new SendQueue(this.control, "control"),
      stdin: new SendQueue(this.stdin, "stdin"),
      iopub: new SendQueue(this.iopub, "iopub"),
    };
  }

  async start(): Promise<void> {
    const c = this.data.connection;
    await Promise.all([
      this.shell.bind(endpoint(c, "shell")),
      this.control.bind(endpoint(c, "control")),
      this.stdin.bind(endpoint(c, "stdin")),
      this.iopub.bind(endpoint(c, "iopub")),
      this.hb.bind(endpoint(c, "hb")),
    ]);
    this.port.on("message", (m: ToIo) => this.fromMain(m));
    void this.loop("heartbeat", this.hb, async (frames) => this.hb.send(frames));
    void this.loop("iopub subscriptions", this.iopub, async (frames) => this.onSubscription(frames));
    void this.loop("shell", this.shell, async (frames) => this.receive(frames, (m) => this.onShell(m)));
    void this.loop("control", this.control, async (frames) => this.receive(frames, (m) => this.onControl(m)));
    void this.loop("stdin", this.stdin, async (frames) => this.receive(frames, (m) => this.onStdin(m)));
    this.publish(undefined, "status", { execution_state: "starting" });
    if (process.env.XENLAB_NO_PARENT_WATCH !== "1") {
      watchParent((why) => {
        log(`${why}: exiting (no orphan kernels)`);
        process.kill(process.pid, "SIGTERM");
      });
    }
    this.toMain({ type: "ready" });
  }

  private async loop(name: string, socket: zmq.Readable, handle: (frames: Buffer[]) => Promise<void>): Promise<void> {
    try {
      for await (const frames of socket) {
        try {
          await handle(frames);
        } catch (err) {
          log(`${name}: ${(err as Error).stack ?? String(err)}`);
        }
      }
    } catch (err) {
      if (!this.shuttingDown) log(`${name} socket stopped: ${(err as Error).message}`);
    }
  }

  /** Bad frames or signatures are logged and dropped, never answered. */
  private async receive(frames: Buffer[], handle: (m: Message) => void): Promise<void> {
    let message: Message;
    try {
      message = decode(frames, this.signer, MAX_MESSAGE_BYTES);
    } catch (err) {
      if (err instanceof MessageTooLarge) {
        // Answered in order with the other requests of its channel, by whoever answers its type.
        log(err.message);
        err.stub.metadata = { [REJECTED]: err.message };
        handle(err.stub);
        return;
      }
      if (err instanceof WireError) {
        log(`dropped a message: ${err.message}`);
        return;
      }
      throw err;
    }
    handle(message);
    releaseAfterBig(frames.reduce((n, f) => n + f.length, 0));
  }

  private onSubscription(frames: Buffer[]): void {
    const frame = frames[0];
    if (!frame || frame[0] !== 1) return; // unsubscribe
    const subscription = frame.subarray(1).toString("utf8");
    // JEP 65: the welcome's topic is the subscription itself, so that subscriber receives it.
    this.send("iopub", makeChild(undefined, "iopub_welcome", { subscription }, this.data.session, { identities: [Buffer.from(subscription)] }));
  }

  private onShell(m: Message): void {
    if (m.header.msg_type === "kernel_info_request") {
      this.answer("shell", m, "kernel_info_reply", kernelInfoContent());
      return;
    }
    this.queue.push(m);
    this.pump();
  }

  private onControl(m: Message): void {
    const type = m.header.msg_type;
    const rejected = m.metadata[REJECTED];
    if (typeof rejected === "string") {
      if (type.endsWith("_request")) this.answer("control", m, type.replace(/_request$/, "_reply"), { status: "error", ename: "MessageTooLarge", evalue: rejected, traceback: [rejected] });
      return;
    }
    switch (type) {
      case "kernel_info_request":
        this.answer("control", m, "kernel_info_reply", kernelInfoContent());
        return;
      case "interrupt_request":
        this.interrupt();
        this.answer("control", m, "interrupt_reply", { status: "ok" });
        return;
      case "shutdown_request": {
        const restart = m.content.restart === true;
        this.answer("control", m, "shutdown_reply", { status: "ok", restart });
        // Clients that watch only IOPub learn of the shutdown there (as ipykernel does).
        void this.publish(m, "shutdown_reply", { status: "ok", restart }).then(() => this.shutdown(restart));
        return;
      }
      default:
        this.unknown("control", m);
    }
  }

  private onStdin(m: Message): void {
    if (m.header.msg_type !== "input_reply" || !this.pendingInput) {
      log(`ignored ${m.header.msg_type} on stdin (no input is pending)`);
      return;
    }
    this.pendingInput = undefined;
    const value = typeof m.content.value === "string" ? m.content.value : "";
    const bytes = Buffer.from(value, "utf8").subarray(0, STDIN_CAPACITY);
    const { flags, stdinData } = this.data.shared;
    stdinData.set(bytes);
    Atomics.store(flags, STDIN_LENGTH, bytes.length);
    Atomics.store(flags, STDIN_STATE, STDIN_ANSWERED);
    Atomics.notify(flags, STDIN_STATE);
  }

  private interrupt(): void {
    if (!this.busy) return; // nothing runs: an interrupt at idle does nothing (as in ipykernel)
    const { flags } = this.data.shared;
    Atomics.store(flags, INTERRUPT, 1);
    if (this.pendingInput) {
      this.pendingInput = undefined;
      Atomics.store(flags, STDIN_STATE, STDIN_INTERRUPTED);
      Atomics.notify(flags, STDIN_STATE);
    }
    this.toMain({ type: "interrupt" });
  }

  private sockets(): zmq.Socket[] {
    return [this.shell, this.control, this.stdin, this.iopub, this.hb];
  }

  private shutdown(restart: boolean): void {
    this.shuttingDown = true;
    Atomics.store(this.data.shared.flags, INTERRUPT, 1);
    // Closing lets libzmq flush what is queued (within the linger time) before the process exits.
    for (const s of this.sockets()) s.close();
    this.toMain({ type: "shutdown", restart });
    // If the main thread is stuck in code that never ticks, do not outlive the client's patience.
    setTimeout(() => process.kill(process.pid, "SIGKILL"), 2000).unref();
  }

  private fromMain(m: ToIo): void {
    switch (m.type) {
      case "send":
        this.send(m.channel, revive(m.message as unknown as ClonedMessage));
        if (m.message.header.msg_type === "execute_reply") this.afterExecuteReply(m.message);
        return;
      case "done":
        if (this.busy?.header.msg_id === m.msgId) this.busy = undefined;
        this.pump();
        return;
      case "input_request": {
        const message = revive(m.message as unknown as ClonedMessage);
        this.pendingInput = message;
        this.send("stdin", message);
        return;
      }
    }
  }

  /** stop_on_error: an error aborts the executes already queued, and only those. */
  private afterExecuteReply(reply: Message): void {
    const request = this.busy;
    // As ipykernel: a silent execute's error aborts nothing (frontends use them for housekeeping).
    if (!request || reply.content.status !== "error" || request.content.stop_on_error === false || request.content.silent === true) return;
    const keep: Message[] = [];
    for (const queued of this.queue.splice(0)) {
      if (queued.header.msg_type === "execute_request") {
        this.publish(queued, "status", { execution_state: "busy" });
        this.send("shell", makeChild(queued, "execute_reply", { status: "aborted" }, this.data.session, { metadata: { status: "aborted" } }));
        this.publish(queued, "status", { execution_state: "idle" });
      } else {
        keep.push(queued);
      }
    }
    this.queue.push(...keep);
  }

  private pump(): void {
    if (this.busy || this.shuttingDown) return;
    const next = this.queue.shift();
    if (!next) return;
    this.busy = next;
    this.toMain({ type: "request", message: next });
  }

  /** A reply framed by busy/idle on IOPub, as every request gets. */
  private answer(channel: Channel, request: Message, replyType: string, content: JsonObject): void {
    this.publish(request, "status", { execution_state: "busy" });
    this.send(channel, makeChild(request, replyType, content, this.data.session));
    this.publish(request, "status", { execution_state: "idle" });
  }

  private unknown(channel: Channel, m: Message): void {
    const type = m.header.msg_type;
    log(`unknown message type ${type} on ${channel}`);
    if (!type.endsWith("_request")) return;
    this.answer(channel, m, type.replace(/_request$/, "_reply"), {
      status: "error",
      ename: "UnknownMessageType",
      evalue: `${type} is not supported by this kernel`,
      traceback: [],
    });
  }

  private publish(parent: Message | undefined, msgType: string, content: JsonObject): Promise<void> {
    return this.send("iopub", makeChild(parent, msgType, content, this.data.session));
  }

  private send(channel: Channel, message: Message): Promise<void> {
    if (channel === "iopub" && message.header.msg_type !== "iopub_welcome") {
      message.identities = [Buffer.from(`kernel.${this.data.session}.${message.header.msg_type}`)];
    }
    return this.out[channel].send(encode(message, this.signer));
  }

  private toMain(m: ToMain): void {
    this.port.postMessage(m);
  }
}

if (parentPort) {
  new IoThread(workerData as IoThreadData, parentPort).start().catch((err: unknown) => {
    log(`cannot start: ${(err as Error).stack ?? String(err)}`);
    process.kill(process.pid, "SIGTERM");
  });
}
