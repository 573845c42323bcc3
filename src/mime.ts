/**
 * The MIME layer: how every model object shows itself, without the model knowing how.
 *
 * A bundle maps MIME types to data, as in Jupyter's display_data/execute_result; `text/plain` is
 * always present so consoles, nbconvert's text exporter and tests have something to read. Views
 * (src/render) register one display function per model class here (src/render/register.ts);
 * a model's `toMimeBundle()` asks this registry, so models never import src/render and render
 * depends on models, never the other way round.
 */

export type MimeBundle = { "text/plain": string } & Record<string, unknown>;

/** Deno's and our convention for "this value knows how to display itself" (interoperable). */
export const JUPYTER_DISPLAY = Symbol.for("Jupyter.display");

export interface Displayable {
  toMimeBundle(): MimeBundle;
}

export function isDisplayable(value: unknown): value is Displayable {
  return typeof value === "object" && value !== null && typeof (value as Partial<Displayable>).toMimeBundle === "function";
}

/** Escapes text for inclusion in HTML or SVG markup. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!);
}

const XML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** A class, by its prototype (so abstract classes and private constructors qualify). */
type Class<T> = { readonly prototype: T };

// A display function takes an instance of the class it was registered for; the map cannot say
// so per entry, so it stores them as taking `object` and `registerDisplay` is the one way in.
const displays = new Map<object, (x: object) => MimeBundle>();

/** Registers how instances of `cls` (and subclasses without their own) are drawn. */
export function registerDisplay<T extends object>(cls: Class<T>, fn: (x: T) => MimeBundle): void {
  displays.set(cls.prototype as object, fn as (x: object) => MimeBundle);
}

/** The display function for an object's class (nearest registered ancestor), if any. */
export function displayFor(x: object): ((x: object) => MimeBundle) | undefined {
  for (let p: object | null = Object.getPrototypeOf(x); p; p = Object.getPrototypeOf(p)) {
    const fn = displays.get(p);
    if (fn) return fn;
  }
  return undefined;
}

/** Draws a model object through its registered display; a clear error when none is loaded. */
export function display(x: object): MimeBundle {
  const fn = displayFor(x);
  if (!fn) throw new Error(`no display registered for ${x.constructor?.name ?? "this object"}: import xenlab's views (src/render/register) first`);
  return fn(x);
}
