/**
 * Page-table walk view: the four levels for one virtual address (index, entry, flags), the
 * resulting guest-physical address and, through the P2M, the machine frame, as text and SVG.
 */
import { MimeBundle, escapeXml } from "./mime";
import { svgOpen } from "./svg";
import type { WalkResult } from "../machine/page-walk";

export type { WalkLevel, WalkResult } from "../machine/page-walk";

const NAMES: Record<number, string> = { 4: "PML4", 3: "PDPT", 2: "PD", 1: "PT" };
const modeName = (w: WalkResult): string => (w.paging === "off" ? "paging off" : `${w.paging} paging`);

export function walkText(w: WalkResult): string[] {
  const out = [`walk of 0x${w.va.toString(16)}${w.paging ? ` (${modeName(w)})` : ""}`];
  for (const l of w.levels) {
    out.push(`  ${NAMES[l.level]!.padEnd(4)} table 0x${l.tableGpa.toString(16)} [${String(l.index).padStart(3)}] = 0x${l.entry.toString(16).padStart(16, "0")} ${l.flags.join(" ")}${l.leaf ? " (leaf)" : ""}`);
  }
  if (w.fault) out.push(`  fault: ${w.fault}`);
  if (w.gpa !== undefined) out.push(`  -> guest-physical 0x${w.gpa.toString(16)}${w.mfn !== undefined ? ` -> machine frame 0x${w.mfn.toString(16)} (address 0x${(w.mfn * 4096).toString(16)})` : " (no P2M entry)"}`);
  return out;
}

export function renderWalk(w: WalkResult): MimeBundle {
  const rowH = 34, width = 640;
  const n = w.levels.length + (w.gpa !== undefined ? 1 : 0) + (w.fault ? 1 : 0);
  const height = 30 + n * rowH;
  const parts: string[] = [
    `${svgOpen({ width: width, height: height, fontFamily: "monospace", fontSize: 12 })}`,
    `<text x="8" y="18" font-weight="bold">${escapeXml(`walk of 0x${w.va.toString(16)}${w.paging ? ` (${modeName(w)})` : ""}`)}</text>`,
  ];
  let y = 30;
  for (const l of w.levels) {
    const present = l.flags.includes("P");
    parts.push(`<rect x="8" y="${y}" width="${width - 16}" height="${rowH - 6}" rx="4" fill="${present ? (l.leaf ? "#d8f0d8" : "#e8eef8") : "#f8d8d8"}" stroke="#888"/>`);
    parts.push(`<text x="16" y="${y + 18}">${escapeXml(`${NAMES[l.level]} @0x${l.tableGpa.toString(16)} [${l.index}]  0x${l.entry.toString(16)}  ${l.flags.join(" ")}`)}</text>`);
    y += rowH;
  }
  if (w.fault) {
    parts.push(`<text x="16" y="${y + 18}" fill="#b00">${escapeXml(`fault: ${w.fault}`)}</text>`);
    y += rowH;
  }
  if (w.gpa !== undefined) {
    parts.push(`<text x="16" y="${y + 18}">${escapeXml(`→ gpa 0x${w.gpa.toString(16)}${w.mfn !== undefined ? `  → mfn 0x${w.mfn.toString(16)}` : "  (no P2M entry)"}`)}</text>`);
  }
  parts.push("</svg>");
  return { "text/plain": walkText(w).join("\n"), "image/svg+xml": parts.join("") };
}
