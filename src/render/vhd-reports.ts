/**
 * Views of what the VHD tools report: `info` (every footer and header field), `check` (findings
 * and repairs), `map` (which file of a chain holds each range). Text for consoles, HTML tables for
 * notebooks.
 */
import type { CheckReport } from "../vhd/check";
import type { VhdInfo } from "../vhd/info";
import type { Extent } from "../vhd/map";
import { formatSize } from "../vhd/size";
import { escapeXml, MimeBundle } from "./mime";

function table(rows: [string, string][]): string {
  return `<table style="border-collapse:collapse;font-size:12px">${rows
    .map(([k, v]) => `<tr><th style="text-align:left;padding:1px 10px 1px 0;font-weight:600">${escapeXml(k)}</th><td style="text-align:left;font-family:monospace">${escapeXml(v)}</td></tr>`)
    .join("")}</table>`;
}

export class VhdInfoView {
  constructor(
    readonly info: VhdInfo,
    /** The disk's own layout drawing, shown under the table. */
    private readonly layoutSvg?: string,
  ) {}

  rows(): [string, string][] {
    const i = this.info;
    const f = i.footer;
    const g = f.geometry;
    const rows: [string, string][] = [
      ["image", i.file],
      ["type", i.type],
      ["virtual size", `${formatSize(i.virtualSize)} (${i.virtualSize} bytes)`],
      ["qemu-img reports", `${i.qemuVirtualSize} bytes`],
      ["file size", formatSize(i.fileSize)],
      ["current / original size", `${i.currentSize} / ${i.originalSize}`],
      ["geometry (C/H/S)", `${g.cylinders}/${g.heads}/${g.sectorsPerTrack} = ${i.chsSize} bytes`],
      ["creator", `${f.creatorApplication} ${f.creatorVersion} on ${f.creatorHostOs}`],
      ["time stamp", f.timestamp],
      ["unique id", f.uniqueId],
      ["footer", `${f.source} @${f.offset}, checksum ${f.checksum}, version ${f.formatVersion}`],
    ];
    if (i.header) {
      const h = i.header;
      rows.push(["block size", formatSize(h.blockSize)], ["BAT", `@${h.tableOffset}: ${h.allocatedBlocks} of ${h.maxTableEntries} blocks allocated`]);
      if (h.parentUniqueId) rows.push(["parent", `${h.parentName ?? "?"} (id ${h.parentUniqueId}, ${h.parentTimestamp})`]);
      for (const l of h.parentLocators) rows.push([`locator ${l.index}`, `${l.platform} @${l.dataOffset}, ${l.dataLength} bytes`]);
    }
    if (i.parent) rows.push(["parent file", `${i.parent.path} (found by ${i.parent.foundBy})`]);
    for (const w of i.warnings) rows.push(["warning", w]);
    return rows;
  }

  toMimeBundle(): MimeBundle {
    const rows = this.rows();
    const width = Math.max(...rows.map(([k]) => k.length));
    return {
      "text/plain": rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n"),
      "text/html": `<div>${table(rows)}${this.layoutSvg ? `<div style="margin-top:6px">${this.layoutSvg}</div>` : ""}</div>`,
    };
  }
}

export class CheckReportView {
  constructor(readonly report: CheckReport) {}

  get verdict(): string {
    const r = this.report;
    if (r.result === 0) return "No errors were found on the image.";
    if (r.result === 3) return `${r.leakedBytes} leaked bytes were found on the image (no corruption).`;
    return `${r.findings.filter((f) => f.severity === "error").length} errors were found on the image.`;
  }

  toMimeBundle(): MimeBundle {
    const r = this.report;
    const lines = [
      ...r.findings.map((f) => `${f.severity.toUpperCase()}: ${f.field} @${f.offset}: ${f.message}${f.file ? ` (${f.file})` : ""}`),
      ...r.repairs.map((x) => `Repaired: ${x}`),
      ...(r.totalBlocks ? [`${r.allocatedBlocks}/${r.totalBlocks} blocks allocated`] : []),
      this.verdict,
    ];
    const colour = r.result === 0 ? "#4caf50" : r.result === 3 ? "#c2a521" : "#c0392b";
    const rows = r.findings
      .map((f) => `<tr><td>${escapeXml(f.severity)}</td><td style="font-family:monospace">${escapeXml(f.field)}</td><td style="font-family:monospace">@${f.offset}</td><td>${escapeXml(f.message)}</td></tr>`)
      .join("");
    return {
      "text/plain": lines.join("\n"),
      "text/html":
        `<div style="font-size:12px"><div style="border-left:4px solid ${colour};padding-left:6px"><b>${escapeXml(r.file)}</b>: ${escapeXml(this.verdict)}</div>` +
        (rows ? `<table style="border-collapse:collapse;margin-top:4px"><tr><th>severity</th><th>field</th><th>offset</th><th>finding</th></tr>${rows}</table>` : "") +
        (r.repairs.length ? `<ul>${r.repairs.map((x) => `<li>repaired: ${escapeXml(x)}</li>`).join("")}</ul>` : "") +
        "</div>",
    };
  }
}

export class ExtentMapView {
  constructor(readonly extents: Extent[]) {}

  toMimeBundle(): MimeBundle {
    const rows = this.extents.map((e) => [
      String(e.start),
      String(e.length),
      e.file === undefined ? "(unallocated: reads as zeros)" : `${e.file} (depth ${e.depth})`,
      e.fileOffset === undefined ? "" : String(e.fileOffset),
    ]);
    const header = ["offset", "length", "held by", "file offset"];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
    return {
      "text/plain": [line(header), ...rows.map(line)].join("\n"),
      "text/html": `<table style="border-collapse:collapse;font-size:12px;font-family:monospace"><tr>${header.map((h) => `<th style="text-align:left;padding-right:12px">${h}</th>`).join("")}</tr>${rows
        .map((r) => `<tr>${r.map((c) => `<td style="padding-right:12px">${escapeXml(c)}</td>`).join("")}</tr>`)
        .join("")}</table>`,
    };
  }
}
