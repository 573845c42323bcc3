/** View of a .vmc import: the drives found (and how), the NICs, the xl.cfg produced. */
import { escapeXml } from "./mime";
import type { MimeBundle } from "./mime";
import type { VmcImport } from "../hyperv/vmc";

export function renderVmcImport(imp: VmcImport, partition?: { id: number; name: string }): MimeBundle {
  const c = imp.config;
  const lines = [`Virtual Server VM "${c.name}": ${c.memoryMiB} MiB, ${imp.disks.length} drives, ${c.nics.length} NICs, undo disks ${c.undoDrives ? "on" : "off"} (${c.encoding})`];
  for (const d of imp.disks) lines.push(`  ${d.bus.toUpperCase()} ${d.controller}:${d.location} ${d.kind} -> ${d.vdev}: ${d.path} (${d.foundBy})${d.chain.length > 1 ? `; chain ${d.chain.map((x) => `${x.path} [${x.type}]`).join(" -> ")}` : ""}`);
  for (const n of c.nics) lines.push(`  NIC ${n.index}: ${n.mac ?? "(auto MAC)"} on ${n.network ?? "(not connected)"}`);
  if (partition) lines.push(`  Hyper-V partition ${partition.id} "${partition.name}" created (suspended), disks offered on VMBus`);
  const text = `${lines.join("\n")}\n\nxl.cfg:\n${imp.xlcfg}`;
  return { "text/plain": text, "text/html": `<pre>${escapeXml(text)}</pre>` };
}
