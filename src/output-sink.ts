/**
 * Where a cell's outputs go, as an interface: the kernel's IOPub sink and the notebook runner's
 * nbformat sink (src/jupyter) implement it; the cell runner and the magics (src/magics) write to
 * it. It sits beside src/mime.ts, below both, so the magics need nothing from the kernel.
 */
import type { MimeBundle } from "./mime";

export type StreamName = "stdout" | "stderr";

export interface DisplayOptions {
  /** A display id: later `update` calls replace every output carrying it. */
  id?: string;
  metadata?: Record<string, unknown>;
}

export interface OutputSink {
  stream(name: StreamName, text: string): void;
  display(bundle: MimeBundle, options?: DisplayOptions): void;
  updateDisplay(id: string, bundle: MimeBundle, metadata?: Record<string, unknown>): void;
  clearOutput(wait: boolean): void;
  result(executionCount: number, bundle: MimeBundle): void;
  error(error: CellError): void;
  /** A payload for the execute_reply (e.g. the pager, for `%magic?`). */
  page?(bundle: MimeBundle): void;
  /** The set_next_input payload: text for the frontend to put in the cell (`replace`) or below it. */
  nextInput?(text: string, replace: boolean): void;
}

export interface CellError {
  ename: string;
  evalue: string;
  traceback: string[];
}
