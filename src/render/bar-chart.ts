/**
 * A horizontal bar chart of counts (VM exits by kind, calls, bytes...): one bar a row, stacked by
 * part, each bar's total written at its end and each part named in a legend, so the picture can
 * be read without hovering. Bars are to scale (linear); a non-zero part is at least 2 px wide.
 */
import { escapeXml, MimeBundle } from "./mime";
import { svgOpen } from "./svg";

export interface BarRow {
  label: string;
  /** The parts of this bar, by name (their sum is the bar). */
  parts: Record<string, number>;
}

const COLOURS = ["#1e88e5", "#e53935", "#43a047", "#fb8c00", "#8e24aa", "#00897b", "#6d4c41", "#546e7a"];
const MIN_PART_W = 2;

export class BarChart {
  constructor(readonly title: string, readonly rows: readonly BarRow[], readonly unit = "") {
    for (const r of rows) for (const [k, v] of Object.entries(r.parts)) {
      if (!(Number.isFinite(v) && v >= 0)) throw new RangeError(`bar "${r.label}": part "${k}" is ${v}; parts must be counts >= 0`);
    }
  }

  total(r: BarRow): number {
    return Object.values(r.parts).reduce((a, b) => a + b, 0);
  }

  /** Part names in first-seen order: one colour each, the same in every bar. */
  kinds(): string[] {
    return [...new Set(this.rows.flatMap((r) => Object.keys(r.parts)))];
  }

  text(): string {
    const w = Math.max(...this.rows.map((r) => r.label.length), 1);
    const lines = this.rows.map((r) => `${r.label.padEnd(w)} ${String(this.total(r)).padStart(7)}${this.unit ? ` ${this.unit}` : ""}  ${Object.entries(r.parts).map(([k, v]) => `${k} ${v}`).join(", ")}`);
    return [this.title, ...lines].join("\n");
  }

  svg(width = 640): string {
    const labelW = 10 + 7 * Math.max(...this.rows.map((r) => r.label.length), 4);
    const valueW = 80, barH = 20, gap = 10, top = 30;
    const plotW = width - labelW - valueW;
    const max = Math.max(1, ...this.rows.map((r) => this.total(r)));
    const kinds = this.kinds();
    const colour = (k: string) => COLOURS[kinds.indexOf(k) % COLOURS.length]!;
    const parts: string[] = [];
    this.rows.forEach((r, i) => {
      const y = top + i * (barH + gap);
      parts.push(`<text class="label" x="${labelW - 8}" y="${y + barH / 2 + 4}" text-anchor="end" font-size="12" fill="currentColor">${escapeXml(r.label)}</text>`);
      let x = labelW;
      for (const [k, v] of Object.entries(r.parts)) {
        if (v === 0) continue;
        const w = Math.max(MIN_PART_W, (v / max) * plotW);
        parts.push(`<rect class="bar" data-part="${escapeXml(k)}" data-value="${v}" x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${colour(k)}"><title>${escapeXml(`${r.label}: ${k} ${v}`)}</title></rect>`);
        x += w;
      }
      parts.push(`<text class="value" x="${(x + 6).toFixed(1)}" y="${y + barH / 2 + 4}" font-size="12" fill="currentColor">${this.total(r)}${this.unit ? ` ${escapeXml(this.unit)}` : ""}</text>`);
    });
    let lx = labelW, ly = top + this.rows.length * (barH + gap) + 12;
    for (const k of kinds) {
      parts.push(`<rect x="${lx}" y="${ly - 9}" width="10" height="10" fill="${colour(k)}"/><text class="legend" x="${lx + 14}" y="${ly}" font-size="11" fill="currentColor">${escapeXml(k)}</text>`);
      lx += 30 + k.length * 7;
    }
    const height = ly + 10;
    return `${svgOpen({ width: width, height: height, fontFamily: "sans-serif", attrs: 'role="img"' })}<title>${escapeXml(this.title)}</title><text x="10" y="16" font-size="13" font-weight="bold" fill="currentColor">${escapeXml(this.title)}</text>${parts.join("")}</svg>`;
  }

  toMimeBundle(): MimeBundle {
    return { "text/plain": this.text(), "image/svg+xml": this.svg() };
  }
}

/** A bar chart of counts: `barChart("VM exits", [{ label: "pv", parts: { hypercall: 51 } }])`. */
export function barChart(title: string, rows: readonly BarRow[], unit = ""): BarChart {
  return new BarChart(title, rows, unit);
}
