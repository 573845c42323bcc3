/**
 * What each pCPU ran, over virtual time: a Gantt chart of scheduling segments (one colour per
 * domain), drawn from the host's scheduling record.
 */
import type { DomId } from "../machine";
import type { XenHost } from "../xen/host";
import { MimeBundle, escapeXml } from "./mime";

import type { SchedSegment } from "../xen/queries";
import { svgOpen } from "./svg";
export type { SchedSegment };

const PALETTE = ["#1e88e5", "#43a047", "#fb8c00", "#8e24aa", "#e53935", "#00897b", "#6d4c41", "#3949ab", "#c0ca33", "#d81b60"];

export class SchedTimelineView {
  constructor(readonly host: XenHost, readonly segments: readonly SchedSegment[], readonly from: number, readonly to: number) {}

  /** Each online vCPU's credit and priority (CSCHED_PRI_*) at the end of the view. */
  balances(): { name: string; vcpu: number; credit: number; pri: string }[] {
    const names: Record<number, string> = { 0: "BOOST", [-1]: "UNDER", [-2]: "OVER", [-64]: "IDLE" };
    const out: { name: string; vcpu: number; credit: number; pri: string }[] = [];
    for (const d of this.host.domains.values()) {
      if (d.domid === 0) continue; // dom0's vCPUs are the toolstack's, idle here
      for (const v of d.vcpus) if (v.online) out.push({ name: d.name, vcpu: v.id, credit: Math.round(v.credit), pri: names[v.pri] ?? String(v.pri) });
    }
    return out;
  }

  toMimeBundle(): MimeBundle {
    const { host, from, to } = this;
    const span = Math.max(1, to - from);
    const w = 760, left = 60, rowH = 16, n = host.pcpus.length;
    const h = 30 + n * rowH + 30;
    const x = (t: number) => left + ((t - from) / span) * (w - left - 10);
    // Credit balances now (credit.c: credits dealt by weight each 30 ms accounting period; a vCPU
    // with credit left is UNDER, one that overspent is OVER, a woken one is boosted), four a row
    // under the legend.
    const balances = this.balances();
    const fullH = h + 12 + Math.ceil(balances.length / 4) * 14;
    let svg = svgOpen({ width: w, height: fullH, fontFamily: "monospace", fontSize: 11 });
    for (let p = 0; p < n; p++) svg += `<text x="4" y="${24 + p * rowH + 11}">pCPU ${p}</text><rect x="${left}" y="${24 + p * rowH}" width="${w - left - 10}" height="${rowH - 3}" fill="#f5f5f5"/>`;
    const busy = new Map<DomId, number>();
    for (const s of this.segments) {
      if (s.end < from || s.start > to) continue;
      const a = Math.max(s.start, from), b = Math.min(s.end, to);
      busy.set(s.domid, (busy.get(s.domid) ?? 0) + (b - a));
      const name = host.domains.get(s.domid)?.name ?? `d${s.domid}`;
      svg += `<rect x="${x(a).toFixed(1)}" y="${24 + s.pcpu * rowH}" width="${Math.max(0.5, x(b) - x(a)).toFixed(1)}" height="${rowH - 3}" fill="${PALETTE[s.domid % PALETTE.length]}"><title>${escapeXml(`${name} v${s.vcpu}: ${(a / 1e6).toFixed(3)}–${(b / 1e6).toFixed(3)} ms`)}</title></rect>`;
    }
    svg += `<text x="${left}" y="14">${(from / 1e6).toFixed(3)} ms</text><text x="${w - 90}" y="14">${(to / 1e6).toFixed(3)} ms</text>`;
    let lx = left;
    for (const [domid] of busy) { const name = host.domains.get(domid)?.name ?? `d${domid}`; svg += `<rect x="${lx}" y="${h - 14}" width="10" height="10" fill="${PALETTE[domid % PALETTE.length]}"/><text x="${lx + 13}" y="${h - 5}">${escapeXml(name.slice(0, 12))}</text>`; lx += 110; }
    const by = h + 8;
    balances.forEach((b, i) => {
      svg += `<text x="${left + (i % 4) * 175}" y="${by + Math.floor(i / 4) * 14}">${escapeXml(`${b.name.slice(0, 10)} v${b.vcpu}: ${b.credit} ${b.pri}`)}</text>`;
    });
    svg += `</svg>`;
    const text = [
      `pCPU time by domain, ${(from / 1e6).toFixed(3)}–${(to / 1e6).toFixed(3)} ms:`,
      ...[...busy].map(([d, t]) => `  ${(host.domains.get(d)?.name ?? `d${d}`).padEnd(20)} ${(t / 1e6).toFixed(3)} ms (${((t * 100) / (span * n)).toFixed(1)}% of the host)`),
      "credit now:",
      ...balances.map((b) => `  ${`${b.name} v${b.vcpu}`.padEnd(24)} ${String(b.credit).padStart(6)}  ${b.pri}`),
    ].join("\n");
    return { "text/plain": text, "image/svg+xml": svg };
  }
}
