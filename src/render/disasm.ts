/**
 * Disassembly view: NASM-syntax listing with symbol labels, the current instruction marked, as
 * text and HTML.
 */
import { MimeBundle, escapeXml } from "./mime";
import { type ListingLine, listingText } from "../machine/listing";

export { ListingLine, listingText } from "../machine/listing";

export function renderListing(lines: readonly ListingLine[], current?: bigint, title = "disassembly"): MimeBundle {
  const text = listingText(lines, current).join("\n");
  const rows = lines
    .map((l) => {
      const label = l.where && !l.where.includes("+") ? `<tr><td colspan="3" style="color:#2a5db0">${escapeXml(l.where)}:</td></tr>` : "";
      if (!l.bytes.length && !l.text) return label;
      const cur = l.address === current;
      const hex = [...l.bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ");
      return `${label}<tr style="${cur ? "background:#fff3b0;font-weight:bold" : ""}"><td>${cur ? "&#9654;" : ""} ${l.address.toString(16)}</td><td style="color:#888;padding:0 8px">${hex}</td><td>${escapeXml(l.text)}</td></tr>`;
    })
    .join("");
  const html = `<div style="font-family:monospace;font-size:12px"><b>${escapeXml(title)}</b><table style="border-collapse:collapse">${rows}</table></div>`;
  return { "text/plain": text, "text/html": html };
}
