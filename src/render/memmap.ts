/**
 * The machine memory map: every machine frame coloured by owner (upper band) and use (lower
 * band), run-length aggregated, with a legend, hover titles and zoom into a frame range. A map of
 * millions of frames is drawn at pixel resolution (each pixel shows the run covering most of it),
 * and the resolution drops until the SVG fits its byte budget, so a browser never chokes on it.
 */
import { FrameRun, FrameUse, MachineMemory } from "../machine/memory";
import { PAGE_SIZE } from "../machine/types";
import { escapeXml, MimeBundle } from "./mime";
import { DOMID_INVALID, domainColour, domainLabel, FREE_COLOUR } from "./palette";
import { svgOpen } from "./svg";

export interface MemoryMapOptions {
  /** First machine frame shown (zoom), default 0. */
  first?: number;
  /** One past the last frame shown, default the end of memory. */
  end?: number;
  /** Names for domains (e.g. from the Xen host): domid → "dom1 longhorn". */
  label?: (domid: number) => string;
  /** Width of the drawing in pixels. */
  width?: number;
  /** Upper bound for the SVG's size in bytes. */
  maxBytes?: number;
}

/**
 * Uses that come a frame or a few at a time (page tables, shared_info and grant frames): they win
 * the pixel column they touch and are drawn at least MIN_SMALL_W wide, or a map of megabytes of RAM
 * would hide them.
 */
const SMALL_USES = new Set<FrameUse>([FrameUse.PageTable, FrameUse.Shared]);
const MIN_SMALL_W = 3;

const USE_COLOUR: Record<FrameUse, string> = {
  [FrameUse.Free]: FREE_COLOUR,
  [FrameUse.Ram]: "#4caf50",
  [FrameUse.PageTable]: "#e0913a",
  [FrameUse.Hypervisor]: "#5b6470",
  [FrameUse.Shared]: "#c2a521",
  [FrameUse.Reserved]: "#8e6fbf",
};

const USE_NAME: Record<FrameUse, string> = {
  [FrameUse.Free]: "free",
  [FrameUse.Ram]: "guest RAM",
  [FrameUse.PageTable]: "page tables",
  [FrameUse.Hypervisor]: "hypervisor",
  [FrameUse.Shared]: "shared (grants, rings, shared_info)",
  [FrameUse.Reserved]: "reserved",
};

interface Bucket {
  run: FrameRun | undefined;
  overlap: number;
}

/** Summary per owner: frame counts by use and the number of runs. */
export interface OwnerSummary {
  owner: number;
  frames: number;
  runs: number;
  byUse: Map<FrameUse, number>;
}

export class MemoryMap {
  readonly first: number;
  readonly end: number;
  readonly runs: FrameRun[];

  constructor(
    readonly memory: MachineMemory,
    private readonly options: MemoryMapOptions = {},
  ) {
    this.first = Math.max(0, Math.floor(options.first ?? 0));
    this.end = Math.min(memory.frameCount, Math.floor(options.end ?? memory.frameCount));
    if (this.end <= this.first) throw new RangeError(`empty frame range ${this.first}..${this.end}`);
    this.runs = memory.runs(this.first, this.end);
  }

  owners(): OwnerSummary[] {
    const byOwner = new Map<number, OwnerSummary>();
    for (const r of this.runs) {
      let s = byOwner.get(r.owner);
      if (!s) byOwner.set(r.owner, (s = { owner: r.owner, frames: 0, runs: 0, byUse: new Map() }));
      s.frames += r.count;
      s.runs++;
      s.byUse.set(r.use, (s.byUse.get(r.use) ?? 0) + r.count);
    }
    return [...byOwner.values()].sort((a, b) => (a.owner === DOMID_INVALID ? 1 : b.owner === DOMID_INVALID ? -1 : a.owner - b.owner));
  }

  private label(owner: number): string {
    return this.options.label?.(owner) ?? domainLabel(owner);
  }

  text(): string {
    const frames = this.end - this.first;
    const lines = [`Machine memory: frames 0x${this.first.toString(16)}..0x${(this.end - 1).toString(16)} (${frames} frames, ${mib(frames)}), ${this.runs.length} runs`];
    for (const o of this.owners()) {
      const uses = [...o.byUse.entries()].map(([u, n]) => `${USE_NAME[u]} ${n}`).join(", ");
      lines.push(`  ${this.label(o.owner).padEnd(16)} ${String(o.frames).padStart(9)} frames ${mib(o.frames).padStart(10)}  in ${o.runs} run${o.runs === 1 ? "" : "s"}: ${uses}`);
    }
    return lines.join("\n");
  }

  svg(): string {
    const width = this.options.width ?? 800;
    const maxBytes = this.options.maxBytes ?? 280_000;
    for (let rows = 32, cols = width; cols >= 50; cols = Math.floor(cols / 2), rows = Math.max(8, rows >> 1)) {
      const svg = this.draw(rows, cols, width);
      if (svg.length <= maxBytes) return svg;
    }
    return this.draw(8, 50, width);
  }

  toMimeBundle(): MimeBundle {
    return { "text/plain": this.text(), "image/svg+xml": this.svg() };
  }

