/**
 * The benchmark harness. Each `bench/*.bench.ts` file exports `figures`: named measurements, each
 * of which reports its value beside an anchor measured in the same run, so a figure is always read
 * as a ratio against something real on this machine (ipykernel, qemu-img, the host CPU...).
 */

export interface FigureResult {
  value: number;
  unit: string;
  /** What the value is compared with, e.g. "ipykernel 6.17 trivial cell". */
  anchor: string;
  anchor_value: number;
  /** Optional note printed beside the row (e.g. a goal, or why an anchor is missing). */
  note?: string;
}

export interface Figure {
  /** Stable, unique name: `npm run bench -- NAME` selects it. */
  name: string;
  run(): Promise<FigureResult>;
}

export interface FigureRow extends FigureResult {
  name: string;
  ratio: number;
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
  const header = ["figure", "value", "anchor", "anchor value", "ratio"];
  const body = rows.map((r) => [
    r.name,
    `${fmt(r.value)} ${r.unit}`,
    r.anchor,
    `${fmt(r.anchor_value)} ${r.unit}`,
    Number.isFinite(r.ratio) ? r.ratio.toFixed(3) : "n/a",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ");
  const out = [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)];
  for (const r of rows) if (r.note) out.push(`  ${r.name}: ${r.note}`);
  return out.join("\n");
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 1000) return n.toFixed(0);
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toPrecision(3);
}
