/**
 * Colours for domains and frame uses that read on JupyterLab's light and dark themes alike
 * (mid lightness, moderate saturation; text drawn in currentColor).
 */

/** Reserved domain ids (xen/include/public/xen.h). */
export const DOMID_SELF = 0x7ff0;
export const DOMID_IO = 0x7ff1;
export const DOMID_XEN = 0x7ff2;
export const DOMID_COW = 0x7ff3;
export const DOMID_INVALID = 0x7ff4;
export const DOMID_IDLE = 0x7fff;

export const FREE_COLOUR = "#9aa5b1";

/** A stable colour per domain: dom0 blue, Xen slate, others spread by the golden angle. */
export function domainColour(domid: number): string {
  if (domid === 0) return "#3b82c4";
  if (domid === DOMID_XEN) return "#5b6470";
  if (domid === DOMID_IO) return "#8c6d46";
  if (domid >= DOMID_SELF) return FREE_COLOUR;
  const hue = (20 + domid * 137.508) % 360;
  return hsl(hue, 62, 52);
}

export function domainLabel(domid: number): string {
  switch (domid) {
    case DOMID_XEN:
      return "Xen";
    case DOMID_IO:
      return "DOMID_IO";
    case DOMID_COW:
      return "DOMID_COW";
    case DOMID_INVALID:
      return "free";
    case DOMID_IDLE:
      return "idle";
    default:
      return `dom${domid}`;
  }
}

function hsl(h: number, s: number, l: number): string {
  const a = (s / 100) * Math.min(l / 100, 1 - l / 100);
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    const c = l / 100 - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(c * 255).toString(16).padStart(2, "0");
  };
  return `#${f(0)}${f(8)}${f(4)}`;
}
