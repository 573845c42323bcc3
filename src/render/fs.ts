/**
 * Views of disks and filesystems: a partition-layout bar (SVG), a tree listing (text, like
 * `tree`) and a collapsible HTML tree. Pure functions of the model objects; types only are
 * imported so the model can call back here without a load-order cycle.
 */
import type { FileStat, FileSystem, FsTree, TreeNode } from "../fs/filesystem";
import type { PartitionTable } from "../fs/partition-table";
import type { MountedDisk } from "../fs/mount";
import { escapeXml, MimeBundle } from "./mime";
import { svgOpen } from "./svg";

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(v >= 100 ? 0 : 1)} ${units[u]}`;
}

function modeString(st: FileStat): string {
  const t = st.type === "dir" ? "d" : st.type === "symlink" ? "l" : st.type === "file" ? "-" : "?";
  const bits = "rwxrwxrwx";
  let s = t;
  for (let i = 0; i < 9; i++) s += st.mode & (1 << (8 - i)) ? bits[i] : "-";
  return s;
}

function entryLabel(st: FileStat): string {
  if (st.type === "dir") return `${st.name}/`;
  if (st.type === "symlink") return `${st.name} -> ${st.target ?? "?"}`;
  return `${st.name} (${formatBytes(st.size)})`;
}

/** `tree`-style text: box-drawing branches, sizes for files, targets for symlinks. */
export function treeText(tree: FsTree): string {
  const lines: string[] = [tree.title];
  let files = 0;
  let dirs = 0;
  const walk = (node: TreeNode, prefix: string) => {
    const kids = node.children ?? [];
    kids.forEach((k, i) => {
      const last = i === kids.length - 1;
      lines.push(`${prefix}${last ? "└── " : "├── "}${entryLabel(k.stat)}`);
      if (k.stat.type === "dir") {
        dirs++;
        walk(k, prefix + (last ? "    " : "│   "));
      } else files++;
    });
  };
  walk(tree.root, "");
  lines.push(`${dirs} directories, ${files} files${tree.omitted ? ` (${tree.omitted} more not shown)` : ""}`);
  return lines.join("\n");
}

/** Nested <details> so large directories start collapsed below the second level. */
export function treeHtml(tree: FsTree, maxNodes = 2000): string {
  let budget = maxNodes;
  const node = (n: TreeNode, depth: number): string => {
    const st = n.stat;
    const when = depth === 0 ? "" : ` ${st.mtime.toISOString().slice(0, 19).replace("T", " ")}`;
    const meta = `<span style="color:#888">${escapeXml(modeString(st))}${when}</span>`;
    if (st.type !== "dir") {
      const extra =
        st.type === "symlink"
          ? ` <span style="color:#a0a">→</span> <code><i>${escapeXml(st.target ?? "")}</i></code>`
          : ` <span style="color:#555">${formatBytes(st.size)}</span>`;
      return `<li><code>${escapeXml(st.name)}</code>${extra} ${meta}</li>`;
    }
    const kids = n.children ?? [];
    const shown: string[] = [];
    for (const k of kids) {
      if (budget-- <= 0) {
        shown.push(`<li>… ${kids.length - shown.length} more</li>`);
        break;
      }
      shown.push(node(k, depth + 1));
    }
    const open = depth < 2 ? " open" : "";
    return `<li><details${open}><summary><code><b>${escapeXml(st.name === "/" ? "/" : `${st.name}/`)}</b></code> <span style="color:#555">(${kids.length})</span> ${meta}</summary><ul style="list-style:none;padding-left:1.2em;margin:0">${shown.join("")}</ul></details></li>`;
  };
  const more = tree.omitted ? `<div style="color:#888">${tree.omitted} entries not listed</div>` : "";
  return `<div class="xenlab-fs-tree" style="font-family:monospace;font-size:12px"><div><b>${escapeXml(tree.title)}</b></div><ul style="list-style:none;padding-left:0;margin:0">${node(tree.root, 0)}</ul>${more}</div>`;
}

export function renderTree(tree: FsTree): MimeBundle {
  return { "text/plain": treeText(tree), "text/html": treeHtml(tree) };
}

function fsSummary(fs: FileSystem): string {
  const free = fs.freeBytes();
  const warnings = fs.warnings().map((w) => `; warning: ${w}`).join("");
  return `${fs.type}${fs.label ? ` "${fs.label}"` : ""}: ${formatBytes(fs.totalBytes)}, ${formatBytes(free)} free${fs.readOnly ? ", read-only" : ""}${warnings}`;
}

/** A filesystem shows its summary and the first levels of its tree. */
export function renderFileSystem(fs: FileSystem): MimeBundle {
  const tree = fs.tree("/", { maxDepth: 3, maxEntries: 500 });
  return {
    "text/plain": `${fsSummary(fs)}\n${treeText(tree)}`,
    "text/html": `<div><b>${escapeXml(fsSummary(fs))}</b></div>${treeHtml(tree)}`,
  };
}

const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f"];

export interface LayoutSegment {
  label: string;
  detail: string;
  start: number;
  size: number;
  /** Row 0 = the disk, row 1 = inside an MBR extended partition. */
  row: 0 | 1;
  /** An MBR extended partition (holds the logical ones). */
  container?: boolean;
}

/** The partition bar: each partition at its true position, a minimum width so tiny ones stay visible. */
export function partitionSvg(diskSize: number, title: string, segments: LayoutSegment[]): string {
  const W = 720;
  const rowH = 34;
  const top = 24;
  const hasRow1 = segments.some((s) => s.row === 1);
  const H = top + rowH * (hasRow1 ? 2 : 1) + 16 + segments.length * 16;
  const x = (b: number) => 10 + (b / Math.max(1, diskSize)) * (W - 20);
  const parts: string[] = [];
  parts.push(`<rect x="10" y="${top}" width="${W - 20}" height="${rowH}" fill="#eee" stroke="#999"/>`);
  segments.forEach((s, i) => {
    const x0 = x(s.start);
    const w = Math.max(3, x(s.start + s.size) - x0);
    const y = top + s.row * rowH;
    const color = PALETTE[i % PALETTE.length]!;
    // An MBR extended partition is a container: drawn as a dashed outline around its logicals.
    const fill = s.container ? `fill="${color}" fill-opacity="0.15" stroke-dasharray="5,3"` : `fill="${color}" fill-opacity="${s.row ? 0.9 : 0.75}"`;
    const h = s.container && hasRow1 ? 2 * rowH - 4 : rowH - 4;
    parts.push(`<rect x="${x0.toFixed(1)}" y="${y + 2}" width="${w.toFixed(1)}" height="${h}" ${fill} stroke="#333"><title>${escapeXml(`${s.label}: ${s.detail}`)}</title></rect>`);
    if (w > 30) parts.push(`<text x="${(x0 + w / 2).toFixed(1)}" y="${y + rowH / 2 + 4}" text-anchor="middle" font-size="11" fill="${s.container ? "#333" : "#fff"}">${escapeXml(s.label)}</text>`);
    const ly = top + rowH * (hasRow1 ? 2 : 1) + 14 + i * 16;
    parts.push(`<rect x="10" y="${ly - 9}" width="10" height="10" fill="${color}"/><text x="26" y="${ly}" font-size="11">${escapeXml(`${s.label}  ${s.detail}`)}</text>`);
  });
  return `${svgOpen({ width: W, height: H, fontFamily: "sans-serif" })}<text x="10" y="16" font-size="12" font-weight="bold">${escapeXml(title)}</text>${parts.join("")}</svg>`;
}

