/**
 * The picture of a VHD: its chain (child first), a grid of the virtual disk's blocks coloured by
 * which file of the chain holds them (partly filled for differencing blocks, from their
 * bitmaps), and a strip of the file's own layout (footer copy, header, BAT, locators, blocks,
 * footer). Large disks are summarised: at most GRID_CELLS cells, each covering several blocks.
 */
import { basename } from "node:path";
import type { VhdDisk } from "../vhd/vhd-disk";
import { MimeBundle, escapeXml } from "./mime";
import { svgOpen } from "./svg";

const GRID_CELLS = 1024;
const COLS = 64;
const CELL = 10;
const LAYER_COLOURS = ["#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#d53f8c", "#718096"];
const EMPTY = "#e2e8f0";
const BAT_UNUSED = 0xffffffff;

function sizeText(bytes: number): string {
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Number.isInteger(v) ? v : v.toFixed(1)} ${u[i]}`;
}

/** Fraction of [start, end) of the virtual disk that layer `d` itself stores (0..1). */
function ownFraction(d: VhdDisk, start: number, end: number): number {
  if (d.diskTypeName === "fixed") return 1;
  const bs = d.blockSize;
  let own = 0;
  for (let b = Math.floor(start / bs); b * bs < end && b < d.bat.length; b++) {
    if (d.bat[b] === BAT_UNUSED) continue;
    const a = Math.max(start, b * bs);
    const z = Math.min(end, (b + 1) * bs);
    if (d.diskTypeName === "dynamic") own += z - a;
    else {
      const bm = d.sectorBitmap(b)!;
      const s0 = Math.floor((a - b * bs) / 512);
      const s1 = Math.ceil((z - b * bs) / 512);
      let set = 0;
      for (let s = s0; s < s1; s++) if (bm[s >>> 3]! & (0x80 >>> (s & 7))) set++;
      own += set * 512;
    }
  }
  return Math.min(1, own / Math.max(1, end - start));
}

interface Summary {
  text: string;
  chain: VhdDisk[];
  cellBytes: number;
  cells: number;
}

function summarize(d: VhdDisk): Summary {
  const chain = d.chain();
  const unit = d.blockSize || 2 * 1024 * 1024;
  const units = Math.max(1, Math.ceil(d.size / unit));
  const perCell = Math.ceil(units / GRID_CELLS);
  const cellBytes = perCell * unit;
  const cells = Math.ceil(d.size / cellBytes);
  const lines = [
    `VhdDisk ${d.path}: ${d.diskTypeName}, ${sizeText(d.size)} (${d.size} bytes), file ${sizeText(d.file.size())}`,
  ];
  if (d.header) lines.push(`  block size ${sizeText(d.blockSize)}, ${d.allocatedBlocks}/${d.bat.length} blocks allocated, BAT @${d.header.tableOffset}`);
  const g = d.footer.geometry;
  lines.push(`  CHS ${g.cylinders}/${g.heads}/${g.sectorsPerTrack}, creator ${JSON.stringify(d.footer.creatorApplication)}, id ${d.uniqueId}`);
  if (chain.length > 1) lines.push(`  chain: ${chain.map((c) => `${basename(c.path)} (${c.diskTypeName})`).join(" -> ")}`);
  for (const w of d.warnings) lines.push(`  warning: ${w}`);
  return { text: lines.join("\n"), chain, cellBytes, cells };
}

function chainSvg(chain: VhdDisk[], y: number): string {
  let x = 10;
  const parts: string[] = [];
  chain.forEach((c, i) => {
    const label = `${basename(c.path)} · ${c.diskTypeName}`;
    const w = Math.max(120, label.length * 7 + 16);
    parts.push(
      `<rect x="${x}" y="${y}" width="${w}" height="24" rx="4" fill="${LAYER_COLOURS[i % LAYER_COLOURS.length]}" />`,
      `<text x="${x + 8}" y="${y + 16}" fill="#fff" font-size="12">${escapeXml(label)}</text>`,
    );
    x += w;
    if (i < chain.length - 1) {
      parts.push(`<text x="${x + 4}" y="${y + 16}" font-size="12" fill="#333">→ parent</text>`);
      x += 64;
    }
  });
  return parts.join("");
}

function gridSvg(d: VhdDisk, s: Summary, y: number): { svg: string; height: number } {
  const parts: string[] = [];
  for (let i = 0; i < s.cells; i++) {
    const start = i * s.cellBytes;
    const end = Math.min(d.size, start + s.cellBytes);
    const x = 10 + (i % COLS) * CELL;
    const cy = y + Math.floor(i / COLS) * CELL;
    parts.push(`<rect x="${x}" y="${cy}" width="${CELL - 1}" height="${CELL - 1}" fill="${EMPTY}" />`);
    // The nearest layer holding part of the cell draws over those behind it.
    let drawn = 0;
    s.chain.forEach((layer, depth) => {
      if (drawn >= 1 || start >= layer.size) return;
      const f = ownFraction(layer, start, Math.min(end, layer.size)) * (1 - drawn);
      if (f <= 0) return;
      const h = Math.max(1, Math.round((CELL - 1) * f));
      const top = cy + (CELL - 1) - Math.round((CELL - 1) * drawn) - h;
      parts.push(`<rect x="${x}" y="${Math.max(cy, top)}" width="${CELL - 1}" height="${h}" fill="${LAYER_COLOURS[depth % LAYER_COLOURS.length]}"><title>${escapeXml(`${basename(layer.path)}: ${start}..${end} ${(f * 100).toFixed(0)}%`)}</title></rect>`);
      drawn += f;
    });
  }
  return { svg: parts.join(""), height: Math.ceil(s.cells / COLS) * CELL };
}

/**
 * The file's own layout as a bar, each structure at its offset; the 512-byte structures are drawn
 * at least 3 px wide so that they show beside megabytes of blocks, and a legend names each colour.
 */
function layoutSvg(d: VhdDisk, y: number): { svg: string; legend: [string, string][] } {
  const width = COLS * CELL;
  const total = Math.max(1, d.file.size());
  const scale = (n: number) => (n / total) * width;
  const legend = new Map<string, string>();
  const seg = (start: number, len: number, fill: string, what: string, kind = what) => {
    legend.set(kind, fill);
    return `<rect class="layout" data-kind="${escapeXml(kind)}" x="${(10 + scale(start)).toFixed(1)}" y="${y}" width="${Math.max(3, scale(len)).toFixed(1)}" height="16" fill="${fill}"><title>${escapeXml(`${what} @${start} (+${len})`)}</title></rect>`;
  };
  const parts = [`<rect x="10" y="${y}" width="${width}" height="16" fill="#fff" stroke="#999" />`];
  if (d.header) {
    parts.push(seg(0, 512, "#718096", "footer copy"), seg(d.headerOffset, 1024, "#4a5568", "dynamic header"));
    parts.push(seg(d.header.tableOffset, Math.ceil((d.header.maxTableEntries * 4) / 512) * 512, "#d69e2e", "BAT"));
    for (const l of d.header.parentLocators) if (l.platformCode) parts.push(seg(l.platformDataOffset, Math.max(512, l.platformDataLength), "#9f7aea", `parent locator ${l.index}`, "parent locators"));
    for (let b = 0; b < d.bat.length; b++) {
      const e = d.bat[b]!;
      if (e !== BAT_UNUSED) parts.push(seg(e * 512, d.bitmapSize + d.blockSize, LAYER_COLOURS[0]!, `block ${b}`, "blocks (bitmap + data)"));
    }
  } else {
    parts.push(seg(0, d.footer.currentSize, LAYER_COLOURS[0]!, "data"));
  }
  parts.push(seg(d.footerPosition, 512, "#1a202c", "footer"));
  return { svg: parts.join(""), legend: [...legend].map(([kind, fill]) => [fill, kind]) };
}

/** A legend row (wrapping at the picture's width); returns its SVG and the y below it. */
function legendSvg(items: [string, string][], y: number, width: number): { svg: string; bottom: number } {
  let x = 10;
  const svg = items.map(([fill, name]) => {
    const w = 24 + name.length * 6;
    if (x > 10 && x + w > width) { x = 10; y += 14; }
    const item = `<rect x="${x}" y="${y - 9}" width="10" height="10" fill="${fill}"/><text class="legend" x="${x + 14}" y="${y}" font-size="10" fill="#333">${escapeXml(name)}</text>`;
    x += w;
    return item;
  }).join("");
  return { svg, bottom: y + 8 };
}

export function renderVhdSvg(d: VhdDisk): string {
  const s = summarize(d);
  const width = COLS * CELL + 20;
  let y = 18;
  const parts = [
    `<text x="10" y="${y}" font-size="13" font-weight="bold">${escapeXml(`${basename(d.path)} — ${d.diskTypeName} VHD, ${sizeText(d.size)}`)}</text>`,
  ];
  y += 10;
  parts.push(chainSvg(s.chain, y));
  y += 40;
  parts.push(`<text x="10" y="${y - 4}" font-size="11" fill="#333">${escapeXml(`virtual disk: one cell = ${sizeText(s.cellBytes)}, coloured by the file holding it`)}</text>`);
  const g = gridSvg(d, s, y);
  parts.push(g.svg);
  y += g.height + 22;
  parts.push(`<text x="10" y="${y - 4}" font-size="11" fill="#333">${escapeXml(`file layout: ${basename(d.path)}, ${sizeText(d.file.size())}`)}</text>`);
  const layout = layoutSvg(d, y);
  const legend = legendSvg(layout.legend, y + 30, width);
  parts.push(layout.svg, legend.svg);
  y = legend.bottom;
  return `${svgOpen({ width: width, height: y, fontFamily: "sans-serif" })}${parts.join("")}</svg>`;
}

export function renderVhdBundle(d: VhdDisk): MimeBundle {
  return { "text/plain": summarize(d).text, "image/svg+xml": renderVhdSvg(d) };
}
