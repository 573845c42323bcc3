/**
 * A MagicContext for calling one magic directly, without a kernel: the outputs it sends are
 * recorded, the scope is a plain object, the history is empty, and ask() fails as it does when the
 * frontend cannot answer input_request (allow_stdin false). Tests that need cells, history or
 * %reset to work use a real session (tests/support/cells.ts) instead.
 */
import type { MagicContext } from "../../src/magics/magic";
import type { MimeBundle } from "../../src/render/mime";

export interface RecordingContext {
  c: MagicContext;
  /** display_data in order, with their display ids. */
  shown: { id?: string; bundle: MimeBundle }[];
  /** update_display_data in order. */
  updates: { id: string; bundle: MimeBundle }[];
  /** stream text in order (stdout and stderr alike). */
  streams: string[];
}

export function recordingContext(): RecordingContext {
  const shown: RecordingContext["shown"] = [];
  const updates: RecordingContext["updates"] = [];
  const streams: string[] = [];
  const c: MagicContext = {
    out: {
      stream: (_name, text) => { streams.push(text); },
      display: (bundle, o) => { shown.push({ id: o?.id, bundle }); },
      updateDisplay: (id, bundle) => { updates.push({ id, bundle }); },
      clearOutput: () => {},
      result: () => {},
      error: () => {},
    },
    scope: {},
    libraryNames: new Set<string>(),
    runCell: async () => undefined,
    history: { tail: () => [], range: () => [], search: () => [] },
    resetNames: () => {},
    ask: (prompt) => { throw new Error(`cannot ask "${prompt}": this context has no frontend (stdin is not allowed)`); },
  };
  return { c, shown, updates, streams };
}