export function tableSegments(table: PartitionTable): LayoutSegment[] {
  return table.partitions.map((p) => ({
    label: `${p.index}${p.name ? ` ${p.name}` : ""}`,
    detail: `${p.typeName} (${p.type}), LBA ${p.startLba}+${p.sectors}, ${formatBytes(p.size)}`,
    start: p.start,
    size: p.size,
    row: p.logical ? 1 : 0,
    container: p.extended === true,
  }));
}

export function partitionTableText(table: PartitionTable): string {
  const head = `${table.scheme.toUpperCase()} disk ${table.diskId}, ${formatBytes(table.diskSize)}, ${table.sectorSize}-byte sectors` +
    (table.gpt?.usedBackup ? " (primary GPT bad: using the backup header)" : "");
  const rows = table.partitions.map((p) =>
    [
      String(p.index).padStart(3),
      String(p.startLba).padStart(10),
      String(p.startLba + p.sectors - 1).padStart(10),
      formatBytes(p.size).padStart(10),
      `${p.type.padEnd(p.scheme === "gpt" ? 36 : 4)}  ${p.typeName}${p.name ? `  "${p.name}"` : ""}${p.bootable ? "  *boot" : ""}`,
    ].join("  "),
  );
  return [head, "  #       start         end        size  type", ...rows].join("\n");
}

export function renderPartitionTable(table: PartitionTable): MimeBundle {
  return {
    "text/plain": partitionTableText(table),
    "image/svg+xml": partitionSvg(table.diskSize, `${table.scheme.toUpperCase()} ${table.diskId}`, tableSegments(table)),
  };
}

export function renderMountedDisk(disk: MountedDisk): MimeBundle {
  const lines: string[] = [];
  const html: string[] = [];
  if (disk.table) lines.push(partitionTableText(disk.table));
  for (const v of disk.volumes) {
    const where = v.partition ? `partition ${v.partition.index}` : "whole disk";
    if (v.fs) {
      lines.push(`${where}: ${fsSummary(v.fs)}`);
      html.push(`<div><b>${escapeXml(where)}: ${escapeXml(fsSummary(v.fs))}</b></div>${treeHtml(v.fs.tree("/", { maxDepth: 2, maxEntries: 200 }))}`);
    } else {
      lines.push(`${where}: ${v.error ? v.error.message : "no filesystem recognised"}`);
      html.push(`<div><b>${escapeXml(where)}</b>: ${escapeXml(v.error ? v.error.message : "no filesystem recognised")}</div>`);
    }
  }
  const segments: LayoutSegment[] = disk.table
    ? tableSegments(disk.table).map((s, i) => {
        const p = disk.table!.partitions[i]!;
        const v = disk.volumes.find((q) => q.partition?.index === p.index);
        return v?.fs ? { ...s, detail: `${s.detail}, ${v.fs.type}${v.fs.label ? ` "${v.fs.label}"` : ""}` } : s;
      })
    : disk.volumes.filter((v) => v.fs).map((v) => ({ label: v.fs!.type, detail: fsSummary(v.fs!), start: 0, size: disk.device.size, row: 0 as const }));
  const svg = partitionSvg(disk.device.size, disk.table ? `${disk.table.scheme.toUpperCase()} ${disk.table.diskId}, ${formatBytes(disk.device.size)}` : `unpartitioned, ${formatBytes(disk.device.size)}`, segments);
  return { "text/plain": lines.join("\n"), "image/svg+xml": svg, "text/html": `${svg}${html.join("")}` };
}
