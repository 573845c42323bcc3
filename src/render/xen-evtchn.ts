/**
 * Event channels: one column per domain, one row per open port; interdomain channels are drawn
 * as lines between their two ends; pending ports are filled, masked ones outlined in grey.
 */
import type { XenHost } from "../xen/host";
import { MimeBundle, escapeXml } from "./mime";
import { svgOpen } from "./svg";

export class EventChannelView {
  constructor(readonly host: XenHost, readonly domids?: number[]) {}

  toMimeBundle(): MimeBundle {
    const doms = [...this.host.domains.values()].filter((d) => !this.domids || this.domids.includes(d.domid));
    const lines: string[] = [];
    for (const d of doms) {
      lines.push(`d${d.domid} ${d.name}:`);
      for (const e of d.evtchn.list()) {
        const peer = e.state === "interdomain" ? ` -> d${e.remoteDom}:${e.remotePort}` : e.state === "unbound" ? ` (for d${e.remoteDom})` : e.state === "virq" ? ` virq ${e.virq} vcpu ${e.notifyVcpu}` : e.state === "ipi" ? ` vcpu ${e.notifyVcpu}` : "";
        const flags = d.domid === 0 ? "" : `${d.sharedInfo.testPending(e.port) ? " pending" : ""}${d.sharedInfo.testMasked(e.port) ? " masked" : ""}`;
        lines.push(`  port ${String(e.port).padStart(3)} ${e.state.padEnd(11)}${peer}${flags}${e.label ? `  [${e.label}]` : ""}`);
      }
    }
    // Wide columns: each port names its remote end, which may be a domain not drawn here.
    const colW = 250, rowH = 18;
    const rows = Math.max(1, ...doms.map((d) => d.evtchn.list().length));
    const w = doms.length * colW + 20, h = 40 + rows * rowH + 10;
    const pos = new Map<string, [number, number]>();
    let body = "";
    doms.forEach((d, i) => {
      const x = 10 + i * colW;
      body += `<text x="${x}" y="18" font-weight="bold">${escapeXml(`d${d.domid} ${d.name}`.slice(0, 24))}</text>`;
      d.evtchn.list().forEach((e, k) => {
        const y = 32 + k * rowH;
        const pending = d.domid !== 0 && d.sharedInfo.testPending(e.port);
        const masked = d.domid !== 0 && d.sharedInfo.testMasked(e.port);
        body += `<rect x="${x}" y="${y}" width="14" height="14" fill="${pending ? "#e53935" : "#fff"}" stroke="${masked ? "#aaa" : "#333"}"><title>${escapeXml(`port ${e.port} ${e.state}`)}</title></rect>`;
        const remote = e.state === "interdomain" ? ` → d${e.remoteDom}:${e.remotePort}` : e.state === "unbound" ? ` for d${e.remoteDom}` : "";
        body += `<text x="${x + 20}" y="${y + 11}">${e.port} ${escapeXml(e.state)}${remote}${e.label ? ` ${escapeXml(e.label.slice(0, 12))}` : e.state === "virq" ? ` virq${e.virq}` : ""}</text>`;
        pos.set(`${d.domid}:${e.port}`, [x + (i === 0 ? 14 : 0), y + 7]);
      });
    });
    let links = "";
    for (const d of doms) for (const e of d.evtchn.list()) {
      if (e.state !== "interdomain" || d.domid > e.remoteDom) continue;
      const a = pos.get(`${d.domid}:${e.port}`), b = pos.get(`${e.remoteDom}:${e.remotePort}`);
      if (a && b) links += `<line x1="${a[0] + 14}" y1="${a[1]}" x2="${b[0]}" y2="${b[1]}" stroke="#1e88e5" stroke-width="1.5" opacity="0.7"/>`;
    }
    const svg = `${svgOpen({ width: w, height: h, fontFamily: "monospace", fontSize: 11 })}${links}${body}</svg>`;
    return { "text/plain": lines.join("\n"), "image/svg+xml": svg };
  }
}
