/**
 * The kernel's main thread: owns the host and the cell runner, and handles the shell requests the
 * IO thread hands it, one at a time, in order (dispatch table as in ipykernel's kernelbase).
 */
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { setInterruptSource, KeyboardInterrupt } from "../interrupt";
import { mimeBundleOf } from "./outputs";
import {
  createSharedState,
  INTERRUPT,
  REJECTED,
  revive,
  SharedState,
  STDIN_ANSWERED,
  STDIN_INTERRUPTED,
  STDIN_LENGTH,
  STDIN_STATE,
  STDIN_WAITING,
  ToIo,
  ToMain,
} from "./bridge";
import { setCommApi, setStdinProvider } from "./cell-api";
import type { CellRunner } from "./cell-runner";
import { CommManager } from "./comms";
import { ConnectionInfo } from "./connection";
import { defaultHistoryPath, History } from "./history";
import { complete, inspect, isComplete } from "./introspection";
import { IopubSink, NullSink } from "./iopub-sink";
import { Channel, JsonObject, JsonValue, makeChild, Message } from "./messages";
import { captureStdio, kernelLog } from "./stdio-capture";
import { codePointToUtf16, utf16ToCodePoint } from "./code-points";
import { IdleRelease } from "./memory-release";

type Handler = (m: Message) => Promise<void> | void;

/** A cell that is only `exit` or `quit` (optionally called): IPython's exit autocall. */
const ASK_EXIT = /^\s*(exit|quit)\s*(\(\s*\))?\s*;?\s*$/;

export class Kernel {
  private readonly session = randomUUID();
  private readonly shared: SharedState = createSharedState();
  private worker!: Worker;
  /** Created once the IO thread serves: loading TypeScript takes a few hundred ms. */
  private runner!: CellRunner;
  private readonly history = new History(defaultHistoryPath());
  private readonly comms: CommManager;
  private executionCount = 0;
  /** Collects once idle after a request that grew the process (memory given back). */
  private readonly memory = new IdleRelease();
  /** The request being handled (the parent of anything published now). */
  private current: Message | undefined;
  /** The last execute_request: output from timers a finished cell started is parented to it. */
  private lastExecute: Message | undefined;
  private readonly handlers: Record<string, Handler> = {
    execute_request: (m) => this.execute(m),
    complete_request: (m) => this.complete(m),
    inspect_request: (m) => this.inspect(m),
    is_complete_request: (m) => this.isComplete(m),
    history_request: (m) => this.historyRequest(m),
    comm_info_request: (m) => this.reply(m, "comm_info_reply", { status: "ok", comms: this.comms.info(str(m.content.target_name)) }),
    comm_open: (m) => this.comms.receive("comm_open", m.content, m.buffers),
    comm_msg: (m) => this.comms.receive("comm_msg", m.content, m.buffers),
    comm_close: (m) => this.comms.receive("comm_close", m.content, m.buffers),
  };

  constructor(private readonly connection: ConnectionInfo) {
    const flags = this.shared.flags;
    const interrupted = () => Atomics.load(flags, INTERRUPT) !== 0;
    setInterruptSource(interrupted);
    this.comms = new CommManager((type, content, buffers) => this.publish(this.current ?? this.lastExecute, type, content, buffers));
    setCommApi(this.comms);
    setStdinProvider({ input: (prompt, password) => this.input(prompt, password) });
  }

  async start(): Promise<void> {
    captureStdio();
    this.worker = new Worker(join(__dirname, "io-thread.js"), {
      workerData: { connection: this.connection, shared: this.shared, session: this.session },
    });
    await new Promise<void>((resolve, reject) => {
      this.worker.once("error", reject);
      this.worker.on("message", (m: ToMain) => {
        if (m.type === "ready") resolve();
        else void this.fromIo(m);
      });
    });
    // kernel_info is already being answered by the IO thread; now load the heavy parts.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { createCellRunner } = require("./cell-environment") as typeof import("./cell-environment");
    const flags = this.shared.flags;
    this.runner = createCellRunner({ interrupted: () => Atomics.load(flags, INTERRUPT) !== 0, history: this.history });
    this.memory.settle();
    this.worker.on("error", (err) => {
      kernelLog(`IO thread failed: ${err.stack ?? err.message}`);
      process.exit(1);
    });
    // Signal mode (jupyter_client's default for kernels that do not ask for messages) and Ctrl-C.
    process.on("SIGINT", () => {
      Atomics.store(this.shared.flags, INTERRUPT, 1);
      this.runner.executor.interrupt();
    });
    // SIGTERM keeps its default action (end the process at once): a JavaScript handler would not
    // run while a cell busy-loops, and the kernel must not outlive a SIGTERM.
    // TypeScript is loaded by the first cell that needs it (see TsExecutor): until then every
    // request is answered at once, and a session of magics never pays for it.
  }

