/** The Xen → Hyper-V translation table: per Xen call, how often, and the Hyper-V calls it became. */
import { escapeXml } from "./mime";
import type { MimeBundle } from "./mime";
import type { XenAdapter } from "../hyperv/xen-adapter";

export function renderXenTranslation(a: XenAdapter, recent = 10): MimeBundle {
  const rows = [...a.counts].map(([xen, c]) => [xen, String(c.calls), String(c.hv)]);
  const head = ["Xen hypercall", "calls", "Hyper-V calls"];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((x, i) => x.padEnd(w[i]!)).join("  ").trimEnd();
  const text = [
    `Xen hypercall adapter in partition ${a.partition.id} "${a.partition.name}"`,
    line(head), ...rows.map(line), "", "recent:",
    ...a.log.slice(-recent).map((t) => `  ${t.xen} = ${t.result}${t.hyperv.length ? " -> " + t.hyperv.join("; ") : " (answered by the adapter)"}`),
  ].join("\n");
  const html = `<table><thead><tr>${head.map((h) => `<th>${escapeXml(h)}</th>`).join("")}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${escapeXml(c)}</td>`).join("")}</tr>`).join("")}</tbody></table>`;
  return { "text/plain": text, "text/html": html };
}
