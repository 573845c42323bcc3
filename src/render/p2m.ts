/**
 * A domain's P2M: its guest-physical pages (left) and the machine frames behind them (right),
 * each run of contiguous mappings drawn as a band between the two, with the run list as text.
 */
import type { P2mEntry } from "../machine/p2m";
import { escapeXml, MimeBundle } from "./mime";
import { domainColour } from "./palette";
import { svgOpen } from "./svg";

export interface P2mRun {
  gfn: number;
  mfn: number;
  count: number;
  writable: boolean;
}

/** Contiguous gfn → contiguous mfn runs, in gfn order. */
export function p2mRuns(entries: readonly P2mEntry[]): P2mRun[] {
  const runs: P2mRun[] = [];
  for (const e of entries) {
    const last = runs[runs.length - 1];
    if (last && e.gfn === last.gfn + last.count && e.mfn === last.mfn + last.count && e.writable === last.writable) last.count++;
    else runs.push({ gfn: e.gfn, mfn: e.mfn, count: 1, writable: e.writable });
  }
  return runs;
}

export class P2mView {
  readonly runs: P2mRun[];

  constructor(
    readonly domid: number,
    readonly name: string,
    entries: readonly P2mEntry[],
    /** Machine frames on the host, for the right-hand scale. */
    readonly machineFrames: number,
  ) {
    this.runs = p2mRuns(entries);
  }

  text(): string {
    const pages = this.runs.reduce((n, r) => n + r.count, 0);
    const lines = [`P2M of d${this.domid} ${this.name}: ${pages} pages in ${this.runs.length} runs`];
    for (const r of this.runs.slice(0, 200)) {
      lines.push(`  gfn ${hex(r.gfn)}-${hex(r.gfn + r.count - 1)} -> mfn ${hex(r.mfn)}-${hex(r.mfn + r.count - 1)} (${r.count} page${r.count === 1 ? "" : "s"}${r.writable ? "" : ", read-only"})`);
    }
    if (this.runs.length > 200) lines.push(`  … ${this.runs.length - 200} more runs`);
    return lines.join("\n");
  }

  svg(): string {
    const height = 360;
    const top = 30;
    const span = height - top - 20;
    const maxGfn = Math.max(1, ...this.runs.map((r) => r.gfn + r.count));
    // Guest-physical space is sparse at the top (special pages near 4 GiB): scale by rank of runs
    // so a small run stays visible, with each run's height by its page count.
    const pages = this.runs.reduce((n, r) => n + r.count, 0);
    const gy = new Map<P2mRun, [number, number]>();
    let acc = 0;
    const minH = 3;
    const scale = (span - minH * this.runs.length) / Math.max(pages, 1);
    for (const r of this.runs) {
      const h = minH + r.count * Math.max(scale, 0);
      gy.set(r, [top + acc, h]);
      acc += h;
    }
    const my = (m: number) => top + (m / this.machineFrames) * span;
    const colour = domainColour(this.domid);
    const parts: string[] = [];
    parts.push(`<rect x="40" y="${top}" width="60" height="${span}" fill="none" stroke="currentColor" stroke-opacity="0.5"/><text x="70" y="${top - 8}" text-anchor="middle" font-size="11" fill="currentColor">guest-physical</text>`);
    parts.push(`<rect x="380" y="${top}" width="60" height="${span}" fill="none" stroke="currentColor" stroke-opacity="0.5"/><text x="410" y="${top - 8}" text-anchor="middle" font-size="11" fill="currentColor">machine</text>`);
    for (const r of this.runs.slice(0, 400)) {
      const [y, h] = gy.get(r)!;
      const m1 = my(r.mfn);
      const m2 = Math.max(my(r.mfn + r.count), m1 + 1);
      const title = `gfn ${hex(r.gfn)}-${hex(r.gfn + r.count - 1)} → mfn ${hex(r.mfn)}-${hex(r.mfn + r.count - 1)}${r.writable ? "" : " (read-only)"}`;
      parts.push(
        `<g><title>${escapeXml(title)}</title><rect x="40" y="${y.toFixed(1)}" width="60" height="${h.toFixed(1)}" fill="${colour}" fill-opacity="0.55"/>` +
          `<path d="M100 ${y.toFixed(1)} L380 ${m1.toFixed(1)} L380 ${m2.toFixed(1)} L100 ${(y + h).toFixed(1)} Z" fill="${colour}" fill-opacity="0.18" stroke="${colour}" stroke-opacity="0.4"/>` +
          `<rect x="380" y="${m1.toFixed(1)}" width="60" height="${(m2 - m1).toFixed(1)}" fill="${colour}"/>` +
          (h >= 10 ? `<text x="34" y="${(y + Math.min(h, 14) - 3).toFixed(1)}" text-anchor="end" font-size="9" fill="currentColor">${hex(r.gfn)}</text>` : "") +
          `</g>`,
      );
    }
    parts.push(`<text x="446" y="${top + 8}" font-size="9" fill="currentColor">0x0</text><text x="446" y="${top + span}" font-size="9" fill="currentColor">${hex(this.machineFrames - 1)}</text>`);
    const title = `P2M of d${this.domid} ${this.name}: ${this.runs.length} runs (gfns up to ${hex(maxGfn - 1)})`;
    return `${svgOpen({ width: 520, height: height, fontFamily: "sans-serif" })}<title>${escapeXml(title)}</title><text x="10" y="14" font-size="12" font-weight="bold" fill="currentColor">${escapeXml(title)}</text>${parts.join("")}</svg>`;
  }

  toMimeBundle(): MimeBundle {
    return { "text/plain": this.text(), "image/svg+xml": this.svg() };
  }
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}
