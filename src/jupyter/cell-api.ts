/**
 * Functions every cell has in scope besides the library: display, updateDisplay, clearOutput,
 * input and comm. They act on the cell that is running (or, for callbacks that fire later, the
 * cell that ran last), through whichever host runs cells: the kernel or `xenlab run`.
 */
import { randomUUID } from "node:crypto";
import { mimeBundleOf, OutputSink } from "./outputs";

export interface StdinProvider {
  /** Blocks until the frontend answers; throws if the request does not allow stdin. */
  input(prompt: string, password: boolean): string;
}

export interface CommApi {
  /** Registers a handler for comms the frontend opens with this target name. */
  registerTarget(target: string, onOpen: (comm: Comm, data: unknown) => void): void;
  /** Opens a comm from the kernel side. */
  open(target: string, data?: unknown): Comm;
}

export interface Comm {
  readonly id: string;
  readonly target: string;
  /** Sends data, with binary buffers passed through as raw frames (not JSON). */
  send(data: unknown, buffers?: Uint8Array[]): void;
  close(data?: unknown): void;
  onMsg(handler: (data: unknown, buffers: Uint8Array[]) => void): void;
  onClose(handler: (data: unknown) => void): void;
}

interface CellHost {
  sink: OutputSink | undefined;
  stdin: StdinProvider | undefined;
  comm: CommApi | undefined;
}

const host: CellHost = { sink: undefined, stdin: undefined, comm: undefined };

/** For the code that runs cells: where output goes now. */
export function setCellSink(sink: OutputSink | undefined): void {
  host.sink = sink;
}

export function currentCellSink(): OutputSink | undefined {
  return host.sink;
}

export function setStdinProvider(stdin: StdinProvider | undefined): void {
  host.stdin = stdin;
}

export function setCommApi(api: CommApi | undefined): void {
  host.comm = api;
}

function sink(): OutputSink {
  if (!host.sink) throw new Error("display() needs a running cell (there is no output area to draw in)");
  return host.sink;
}

export interface DisplayHandle {
  readonly id: string;
  /** Replaces every output that shows this display (update_display_data). */
  update(value: unknown): void;
}

/**
 * Shows `value` in the output area now (display_data). With `{ id }` (or always, through the
 * returned handle) it can be updated in place later: the way live views refresh.
 */
export function display(value: unknown, options: { id?: string; metadata?: Record<string, unknown> } = {}): DisplayHandle {
  const id = options.id ?? randomUUID();
  sink().display(mimeBundleOf(value), { id, metadata: options.metadata });
  return { id, update: (v: unknown) => updateDisplay(id, v) };
}

export function updateDisplay(id: string, value: unknown): void {
  sink().updateDisplay(id, mimeBundleOf(value));
}

/**
 * A display that redraws at most every `intervalMs` (and always on `finish`), for loops that
 * would otherwise flood the frontend with update_display_data messages.
 */
export function liveDisplay(initial: unknown, intervalMs = 100): { update(value: unknown): void; finish(value: unknown): void; readonly id: string } {
  const handle = display(initial);
  let last = 0;
  return {
    id: handle.id,
    update(value: unknown) {
      const now = Date.now();
      if (now - last < intervalMs) return;
      last = now;
      handle.update(value);
    },
    finish(value: unknown) {
      handle.update(value);
    },
  };
}

/** Clears the cell's output; with `{ wait: true }` only when the next output arrives (no flicker). */
export function clearOutput(options: { wait?: boolean } = {}): void {
  sink().clearOutput(options.wait ?? false);
}

/** Asks the user for a line of text (Jupyter's input_request); blocks until they answer. */
export function input(prompt = "", options: { password?: boolean } = {}): string {
  if (!host.stdin) throw new Error("input() is not available here: this frontend does not support input requests");
  return host.stdin.input(prompt, options.password ?? false);
}

/** Comms (Jupyter's comm_open/comm_msg/comm_close) for widgets and custom frontends. */
export const comm: CommApi = {
  registerTarget(target, onOpen) {
    commApi().registerTarget(target, onOpen);
  },
  open(target, data) {
    return commApi().open(target, data);
  },
};

function commApi(): CommApi {
  if (!host.comm) throw new Error("comms need a Jupyter frontend (none is connected when running with `xenlab run`)");
  return host.comm;
}
