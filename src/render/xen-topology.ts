/**
 * The host's topology: each domain with its vCPUs and devices, and the event channels between
 * domains drawn as links (labelled xenstore, console, vbd...), as xl and xenstore-ls would let you
 * piece together by hand.
 */
import type { XenHost } from "../xen/host";
import { escapeXml, MimeBundle } from "./mime";
import { domainColour } from "./palette";
import { svgOpen } from "./svg";

interface Link {
  from: number;
  to: number;
  label: string;
}

export interface TopologyDevice {
  domid: number;
  text: string;
}

export class TopologyView {
  constructor(
    private readonly host: XenHost,
    /** Devices to show under each domain (e.g. block devices from blkback). */
    private readonly devices: TopologyDevice[] = [],
  ) {}

  links(): Link[] {
    const seen = new Set<string>();
    const out: Link[] = [];
    for (const d of this.host.domains.values()) {
      for (const p of d.evtchn.list()) {
        if (p.state !== "interdomain") continue;
        const a = Math.min(d.domid, p.remoteDom);
        const b = Math.max(d.domid, p.remoteDom);
        const label = (p.label ?? "").replace(/ d\d+$/, "") || `port ${p.port}`;
        const key = `${a}-${b}-${label}-${d.domid === a ? p.port : p.remotePort}`;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push({ from: d.domid, to: p.remoteDom, label });
      }
    }
    return out;
  }

  text(): string {
    const lines: string[] = [];
    for (const d of this.host.domains.values()) {
      const vcpus = d.vcpus.map((v) => `v${v.id}:${v.runstate}`).join(" ");
      lines.push(`d${d.domid} ${d.name} (${d.kind}, ${d.config.memory} MiB) vCPUs ${vcpus}`);
      for (const dev of this.devices.filter((x) => x.domid === d.domid)) lines.push(`    device ${dev.text}`);
    }
    const byPair = new Map<string, string[]>();
    for (const l of this.links()) {
      const k = `d${Math.min(l.from, l.to)} <-> d${Math.max(l.from, l.to)}`;
      byPair.set(k, [...(byPair.get(k) ?? []), l.label]);
    }
    if (byPair.size) lines.push("event channels:");
    for (const [k, labels] of byPair) lines.push(`    ${k}: ${labels.join(", ")}`);
    return lines.join("\n");
  }

  svg(): string {
    const doms = [...this.host.domains.values()];
    const boxW = 150;
    const gap = 40;
    const links = this.links();
    // Room above the boxes for the highest arc (five stacked heights) and the title.
    const top = 40 + Math.ceil(1.5 * (18 + (Math.min(links.length, 5) - 1) * 14));
    const title = `Host topology: ${doms.length} domains, ${links.length} event channels between them`;
    // Wide enough for the title too (12px bold sans: about 7.5px a character), so it is never clipped.
    const width = Math.max(20 + doms.length * (boxW + gap), 40 + Math.ceil(title.length * 7.5));
    const x = new Map<number, number>(doms.map((d, i) => [d.domid, 20 + i * (boxW + gap)]));
    const parts: string[] = [];
    // Links above the boxes, as arcs between domain centres, stacked by label.
    links.forEach((l, i) => {
      const x1 = x.get(l.from)! + boxW / 2;
      const x2 = x.get(l.to)! + boxW / 2;
      if (x1 === x2) return;
      const lift = 18 + (i % 5) * 14;
      const mid = (x1 + x2) / 2;
      parts.push(`<g><title>${escapeXml(`event channel d${l.from} ↔ d${l.to}: ${l.label}`)}</title><path d="M${x1} ${top} C${x1} ${top - lift * 2}, ${x2} ${top - lift * 2}, ${x2} ${top}" fill="none" stroke="currentColor" stroke-opacity="0.55"/><text x="${mid}" y="${top - lift * 1.5 - 3}" text-anchor="middle" font-size="9" fill="currentColor">${escapeXml(l.label)}</text></g>`);
    });
    let height = top;
    for (const d of doms) {
      const bx = x.get(d.domid)!;
      const devs = this.devices.filter((v) => v.domid === d.domid);
      const h = 58 + Math.ceil(d.vcpus.length / 8) * 16 + devs.length * 14;
      height = Math.max(height, top + h + 10);
      parts.push(`<rect x="${bx}" y="${top}" width="${boxW}" height="${h}" rx="6" fill="${domainColour(d.domid)}" fill-opacity="0.18" stroke="${domainColour(d.domid)}"/>`);
      parts.push(`<text x="${bx + 8}" y="${top + 16}" font-size="12" font-weight="bold" fill="currentColor">${escapeXml(`d${d.domid} ${d.name}`)}</text>`);
      parts.push(`<text x="${bx + 8}" y="${top + 31}" font-size="10" fill="currentColor">${escapeXml(`${d.kind}, ${d.config.memory} MiB`)}</text>`);
      d.vcpus.forEach((v, i) => {
        const vx = bx + 8 + (i % 8) * 17;
        const vy = top + 38 + Math.floor(i / 8) * 16;
        const fill = v.runstate === "running" ? "#4caf50" : v.runstate === "runnable" ? "#e0913a" : v.runstate === "blocked" ? "#9aa5b1" : "none";
        parts.push(`<g><title>${escapeXml(`vCPU ${v.id}: ${v.runstate}`)}</title><rect x="${vx}" y="${vy}" width="13" height="12" fill="${fill}" stroke="currentColor" stroke-opacity="0.6"/></g>`);
      });
      devs.forEach((dev, i) => {
        parts.push(`<text x="${bx + 8}" y="${top + 58 + Math.ceil(d.vcpus.length / 8) * 16 + i * 14 - 4}" font-size="10" fill="currentColor">${escapeXml(dev.text.length > 24 ? `${dev.text.slice(0, 23)}…` : dev.text)}</text>`);
      });
    }
    return `${svgOpen({ width: width, height: height, fontFamily: "sans-serif" })}<title>${escapeXml(title)}</title><text x="20" y="16" font-size="12" font-weight="bold" fill="currentColor">${escapeXml(title)}</text>${parts.join("")}</svg>`;
  }

  toMimeBundle(): MimeBundle {
    return { "text/plain": this.text(), "image/svg+xml": this.svg() };
  }
}
