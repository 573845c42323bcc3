/** Views of the Hyper-V host: partitions with their privileges and VPs, SynIC state, recent hypercalls. */
import type { MimeBundle } from "./mime";
import { escapeXml } from "./mime";
import type { HypervHost } from "../hyperv/host";
import type { Partition } from "../hyperv/partition";
import { hvStatusName } from "../hyperv/tlfs";
import { svgOpen } from "./svg";
import { enlightenments, Enlightenment } from "../hyperv/enlightenments";

const hex = (v: bigint | number, w = 0) => "0x" + v.toString(16).padStart(w, "0");

function table(head: string[], rows: string[][]): { text: string; html: string } {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  const text = [line(head), ...rows.map(line)].join("\n");
  const html = `<table><thead><tr>${head.map((h) => `<th>${escapeXml(h)}</th>`).join("")}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${escapeXml(c)}</td>`).join("")}</tr>`).join("")}</tbody></table>`;
  return { text, html };
}

export function partitionRows(h: HypervHost): string[][] {
  return [...h.partitions.values()].map((p) => [
    String(p.id), p.name, p.kind, p.state, String(p.vps.length), p.vps.map((v) => v.state).join(",") || "-",
    String(p.kind === "root" ? p.memory.p2m.entries().length : p.mappedPages), `${p.pool.length - p.poolInUse}/${p.poolInUse}`,
    hex(p.privileges, 12), p.guestOsId ? hex(p.guestOsId, 16) : "-", p.hypercallPageGpa !== undefined ? hex(p.hypercallPageGpa) : "-",
    [...new Set(enlightenments(p).map((e) => e.name.replace(/ VP\d+$/, "")))].join(", ") || "-",
  ]);
}

/** The enlightenment kinds, in the order the picture's columns show them. */
const KINDS = ["GuestOsId", "hypercall page", "reference counter", "reference TSC page", "SynIC", "stimer", "VMBus", "Xen adapter"] as const;
const kindOf = (e: Enlightenment) => KINDS.find((k) => e.name === k || e.name.startsWith(k + " ") || (k === "stimer" && /^stimer\d/.test(e.name)));

export function renderHost(h: HypervHost): MimeBundle {
  const t = table(["ID", "Name", "Kind", "State", "VPs", "VP states", "Pages", "Pool avail/used", "Privileges", "GuestOsId", "Hypercall page", "Enlightenments"], partitionRows(h));
  const summary = `Hyper-V host: ${h.partitions.size} partitions, ${h.lps} LPs, t=${(h.now / 1e6).toFixed(3)} ms, ${h.stats.hypercalls} hypercalls (${h.stats.continuations} continuations), ${h.stats.messages} messages, ${h.stats.events} events`;
  const details: string[] = [];
  for (const p of h.partitions.values()) {
    const es = enlightenments(p);
    if (es.length) details.push(`${p.id} ${p.name}:`, ...es.map((e) => `    ${e.name}: ${e.detail}`));
  }
  const text = [summary, t.text, ...(details.length ? ["", "Enlightenments:", ...details.map((l) => (l.startsWith("    ") ? l : "  " + l))] : [])].join("\n");
  return { "text/plain": text, "text/html": `<p>${escapeXml(summary)}</p>${t.html}`, "image/svg+xml": enlightenmentSvg(h) };
}

/** Partitions (rows) by enlightenment kind (columns): a filled cell is one the guest switched on; its title says how. */
export function enlightenmentSvg(h: HypervHost): string {
  const W = 92, H = 22, X = 170, Y = 34;
  const parts: string[] = [];
  KINDS.forEach((k, i) => parts.push(`<text x="${X + i * W + W / 2}" y="${Y - 8}" font-size="10" text-anchor="middle" font-family="sans-serif">${escapeXml(k)}</text>`));
  [...h.partitions.values()].forEach((p, row) => {
    const y = Y + row * (H + 4);
    const es = enlightenments(p);
    parts.push(`<text x="2" y="${y + 15}" font-size="11" font-family="monospace">${escapeXml(`${p.id} ${p.name}`.slice(0, 24))}</text>`);
    KINDS.forEach((k, i) => {
      const mine = es.filter((e) => kindOf(e) === k);
      const title = mine.length ? mine.map((e) => `${e.name}: ${e.detail}`).join("\n") : `${k}: not used`;
      parts.push(`<rect data-partition="${p.id}" data-kind="${escapeXml(k)}" data-on="${mine.length > 0}" x="${X + i * W + 2}" y="${y}" width="${W - 4}" height="${H}" fill="${mine.length ? "#4c9be8" : "#f1f3f5"}" stroke="#495057"><title>${escapeXml(title)}</title></rect>`);
    });
  });
  const width = X + KINDS.length * W, height = Y + h.partitions.size * (H + 4) + 4;
  return `${svgOpen({ width, height })}<text x="2" y="11" font-size="11" font-family="sans-serif">Enlightenments each partition's guest switched on (blue)</text>${parts.join("")}</svg>`;
}

