/**
 * MIME bundles: how every model object shows itself.
 *
 * A bundle maps MIME types to data, as in Jupyter's display_data/execute_result. `text/plain` is
 * always present so that consoles, nbconvert's text exporter and tests have something to read.
 */

export type MimeBundle = { "text/plain": string } & Record<string, unknown>;

/** Deno's and our convention for "this value knows how to display itself" (interoperable). */
export const JUPYTER_DISPLAY = Symbol.for("Jupyter.display");

export interface Displayable {
  toMimeBundle(): MimeBundle;
}

export function isDisplayable(value: unknown): value is Displayable {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Partial<Displayable>).toMimeBundle === "function"
  );
}

/** Escapes text for inclusion in HTML or SVG markup. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!);
}

const XML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};
