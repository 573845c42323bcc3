/**
 * What the pictures say (issue 17's review of the views): read from the SVG's text and geometry,
 * not only "it parses".
 */
import { describe, expect, it } from "vitest";
import { domId, gfn } from "../../src/machine/types";
import { XenHost } from "../../src/xen/host";
import { TopologyView } from "../../src/render/xen-topology";

const svgOf = (b: Record<string, string>) => b["image/svg+xml"]!;
const texts = (svg: string) => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!.replace(/&gt;/g, ">").replace(/&lt;/g, "<").replace(/&amp;/g, "&"));

describe("views name what they show", () => {
  it("the event-channel view of one domain names each port's remote end, even when that domain is not drawn", () => {
    const host = new XenHost({ pcpus: 1, memoryMiB: 128 });
    const d = host.createLabDomain("frontend", Uint8Array.from([0xf4]), { paused: true });
    const offered = d.evtchn.alloc("unbound", { remoteDom: domId(0), label: "demo" })!.port;
    const back = host.bindService(d, offered, "demo backend", () => {});
    const spare = d.evtchn.alloc("unbound", { remoteDom: domId(0), label: "spare" })!.port;
    const t = texts(svgOf(host.eventChannels(d.domid).toMimeBundle() as Record<string, string>));
    expect(t).toContain(`${offered} interdomain → d0:${back} demo`);
    expect(t).toContain(`${spare} unbound for d0 spare`);
  });

  it("the topology title fits its picture", () => {
    const host = new XenHost({ pcpus: 1, memoryMiB: 128 });
    const svg = new TopologyView(host).svg();
    const title = texts(svg).find((s) => s.startsWith("Host topology"))!;
    expect(title).toBe("Host topology: 1 domains, 0 event channels between them");
    const width = Number(/<svg[^>]* width="(\d+)"/.exec(svg)![1]);
    expect(width).toBeGreaterThanOrEqual(20 + title.length * 7.5);
  });

  it("a page walk names the machine frame in hex", () => {
    const host = new XenHost({ pcpus: 1, memoryMiB: 128 });
    const d = host.createLabDomain("walker", Uint8Array.from([0xf4]), { paused: true });
    const mfn = host.machine.p2m(d.domid).lookup(gfn(0x100))!.mfn;
    const b = d.vcpus[0]!.cpu!.pageWalk(0x100000).toMimeBundle() as Record<string, string>;
    expect(b["text/plain"]).toContain(`machine frame 0x${mfn.toString(16)} `);
    expect(texts(svgOf(b)).join("\n")).toContain(`→ mfn 0x${mfn.toString(16)}`);
  });
});