  private async fromIo(m: ToMain): Promise<void> {
    switch (m.type) {
      case "request":
        await this.handle(revive(m.message));
        return;
      case "interrupt":
        this.runner.executor.interrupt();
        return;
      case "shutdown":
        await this.exit();
    }
  }

  /** Ends the process after the IO thread has let go of its sockets (and flushed them). */
  private async exit(): Promise<never> {
    this.runner.executor.close();
    await this.worker.terminate().catch(() => undefined);
    process.exit(0);
  }

  private async handle(m: Message): Promise<void> {
    Atomics.store(this.shared.flags, INTERRUPT, 0);
    this.memory.busy();
    const wasWarm = this.runner.executor.warm;
    this.current = m;
    const handler = this.handlers[m.header.msg_type];
    try {
      this.publish(m, "status", { execution_state: "busy" });
      const rejected = m.metadata[REJECTED];
      if (typeof rejected === "string") {
        this.rejectTooLarge(m, rejected);
      } else if (handler) {
        await handler(m);
      } else {
        kernelLog(`unknown message type ${m.header.msg_type} on shell`);
        if (m.header.msg_type.endsWith("_request")) {
          this.reply(m, m.header.msg_type.replace(/_request$/, "_reply"), {
            status: "error",
            ename: "UnknownMessageType",
            evalue: `${m.header.msg_type} is not supported by this kernel`,
            traceback: [],
          });
        }
      }
    } catch (err) {
      // A handler bug must not take the kernel down: answer with the error instead.
      kernelLog(`handling ${m.header.msg_type}: ${(err as Error).stack ?? String(err)}`);
      const error = { ename: (err as Error).name ?? "Error", evalue: (err as Error).message ?? String(err), traceback: [] };
      if (m.header.msg_type.endsWith("_request")) this.reply(m, m.header.msg_type.replace(/_request$/, "_reply"), { status: "error", ...error });
    } finally {
      this.publish(m, "status", { execution_state: "idle" });
      this.current = undefined;
      this.post({ type: "done", msgId: m.header.msg_id });
      const bytes = m.header.msg_type === "execute_request" ? (str(m.content.code)?.length ?? 0) : 0;
      this.memory.idle(bytes, !wasWarm && this.runner.executor.warm);
    }
  }

  /** A request the IO thread would not parse: an error reply (and for an execute, the error shown). */
  private rejectTooLarge(m: Message, why: string): void {
    const type = m.header.msg_type;
    if (!type.endsWith("_request")) return;
    const error = { ename: "MessageTooLarge", evalue: why, traceback: [`MessageTooLarge: ${why}`] };
    if (type === "execute_request") {
      this.publish(m, "error", error);
      this.reply(m, "execute_reply", { status: "error", execution_count: this.executionCount, ...error }, { status: "error" });
      return;
    }
    this.reply(m, type.replace(/_request$/, "_reply"), { status: "error", ...error });
  }

  private async execute(m: Message): Promise<void> {
    const code = str(m.content.code) ?? "";
    const silent = m.content.silent === true;
    const storeHistory = silent ? false : m.content.store_history !== false;
    if (storeHistory) this.executionCount++;
    const count = this.executionCount;
    this.lastExecute = m;
    this.allowStdin = m.content.allow_stdin === true;
    if (!silent) this.publish(m, "execute_input", { code, execution_count: count });
    if (ASK_EXIT.test(code)) {
      // IPython's habit: `exit` / `quit` ask the frontend to close (jupyter console exits, the
      // kernel is shut down by its manager) through the ask_exit payload, rather than being run.
      if (storeHistory) this.history.record(count, code);
      this.reply(m, "execute_reply", { status: "ok", execution_count: count, user_expressions: {}, payload: [{ source: "ask_exit", keepkernel: false }] }, { status: "ok" });
      return;
    }
    const sink = silent ? new NullSink() : new IopubSink((type, content) => this.publish(m, type, content));
    const outcome = await this.runner.run(code, sink, count);
    if (storeHistory) this.history.record(count, code);
    if (outcome.status === "error") {
      this.reply(m, "execute_reply", { status: "error", execution_count: count, ...outcome.error! }, { status: "error" });
      return;
    }
    const userExpressions = await this.userExpressions(m.content.user_expressions);
    const payload: JsonObject[] =
      sink instanceof IopubSink
        ? [...sink.pages.map((data) => ({ source: "page", data: data as JsonObject, start: 0 })), ...sink.nextInputs.map((n) => ({ source: "set_next_input", text: n.text, replace: n.replace }))]
        : [];
    this.reply(m, "execute_reply", { status: "ok", execution_count: count, user_expressions: userExpressions, payload }, { status: "ok" });
  }

