/**
 * The one opening every SVG view shares. JupyterLab draws image/svg+xml through an <img>, where a
 * picture cannot read the page's theme: on JupyterLab Dark a transparent picture with dark text
 * is unreadable. So each picture brings its own paper (light, as a matplotlib figure does) and
 * sets `color` so `currentColor` text is dark on it whether the SVG is inlined (the classic
 * notebook) or an image (JupyterLab), light theme or dark.
 */
export const PAPER = "#ffffff";
export const INK = "#1f2328";

export interface SvgFrame {
  width: number;
  height: number;
  /** Default font for the picture's text. */
  fontFamily?: "sans-serif" | "monospace";
  fontSize?: number;
  /** Extra attributes for the root element (e.g. `role="img"`). */
  attrs?: string;
}

/** `<svg ...>` with its paper drawn; close it with `</svg>`. */
export function svgOpen(f: SvgFrame): string {
  const font = `${f.fontFamily ? ` font-family="${f.fontFamily}"` : ""}${f.fontSize ? ` font-size="${f.fontSize}"` : ""}`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${f.width}" height="${f.height}" viewBox="0 0 ${f.width} ${f.height}"${font} color="${INK}"${f.attrs ? ` ${f.attrs}` : ""}><rect class="paper" width="100%" height="100%" fill="${PAPER}"/>`;
}
