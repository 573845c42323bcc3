/** View of a child's VMBus: channels, their GPADLs and ring indices, VSP counters, the message log. */
import { escapeXml } from "./mime";
import type { MimeBundle } from "./mime";
import type { VmbusServer } from "../hyperv/vmbus";
import { svgOpen } from "./svg";

export function renderVmbus(v: VmbusServer): MimeBundle {
  const ver = v.version === undefined ? "not connected" : `${v.version >>> 16}.${v.version & 0xffff}`;
  const lines = [`VMBus of partition ${v.child.id} "${v.child.name}": version ${ver}, ${v.channels.length} channels, ${v.gpadls.size} GPADLs`];
  for (const c of v.channels) {
    const ring = (name: string, r: typeof c.inbound) => r ? `${name} w=${r.writeIndex} r=${r.readIndex} size=${r.dataSize} mask=${r.interruptMask}` : `${name} -`;
    const s = c.vsp.stats;
    lines.push(`  relid ${c.relid} conn 0x${c.connectionId.toString(16)} ${c.ifType} ${c.state} gpadl ${c.gpadl ?? "-"}; ${ring("out", c.outbound)}; ${ring("in", c.inbound)}; ${c.vsp.label}: ${s.requests} requests, ${s.reads} reads (${s.bytesRead} B), ${s.writes} writes, ${s.errors} errors`);
  }
  lines.push(`  messages: ${v.log.map((m) => (m.dir === "in" ? "→" : "←") + m.type).join(" ")}`);
  const bundle: MimeBundle = { "text/plain": lines.join("\n"), "text/html": `<pre>${escapeXml(lines.join("\n"))}</pre>` };
  const svg = ringsSvg(v);
  if (svg) bundle["image/svg+xml"] = svg;
  return bundle;
}

/**
 * Each open channel's two rings as bars: the data area, the bytes waiting between read_index and
 * write_index shaded (in two pieces when they wrap), and the two indices marked.
 */
export function ringsSvg(v: VmbusServer): string | undefined {
  const open = v.channels.filter((c) => c.outbound && c.inbound);
  if (!open.length) return undefined;
  const W = 420, X = 150, BAR = 16, ROW = 34;
  const rows: string[] = [];
  let y = 10;
  for (const c of open) {
    for (const [label, r] of [[`relid ${c.relid} guest→host`, c.outbound!], [`relid ${c.relid} host→guest`, c.inbound!]] as const) {
      const size = r.dataSize, rd = r.readIndex, wr = r.writeIndex;
      const px = (i: number) => X + (i / size) * W;
      const used = wr >= rd ? [[rd, wr]] : [[rd, size], [0, wr]];
      rows.push(`<text x="4" y="${y + 12}" font-size="11" font-family="monospace">${escapeXml(label)}</text>`);
      rows.push(`<rect x="${X}" y="${y}" width="${W}" height="${BAR}" fill="#eef1f4" stroke="#9aa5b1"/>`);
      for (const [a, b] of used) if (b! > a!) rows.push(`<rect x="${px(a!).toFixed(1)}" y="${y}" width="${(px(b!) - px(a!)).toFixed(1)}" height="${BAR}" fill="#4c9be8"/>`);
      rows.push(`<line x1="${px(rd).toFixed(1)}" y1="${y - 3}" x2="${px(rd).toFixed(1)}" y2="${y + BAR + 3}" stroke="#2b8a3e" stroke-width="2"><title>read_index ${rd}</title></line>`);
      rows.push(`<line x1="${px(wr).toFixed(1)}" y1="${y - 3}" x2="${px(wr).toFixed(1)}" y2="${y + BAR + 3}" stroke="#c92a2a" stroke-width="2"><title>write_index ${wr}</title></line>`);
      rows.push(`<text x="${X + W + 6}" y="${y + 12}" font-size="10" font-family="monospace">R ${rd} W ${wr} / ${size}</text>`);
      y += ROW;
    }
  }
  return `${svgOpen({ width: X + W + 140, height: y })}${rows.join("")}</svg>`;
}