export function renderPartition(p: Partition): MimeBundle {
  const lines = [
    `Partition ${p.id} "${p.name}" (${p.kind}, ${p.state})`,
    `  privileges ${hex(p.privileges, 12)}: ${p.privilegeNames().join(" ")}`,
    `  guest OS id ${hex(p.guestOsId, 16)}, hypercall MSR ${hex(p.hypercallMsr)}, reference TSC MSR ${hex(p.referenceTscMsr)}`,
  ];
  const rows: string[][] = [];
  for (const vp of p.vps) {
    const s = vp.synic;
    lines.push(`  VP ${vp.index}: ${vp.state}, ${vp.hypercalls} hypercalls, RIP ${hex(vp.cpu.getReg("rip"))}; SCONTROL ${hex(s.scontrol)} SIMP ${hex(s.simp)} SIEFP ${hex(s.siefp)}; delivered ${s.counters.delivered}, EOMs ${s.counters.eoms}, events ${s.counters.eventsSignalled}, interrupts ${s.counters.interrupts}`);
    for (let i = 0; i < 16; i++) {
      const slot = s.slot(i);
      if (s.masked(i) && !slot?.type && s.queues[i]!.length === 0) continue;
      rows.push([String(vp.index), `SINT${i}`, hex(s.sint[i]!), s.masked(i) ? "masked" : `vector ${s.vector(i)}`, slot ? (slot.type ? hex(slot.type) : "empty") : "SIMP off", slot?.pending ? "yes" : "no", String(s.queues[i]!.length)]);
    }
  }
  const t = table(["VP", "SINT", "MSR", "Vector", "Slot", "Pending", "Queued"], rows);
  if (rows.length) lines.push(t.text.split("\n").map((l) => "  " + l).join("\n"));
  if (p.console) lines.push(`  console: ${JSON.stringify(p.console.slice(-200))}`);
  const bundle: MimeBundle = { "text/plain": lines.join("\n"), "text/html": `<pre>${escapeXml(lines.slice(0, 3 + p.vps.length).join("\n"))}</pre>${rows.length ? t.html : ""}` };
  if (p.vps.length) bundle["image/svg+xml"] = synicSvg(p);
  return bundle;
}

/** The SIM page of each VP as 16 slots: empty, holding a message, holding one with more pending; masked SINTs greyed. */
export function synicSvg(p: Partition): string {
  const S = 26, X = 40;
  const parts: string[] = [];
  p.vps.forEach((vp, row) => {
    const y = 18 + row * (S + 10);
    parts.push(`<text x="2" y="${y + 17}" font-size="11" font-family="monospace">VP${vp.index}</text>`);
    for (let i = 0; i < 16; i++) {
      const slot = vp.synic.slot(i);
      const fill = !slot ? "#f1f3f5" : slot.type === 0 ? "#ffffff" : slot.pending ? "#e8590c" : "#4c9be8";
      const title = `SINT${i}: ${vp.synic.masked(i) ? "masked" : "vector " + vp.synic.vector(i)}; ${!slot ? "SIMP off" : slot.type === 0 ? "empty" : `type 0x${slot.type.toString(16)}, ${slot.size} B${slot.pending ? ", more pending" : ""}`}; ${vp.synic.queues[i]!.length} queued`;
      parts.push(`<rect x="${X + i * (S + 2)}" y="${y}" width="${S}" height="${S}" fill="${fill}" stroke="${vp.synic.masked(i) ? "#ced4da" : "#495057"}"><title>${escapeXml(title)}</title></rect>`);
      parts.push(`<text x="${X + i * (S + 2) + S / 2}" y="${y + 17}" font-size="10" text-anchor="middle" font-family="monospace">${i}</text>`);
    }
  });
  const h = 18 + p.vps.length * (S + 10);
  return `${svgOpen({ width: X + 16 * (S + 2), height: h })}<text x="2" y="11" font-size="11" font-family="sans-serif">SynIC message slots (blue: message, orange: more pending)</text>${parts.join("")}</svg>`;
}

/** The last hypercalls (call, reps, status, continuation). */
export function renderHypercallTrace(h: HypervHost, n = 20): MimeBundle {
  const rows = h.trace.slice(-n).map((r) => [String(r.t), String(r.partition), String(r.vp), r.name, r.fast ? "fast" : "", r.repCount ? `${r.repStart}..${r.repCount}` : "", hvStatusName(r.status), r.repCount ? String(r.repsCompleted) : "", r.continued ? "continue" : ""]);
  const t = table(["t(ns)", "Part", "VP", "Call", "Fast", "Reps", "Status", "Done", ""], rows);
  return { "text/plain": t.text, "text/html": t.html };
}
