/**
 * The `%cpu stats` view: a vCPU's dispatch counters as text and as an SVG bar chart (how blocks
 * were found, exits by kind, guest faults by vector), every number written out.
 */
import type { CpuStats } from "../machine/cpu-stats";
import { BarRow, barChart } from "./bar-chart";
import { MimeBundle, escapeXml } from "./mime";

export class CpuStatsView {
  constructor(readonly name: string, readonly stats: CpuStats) {}

  text(): string {
    const s = this.stats;
    const pct = (a: number, b: number) => (b ? ` (${((100 * a) / b).toFixed(1)}%)` : "");
    const kinds = (r: Record<string, number>) => Object.entries(r).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(", ") || "none";
    return [
      `vCPU ${this.name}: ${s.instructions} instructions in ${s.blocks} blocks (${s.blocks ? (s.instructions / s.blocks).toFixed(1) : "0"} per block)`,
      `  dispatch: ${s.chained} chained from the previous block${pct(s.chained, s.blocks)}, ${s.lookups} looked up${pct(s.lookups, s.blocks)}, ${s.compiled} compiled (${s.reused} of them reused from the code cache)`,
      `  decode cache: ${s.cachedBlocks} blocks from ${s.codeFrames} code frames; ${s.invalidations} code-frame invalidations; ${s.tlbFlushes} TLB flushes`,
      `  exits: ${kinds(s.exits)}`,
      `  guest faults: ${kinds(s.faults)}`,
    ].join("\n");
  }

  rows(): BarRow[] {
    const s = this.stats;
    const rows: BarRow[] = [{ label: "blocks", parts: { chained: s.chained, "looked up": Math.max(0, s.lookups - s.compiled), compiled: s.compiled - s.reused, reused: s.reused } }];
    if (Object.keys(s.exits).length) rows.push({ label: "exits", parts: { ...s.exits } });
    if (Object.keys(s.faults).length) rows.push({ label: "guest faults", parts: { ...s.faults } });
    rows.push({ label: "invalidations", parts: { "code frames": s.invalidations, "TLB flushes": s.tlbFlushes } });
    return rows;
  }

  toMimeBundle(): MimeBundle {
    const chart = barChart(`vCPU ${this.name} dispatch`, this.rows());
    const text = this.text();
    return {
      "text/plain": text,
      "image/svg+xml": chart.svg(),
      "text/html": `<div><pre style="font-size:12px">${escapeXml(text)}</pre>${chart.svg()}</div>`,
    };
  }
}
