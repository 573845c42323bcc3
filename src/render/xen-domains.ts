/**
 * Views of the Xen host: the domain list (xl list as text, an SVG of domains with their vCPUs on
 * pCPUs and memory), and one domain (its vCPUs, event channels, grants, console tail).
 */
import type { Domain } from "../xen/domain";
import type { XenHost } from "../xen/host";
import { xlList, xlVcpuList } from "../xen/xl/format";
import { MimeBundle, escapeXml } from "./mime";
import { svgOpen } from "./svg";

const STATE_COLOR: Record<string, string> = { running: "#2e7d32", runnable: "#f9a825", blocked: "#90a4ae", offline: "#e0e0e0" };

export function renderDomainList(host: XenHost): MimeBundle {
  const doms = [...host.domains.values()];
  const text = xlList(host, doms);
  const rowH = 26, w = 720;
  const h = 40 + doms.length * rowH + 30;
  const maxMem = Math.max(1, ...doms.map((d) => d.totPages));
  let svg = `${svgOpen({ width: w, height: h, fontFamily: "monospace", fontSize: 12 })}`;
  svg += `<text x="8" y="18" font-weight="bold">${escapeXml(host.hostname)}: ${host.pcpus.length} pCPUs, ${host.totalMemoryMiB} MiB, t=${(host.now / 1e6).toFixed(3)} ms virtual</text>`;
  doms.forEach((d, i) => {
    const y = 32 + i * rowH;
    svg += `<text x="8" y="${y + 15}">${escapeXml(`${d.domid} ${d.name}`.slice(0, 22))}</text>`;
    svg += `<text x="190" y="${y + 15}">${escapeXml(d.domid === 0 ? "r-----" : d.stateLetters())}</text>`;
    d.vcpus.forEach((v, k) => {
      svg += `<rect x="${250 + k * 18}" y="${y + 3}" width="14" height="16" fill="${STATE_COLOR[v.runstate]}" stroke="#555"><title>vCPU ${v.id}: ${v.runstate} on pCPU ${v.pcpu}</title></rect>`;
    });
    // The bar leaves room for its label ("65536M" in 12 px monospace is ~45 px) inside the frame.
    const mw = Math.max(1, Math.round((d.totPages / maxMem) * (w - 500 - 60)));
    svg += `<rect x="500" y="${y + 5}" width="${mw}" height="12" fill="#5c6bc0"><title>${(d.totPages / 256).toFixed(0)} MiB</title></rect>`;
    svg += `<text x="${505 + mw}" y="${y + 15}">${(d.totPages / 256).toFixed(0)}M</text>`;
  });
  const ly = h - 10;
  let lx = 8;
  for (const [k, c] of Object.entries(STATE_COLOR)) { svg += `<rect x="${lx}" y="${ly - 10}" width="10" height="10" fill="${c}"/><text x="${lx + 14}" y="${ly}">${k}</text>`; lx += 90; }
  svg += `</svg>`;
  return { "text/plain": text, "image/svg+xml": svg };
}

export function renderDomain(d: Domain): MimeBundle {
  const host = d.host;
  let text = xlList(host, [d]) + "\n" + xlVcpuList(host, [d]);
  if (d.crashReason) text += `\ncrash reason: ${d.crashReason}\n`;
  const ports = d.evtchn.list();
  if (ports.length) {
    text += "\nEvent channels:\n";
    for (const e of ports) text += `  ${String(e.port).padStart(4)} ${e.state.padEnd(11)} ${e.state === "interdomain" || e.state === "unbound" ? `d${e.remoteDom}${e.state === "interdomain" ? `:${e.remotePort}` : ""}` : e.state === "virq" ? `virq ${e.virq}` : ""} ${d.sharedInfo.testPending(e.port) ? "pending" : ""}${d.sharedInfo.testMasked(e.port) ? " masked" : ""}${e.label ? ` (${e.label})` : ""}\n`;
  }
  const calls = [...d.hypercalls.entries()].sort((a, b) => b[1] - a[1]);
  if (calls.length) text += `\nHypercalls: ${calls.map(([nr, n]) => `${host.hypercallName(nr)}=${n}`).join(" ")}\n`;
  const tail = d.consoleLog.split("\n").slice(-8).join("\n");
  if (tail.trim()) text += `\nConsole (last lines):\n${tail}\n`;
  const html = `<div style="font-family:monospace"><pre>${escapeXml(text)}</pre></div>`;
  return { "text/plain": text, "text/html": html };
}