  private async userExpressions(raw: JsonValue | undefined): Promise<JsonObject> {
    const out: JsonObject = {};
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return out;
    for (const [name, expr] of Object.entries(raw)) {
      const r = await this.runner.evaluate(String(expr));
      out[name] = r.ok
        ? { status: "ok", data: mimeBundleOf(r.value) as JsonObject, metadata: {} }
        : { status: "error", ...r.error };
    }
    return out;
  }

  private async complete(m: Message): Promise<void> {
    const code = str(m.content.code) ?? "";
    const cursor = codePointToUtf16(code, num(m.content.cursor_pos) ?? [...code].length);
    const c = await complete(this.runner, code, cursor);
    this.reply(m, "complete_reply", {
      status: "ok",
      matches: c.matches,
      cursor_start: utf16ToCodePoint(code, c.start),
      cursor_end: utf16ToCodePoint(code, c.end),
      metadata: {},
    });
  }

  private async inspect(m: Message): Promise<void> {
    const code = str(m.content.code) ?? "";
    const cursor = codePointToUtf16(code, num(m.content.cursor_pos) ?? [...code].length);
    const data = await inspect(this.runner, code, cursor);
    this.reply(m, "inspect_reply", { status: "ok", found: data !== undefined, data: (data ?? {}) as JsonObject, metadata: {} });
  }

  private isComplete(m: Message): void {
    this.reply(m, "is_complete_reply", isComplete(this.runner, str(m.content.code) ?? "") as JsonObject);
  }

  private historyRequest(m: Message): void {
    const c = m.content;
    const output = c.output === true;
    let history: JsonValue[] = [];
    switch (c.hist_access_type) {
      case "tail":
        history = this.history.tail(num(c.n) ?? 10, output);
        break;
      case "range":
        history = this.history.range(num(c.session) ?? 0, num(c.start) ?? 0, num(c.stop) ?? undefined, output);
        break;
      case "search":
        history = this.history.search(str(c.pattern) ?? "*", num(c.n) ?? undefined, c.unique === true, output);
        break;
    }
    this.reply(m, "history_reply", { status: "ok", history });
  }

  private allowStdin = false;

  /** Blocks the main thread until the frontend answers input_request (or an interrupt). */
  private input(prompt: string, password: boolean): string {
    const parent = this.current;
    if (!parent || !this.allowStdin) {
      throw new Error("input() was called, but this frontend does not support input requests (allow_stdin is false)");
    }
    const { flags, stdinData } = this.shared;
    Atomics.store(flags, STDIN_STATE, STDIN_WAITING);
    const request = makeChild(parent, "input_request", { prompt, password }, this.session);
    this.post({ type: "input_request", message: request });
    while (Atomics.load(flags, STDIN_STATE) === STDIN_WAITING) Atomics.wait(flags, STDIN_STATE, STDIN_WAITING, 1000);
    if (Atomics.load(flags, STDIN_STATE) === STDIN_INTERRUPTED) throw new KeyboardInterrupt();
    const state = Atomics.load(flags, STDIN_STATE);
    if (state !== STDIN_ANSWERED) throw new Error(`stdin in unexpected state ${state}`);
    return Buffer.from(stdinData.subarray(0, Atomics.load(flags, STDIN_LENGTH))).toString("utf8");
  }

  private reply(request: Message, type: string, content: JsonObject, metadata: JsonObject = {}): void {
    this.send("shell", makeChild(request, type, content, this.session, { metadata }));
  }

  private publish(parent: Message | undefined, type: string, content: JsonObject, buffers: Buffer[] = []): void {
    this.send("iopub", makeChild(parent, type, content, this.session, { identities: [], buffers }));
  }

  private send(channel: Channel, message: Message): void {
    this.post({ type: "send", channel, message });
  }

  private post(m: ToIo): void {
    this.worker.postMessage(m);
  }
}

function str(v: JsonValue | undefined): string | undefined {
  return typeof v === "string" ? v : undefined;
}

function num(v: JsonValue | undefined): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}
