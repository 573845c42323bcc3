/**
 * Where a cell's outputs go. The kernel sends them as IOPub messages; the notebook runner
 * (`xenlab run`) appends them to nbformat outputs. The cell runner only knows this interface.
 */
import { inspect } from "node:util";
import { isDisplayable, JUPYTER_DISPLAY, MimeBundle } from "../mime";
import "../render/register"; // the views every model object is drawn with

export type { CellError, DisplayOptions, OutputSink, StreamName } from "../output-sink";

/** The MIME bundle for any value: its own display hook if it has one, else util.inspect. */
export function mimeBundleOf(value: unknown): MimeBundle {
  if (typeof value === "object" && value !== null) {
    const hook = (value as Record<symbol, unknown>)[JUPYTER_DISPLAY];
    if (typeof hook === "function") return withTextPlain(hook.call(value), value);
    if (isDisplayable(value)) return withTextPlain(value.toMimeBundle(), value);
  }
  return { "text/plain": typeof value === "string" ? inspect(value) : plainText(value) };
}

function withTextPlain(bundle: unknown, value: unknown): MimeBundle {
  if (typeof bundle !== "object" || bundle === null) {
    throw new TypeError("a display hook must return a MIME bundle object");
  }
  const b = bundle as Record<string, unknown>;
  if (typeof b["text/plain"] === "string") return b as MimeBundle;
  return { ...b, "text/plain": plainText(value) };
}

function plainText(value: unknown): string {
  return inspect(value, { depth: 4, maxArrayLength: 50, breakLength: 100 });
}