  /** Draws `rows` rows of `cols` buckets each; each bucket shows the run covering most of it. */
  private draw(rows: number, cols: number, width: number): string {
    const total = this.end - this.first;
    const perBucket = total / (rows * cols);
    const buckets: Bucket[] = Array.from({ length: rows * cols }, () => ({ run: undefined, overlap: 0 }));
    for (const r of this.runs) {
      const rs = r.start - this.first;
      const re = rs + r.count;
      const b0 = Math.floor(rs / perBucket);
      // The last bucket that starts before the run ends (a frame may span several buckets).
      const b1 = Math.min(buckets.length - 1, Math.ceil(re / perBucket) - 1);
      for (let b = b0; b <= b1; b++) {
        const covered = Math.min(re, (b + 1) * perBucket) - Math.max(rs, b * perBucket);
        const overlap = SMALL_USES.has(r.use) ? covered + perBucket : covered;
        const bucket = buckets[b]!;
        if (overlap > bucket.overlap) {
          bucket.run = r;
          bucket.overlap = overlap;
        }
      }
    }
    const labelW = 92;
    const cellW = (width - labelW) / cols;
    const rowH = 18;
    const top = 24;
    const parts: string[] = [];
    interface Rect { row: number; c: number; c2: number; run: FrameRun; last: FrameRun }
    const rects: Rect[] = [];
    for (let row = 0; row < rows; row++) {
      let c = 0;
      while (c < cols) {
        const run = buckets[row * cols + c]!.run;
        let c2 = c + 1;
        while (c2 < cols && buckets[row * cols + c2]!.run?.owner === run?.owner && buckets[row * cols + c2]!.run?.use === run?.use) c2++;
        if (run) rects.push({ row, c, c2, run, last: buckets[row * cols + c2 - 1]!.run! });
        c = c2;
      }
    }
    // Hover titles cost ~80 bytes a rectangle: only where the drawing has few enough of them.
    const titles = rects.length <= 1500;
    for (let row = 0; row < rows; row++) {
      const y = top + row * (rowH + 3);
      parts.push(`<text x="${labelW - 6}" y="${y + 13}" text-anchor="end" font-size="10" fill="currentColor">${hex(this.first + Math.floor(row * cols * perBucket))}</text>`);
    }
    // Small uses last, so that their minimum width draws over their neighbours, not under them.
    rects.sort((a, b) => Number(SMALL_USES.has(a.run.use)) - Number(SMALL_USES.has(b.run.use)));
    for (const { row, c, c2, run, last } of rects) {
      const y = top + row * (rowH + 3);
      const x = (labelW + c * cellW).toFixed(1);
      const w = Math.max((c2 - c) * cellW, SMALL_USES.has(run.use) ? MIN_SMALL_W : 0).toFixed(1);
      // The frames under these columns, clipped to the runs drawn there: a bucket's edge can fall
      // inside a neighbouring frame that another run owns.
      const from = Math.max(run.start, this.first + Math.floor((row * cols + c) * perBucket));
      const to = Math.min(last.start + last.count - 1, this.first + Math.ceil((row * cols + c2) * perBucket) - 1);
      const title = titles ? `<title>${escapeXml(`mfn ${hex(from)}–${hex(to)}: ${this.label(run.owner)}, ${USE_NAME[run.use]}`)}</title>` : "";
      parts.push(`<g>${title}<rect x="${x}" y="${y}" width="${w}" height="${rowH * 0.65}" fill="${domainColour(run.owner)}"/><rect x="${x}" y="${(y + rowH * 0.65).toFixed(1)}" width="${w}" height="${(rowH * 0.35).toFixed(1)}" fill="${USE_COLOUR[run.use]}"/></g>`);
    }
    const legendY = top + rows * (rowH + 3) + 12;
    const legend: string[] = [];
    let lx = 10;
    let ly = legendY;
    const item = (colour: string, text: string) => {
      const w = 18 + text.length * 6.2;
      if (lx + w > width) {
        lx = 10;
        ly += 16;
      }
      legend.push(`<rect x="${lx}" y="${ly - 9}" width="10" height="10" fill="${colour}"/><text x="${lx + 14}" y="${ly}" font-size="10" fill="currentColor">${escapeXml(text)}</text>`);
      lx += w + 10;
    };
    const owners = this.owners();
    for (const o of owners.slice(0, 40)) item(domainColour(o.owner), `${this.label(o.owner)} ${mib(o.frames)}`);
    if (owners.length > 40) item(FREE_COLOUR, `… ${owners.length - 40} more owners`);
    lx = 10;
    ly += 18;
    for (const u of [FrameUse.Ram, FrameUse.PageTable, FrameUse.Shared, FrameUse.Hypervisor, FrameUse.Reserved, FrameUse.Free]) item(USE_COLOUR[u], USE_NAME[u]);
    const height = ly + 10;
    const scale = `${(perBucket * PAGE_SIZE >= 1 << 20 ? `${(perBucket * PAGE_SIZE / (1 << 20)).toFixed(1)} MiB` : `${((perBucket * PAGE_SIZE) / 1024).toFixed(1)} KiB`)} per pixel column`;
    const heading = `Machine memory ${hex(this.first)}–${hex(this.end - 1)} (${mib(total)}): owner above, use below; ${scale}`;
    return `${svgOpen({ width: width, height: height, fontFamily: "sans-serif", attrs: 'role="img"' })}<title>${escapeXml(heading)}</title><text x="10" y="15" font-size="12" font-weight="bold" fill="currentColor">${escapeXml(heading)}</text>${parts.join("")}${legend.join("")}</svg>`;
  }
}

/** The memory map of a machine's frames (or of a range of them). */
export function memoryMap(memory: MachineMemory, options: MemoryMapOptions = {}): MemoryMap {
  return new MemoryMap(memory, options);
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

function mib(frames: number): string {
  const bytes = frames * PAGE_SIZE;
  return bytes >= 1 << 30 ? `${(bytes / (1 << 30)).toFixed(2)} GiB` : `${(bytes / (1 << 20)).toFixed(1)} MiB`;
}
