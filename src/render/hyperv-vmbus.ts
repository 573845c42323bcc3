/** View of a child's VMBus: channels, their GPADLs and ring indices, VSP counters, the message log. */
import { escapeXml } from "./mime";
import type { MimeBundle } from "./mime";
import type { VmbusServer } from "../hyperv/vmbus";

export function renderVmbus(v: VmbusServer): MimeBundle {
  const ver = v.version === undefined ? "not connected" : `${v.version >>> 16}.${v.version & 0xffff}`;
  const lines = [`VMBus of partition ${v.child.id} "${v.child.name}": version ${ver}, ${v.channels.length} channels, ${v.gpadls.size} GPADLs`];
  for (const c of v.channels) {
    const ring = (name: string, r: typeof c.inbound) => r ? `${name} w=${r.writeIndex} r=${r.readIndex} size=${r.dataSize} mask=${r.interruptMask}` : `${name} -`;
    const s = c.vsp.stats;
    lines.push(`  relid ${c.relid} conn 0x${c.connectionId.toString(16)} ${c.ifType} ${c.state} gpadl ${c.gpadl ?? "-"}; ${ring("out", c.outbound)}; ${ring("in", c.inbound)}; ${c.vsp.label}: ${s.requests} requests, ${s.reads} reads (${s.bytesRead} B), ${s.writes} writes, ${s.errors} errors`);
  }
  lines.push(`  messages: ${v.log.map((m) => (m.dir === "in" ? "→" : "←") + m.type).join(" ")}`);
  return { "text/plain": lines.join("\n"), "text/html": `<pre>${escapeXml(lines.join("\n"))}</pre>` };
}
