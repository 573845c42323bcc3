/** Grant tables: each domain's active v1 entries with decoded GTF flags, and who maps them. */
import { GTF_readonly, GTF_reading, GTF_type_mask, GTF_writing } from "../xen/abi";
import type { XenHost } from "../xen/host";
import { MimeBundle, escapeXml } from "./mime";

const TYPES = ["invalid", "permit_access", "accept_transfer", "transitive"];

export function gtfFlags(f: number): string {
  const parts = [TYPES[f & GTF_type_mask]!];
  if (f & GTF_readonly) parts.push("readonly");
  if (f & GTF_reading) parts.push("reading");
  if (f & GTF_writing) parts.push("writing");
  return parts.join("|");
}

export class GrantTableView {
  constructor(readonly host: XenHost, readonly domid?: number) {}

  toMimeBundle(): MimeBundle {
    const doms = [...this.host.domains.values()].filter((d) => this.domid === undefined || d.domid === this.domid);
    const text: string[] = [];
    let rows = "";
    for (const d of doms) {
      const entries = d.gnttab.activeEntries();
      if (!entries.length && !d.gnttab.mappingCount) continue;
      text.push(`d${d.domid} ${d.name}: ${d.gnttab.frames.length}/${d.gnttab.maxFrames} frames`);
      for (const e of entries) {
        const mappers = [...this.host.domains.values()].flatMap((m) => m.gnttab.mappings().filter((x) => x.granter === d.domid && x.ref === e.ref).map((x) => `d${m.domid}@gfn 0x${x.gfn.toString(16)}${x.readonly ? " ro" : ""}`));
        const line = `  ref ${String(e.ref).padStart(4)} flags 0x${e.flags.toString(16).padStart(4, "0")} ${gtfFlags(e.flags).padEnd(32)} to d${e.domid} frame 0x${e.frame.toString(16)}${mappers.length ? `  mapped by ${mappers.join(", ")}` : ""}`;
        text.push(line);
        rows += `<tr><td>d${d.domid}</td><td>${e.ref}</td><td>0x${e.flags.toString(16)}</td><td>${escapeXml(gtfFlags(e.flags))}</td><td>d${e.domid}</td><td>0x${e.frame.toString(16)}</td><td>${escapeXml(mappers.join(", "))}</td></tr>`;
      }
      for (const m of d.gnttab.mappings()) text.push(`  holds handle ${m.handle}: d${m.granter} ref ${m.ref} at gfn 0x${m.gfn.toString(16)}${m.readonly ? " (ro)" : ""}`);
    }
    const html = `<table style="font-family:monospace;font-size:12px"><tr><th>granter</th><th>ref</th><th>flags</th><th>meaning</th><th>grantee</th><th>frame</th><th>mapped by</th></tr>${rows}</table>`;
    return { "text/plain": text.join("\n") || "(no grants in use)", "text/html": html };
  }
}
