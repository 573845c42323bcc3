/** A live migration: its pre-copy rounds as a table and as bars of pages sent and dirtied. */
import type { Migration } from "../xen/migrate";
import { barChart } from "./bar-chart";
import type { MimeBundle } from "./mime";

export function renderMigration(m: Migration): MimeBundle {
  const head = `migration of ${m.name}: ${m.from} → ${m.to}, ${m.rounds.length} rounds, ${m.pagesSent} pages sent` +
    (m.unloggedPages ? `, ${m.unloggedPages} changed without a logged write (sent from the paused domain)` : "");
  const rows = m.rounds.map((r) => `  round ${r.round}${r.final ? " (stop-and-copy)" : ""}: sent ${r.pagesSent}, dirtied ${r.pagesDirtied}, ${(r.durationNs / 1e6).toFixed(2)} ms on the link, ${r.wallMs.toFixed(0)} ms host`);
  const chart = barChart(`Pre-copy rounds of ${m.name}`, m.rounds.map((r) => ({ label: r.final ? `${r.round} (final)` : String(r.round), parts: { sent: r.pagesSent, dirtied: r.pagesDirtied } })), " pages");
  return { "text/plain": [head, ...rows].join("\n"), "image/svg+xml": chart.toMimeBundle()["image/svg+xml"] };
}
