/**
 * The two threads of the kernel and what passes between them. The IO thread owns the sockets, so
 * heartbeat, control (interrupt, shutdown, kernel_info) and the shell queue are served even while
 * the main thread is busy running a cell; the main thread owns the host and the cell executor.
 */
import { Channel, Message } from "./messages";

/** A Message after structured clone: Buffers arrive as plain Uint8Arrays. */
export type ClonedMessage = Omit<Message, "identities" | "buffers"> & {
  identities: Uint8Array[];
  buffers: Uint8Array[];
};

export type ToMain =
  | { type: "request"; message: ClonedMessage }
  | { type: "interrupt" }
  | { type: "shutdown"; restart: boolean }
  | { type: "ready" };

export type ToIo =
  | { type: "send"; channel: Channel; message: Message }
  | { type: "done"; msgId: string }
  | { type: "input_request"; message: Message };

/** Shared memory between the threads (Atomics): flags, and the stdin answer. */
export interface SharedState {
  /** [INTERRUPT] 1 when an interrupt is pending; [STDIN_STATE]; [STDIN_LENGTH] bytes in stdinData. */
  flags: Int32Array;
  stdinData: Uint8Array;
}

/** Metadata key the IO thread sets on a request it did not parse (too large): its value is why. */
export const REJECTED = "xenlab_rejected";

export const INTERRUPT = 0;
export const STDIN_STATE = 1;
export const STDIN_LENGTH = 2;

export const STDIN_WAITING = 0;
export const STDIN_ANSWERED = 1;
export const STDIN_INTERRUPTED = 2;

/** Largest input_reply value we pass back (longer answers are cut, and the cut is reported). */
export const STDIN_CAPACITY = 1 << 20;

export function createSharedState(): SharedState {
  return {
    flags: new Int32Array(new SharedArrayBuffer(4 * Int32Array.BYTES_PER_ELEMENT)),
    stdinData: new Uint8Array(new SharedArrayBuffer(STDIN_CAPACITY)),
  };
}

export function revive(m: ClonedMessage): Message {
  const buf = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
  return { ...m, identities: m.identities.map(buf), buffers: m.buffers.map(buf) };
}
