/**
 * The benchmark harness. Each `bench/*.bench.ts` file exports `figures`: named measurements, each
 * of which reports its value beside an anchor measured in the same run, so a figure is always read
 * as a ratio against something real on this machine (ipykernel, qemu-img, the host CPU...).
 *
 * `npm run bench` runs every figure N times (`--runs N`, default 3) and prints the median with its
 * spread [min–max], of the value, the anchor and the ratio (the median of the per-run ratios, so a
 * load spike that slows both sides of one run cancels out). A figure that samples itself (e.g. a
 * fresh process per sample) returns its `samples` and is run once. The machine's load average is
 * printed at the start and the end: figures from a loaded host are only comparable as ratios.
 */

export interface FigureResult {
  value: number;
  unit: string;
  /** What the value is compared with, e.g. "ipykernel 6.17 trivial cell". */
  anchor: string;
  anchor_value: number;
  /** Optional note printed beside the row (e.g. a goal, or why an anchor is missing). */
  note?: string;
  /**
   * Set when the figure took its own samples (then it is run once): one value and one anchor
   * value per sample, paired (sample k of each was measured side by side). `value` and
   * `anchor_value` are then their medians.
   */
  samples?: number[];
  anchor_samples?: number[];
  /** A multi-line table printed after the figures (e.g. per-program columns). */
  detail?: string;
}

export interface Figure {
  /** Stable, unique name: `npm run bench -- NAME` selects it. */
  name: string;
  run(): Promise<FigureResult>;
}

export interface FigureRow extends FigureResult {
  name: string;
  ratio: number;
  /** [min, max] of the value, anchor and ratio over the runs (equal bounds for a single run). */
  spread: { value: [number, number]; anchor: [number, number]; ratio: [number, number] };
  runs: number;
}

/** Combines paired samples of a figure into a row: medians, spreads, per-run ratios. */
export function rowFrom(name: string, r: FigureResult, values: number[], anchors: number[]): FigureRow {
  const ratios = values.map((v, k) => v / anchors[k]!);
  const range = (s: number[]): [number, number] => [Math.min(...s), Math.max(...s)];
  return {
    ...r, name, value: median(values), anchor_value: median(anchors), ratio: median(ratios),
    spread: { value: range(values), anchor: range(anchors), ratio: range(ratios) }, runs: values.length,
  };
}

/** `median [min–max]` (just the value when there is one sample). */
export function withSpread(m: number, [lo, hi]: [number, number], unit = ""): string {
  const u = unit ? ` ${unit}` : "";
  return lo === hi ? `${fmt(m)}${u}` : `${fmt(m)}${u} [${fmt(lo)}–${fmt(hi)}]`;
}

/** Median and [min–max] of samples, formatted. */
export function summary(samples: number[], unit = ""): string {
  return withSpread(median(samples), [Math.min(...samples), Math.max(...samples)], unit);
}

export function median(samples: number[]): number {
  if (samples.length === 0) throw new Error("median of no samples");
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export function formatTable(rows: FigureRow[]): string {
  const header = ["figure", "runs", "value median [min–max]", "anchor", "anchor value", "ratio"];
  const ratio = (r: FigureRow) => {
    if (!Number.isFinite(r.ratio)) return "n/a";
    const [lo, hi] = r.spread.ratio;
    return lo === hi ? r.ratio.toFixed(3) : `${r.ratio.toFixed(3)} [${lo.toFixed(3)}–${hi.toFixed(3)}]`;
  };
  const body = rows.map((r) => [
    r.name,
    String(r.runs),
    withSpread(r.value, r.spread.value, r.unit),
    r.anchor,
    withSpread(r.anchor_value, r.spread.anchor, r.unit),
    ratio(r),
  ]);
  return textTable(header, body, rows.flatMap((r) => (r.note ? [`  ${r.name}: ${r.note}`] : [])));
}

/**
 * The README's Benchmarks table (`npm run bench -- --markdown`): one row per figure with the value
 * and the anchor as `median [min–max]` and the median per-run ratio, so the table is pasted from a
 * run rather than typed.
 */
export function formatMarkdown(rows: FigureRow[]): string {
  const cell = (s: string) => s.replace(/\|/g, "\\|");
  const lines = ["| figure | XenLab, median [min–max] | anchor (same run), median [min–max] | ratio |", "| --- | --- | --- | --- |"];
  for (const r of rows) {
    const ratio = Number.isFinite(r.ratio) ? fmt(r.ratio) : "n/a";
    lines.push(`| \`${r.name}\` | ${cell(withSpread(r.value, r.spread.value, r.unit))} | ${cell(r.anchor)}: ${cell(withSpread(r.anchor_value, r.spread.anchor))} | ${ratio} |`);
  }
  return lines.join("\n");
}

/** A plain-text table with padded columns, then `after` lines. */
export function textTable(header: string[], body: string[][], after: string[] = []): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line), ...after].join("\n");
}

export function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 1000) return n.toFixed(0);
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toPrecision(3);
}
