/**
 * A progress bar for long work (a guest running for millions of instructions, a disk
 * conversion): done/total with a label and extra figures, drawn as HTML with a text fallback.
 * Live views update it in place through one display id.
 */
import { escapeXml, MimeBundle } from "./mime";

export interface ProgressState {
  label: string;
  done: number;
  /** Undefined when the end is not known (then the bar shows activity, not a fraction). */
  total?: number;
  unit?: string;
  /** Extra figures shown beside the bar, e.g. { "virtual time": "1.2 s", "MIPS": "84" }. */
  figures?: Record<string, string>;
  /** "running", "done", "interrupted", or an error text. */
  status?: string;
}

export class ProgressView {
  constructor(readonly state: ProgressState) {}

  get fraction(): number | undefined {
    const { done, total } = this.state;
    return total && total > 0 ? Math.min(1, Math.max(0, done / total)) : undefined;
  }

  text(): string {
    const s = this.state;
    const f = this.fraction;
    const width = 30;
    const bar = f === undefined ? "" : `[${"#".repeat(Math.round(f * width)).padEnd(width, ".")}] ${(f * 100).toFixed(1)}% `;
    const amount = `${fmt(s.done)}${s.total !== undefined ? ` / ${fmt(s.total)}` : ""}${s.unit ? ` ${s.unit}` : ""}`;
    const figures = Object.entries(s.figures ?? {}).map(([k, v]) => `${k} ${v}`).join(", ");
    return `${s.label}: ${bar}${amount}${figures ? ` (${figures})` : ""}${s.status && s.status !== "running" ? ` — ${s.status}` : ""}`;
  }

  html(): string {
    const s = this.state;
    const f = this.fraction;
    const pct = f === undefined ? 100 : f * 100;
    const colour = s.status === "done" ? "#4caf50" : s.status === "running" || s.status === undefined ? "#3b82c4" : "#d9822b";
    const figures = Object.entries(s.figures ?? {})
      .map(([k, v]) => `<span style="margin-right:1em">${escapeXml(k)} <b>${escapeXml(v)}</b></span>`)
      .join("");
    return (
      `<div style="font-family:sans-serif;font-size:12px;max-width:640px">` +
      `<div>${escapeXml(s.label)}${s.status && s.status !== "running" ? ` — <i>${escapeXml(s.status)}</i>` : ""}</div>` +
      `<div style="border:1px solid #9aa5b1;border-radius:3px;height:12px;margin:3px 0;overflow:hidden">` +
      `<div style="width:${pct.toFixed(1)}%;height:100%;background:${colour};${f === undefined ? "opacity:0.45;" : ""}"></div></div>` +
      `<div>${escapeXml(`${fmt(s.done)}${s.total !== undefined ? ` / ${fmt(s.total)}` : ""}${s.unit ? ` ${s.unit}` : ""}`)} ${figures}</div></div>`
    );
  }

  toMimeBundle(): MimeBundle {
    return { "text/plain": this.text(), "text/html": this.html() };
  }
}

function fmt(n: number): string {
  return Number.isInteger(n) ? n.toLocaleString("en-US") : n.toFixed(2);
}
