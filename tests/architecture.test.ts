/**
 * The module graph under src/ (read with TypeScript's own parser, type-only imports included):
 * no import cycles, and no model file imports src/render (views depend on models, never the
 * other way round: docs/DESIGN.md "Views").
 */
import { describe, expect, it } from "vitest";
import { resolve } from "node:path";
import { cycles, importGraph } from "./support/import-cycles";

const ROOT = resolve(__dirname, "..");
const graph = importGraph(ROOT);


describe("architecture", () => {
  it("finds the graph it checks (a cycle planted in a copy is found)", () => {
    expect(graph.get("src/xen/host.ts")).toContain("src/xen/domain.ts");
    const planted = new Map(graph);
    planted.set("src/machine/types.ts", [...(graph.get("src/machine/types.ts") ?? []), "src/xen/host.ts"]);
    expect(cycles(planted).length).toBeGreaterThan(0);
  });

  it("has no import cycles between areas (xen, hyperv, render, machine, platform, vhd, fs, jupyter, magics)", () => {
    const area = (f: string) => f.split("/").slice(0, 2).join("/").replace(/\.ts$/, "");
    const areas = new Map<string, string[]>();
    for (const [f, deps] of graph) {
      const a = area(f);
      const out = areas.get(a) ?? [];
      for (const d of deps) if (area(d) !== a && !out.includes(area(d))) out.push(area(d));
      areas.set(a, out);
    }
    expect(cycles(areas).map((c) => c.join(" <-> "))).toEqual([]);
  });

  it("file cycles exist only inside the known host-and-its-parts knots, which may shrink but not grow", () => {
    // Each hypervisor's host and the parts it wires still name each other by type (domain.ts and
    // the hypercall context name XenHost; partition.ts names HypervHost); the machine's knot is
    // Vcpu and its helpers (issue 13 rebuilds the CPU). A new cycle, or a file joining a knot,
    // fails here.
    const known = [
      // The CPU is being rebuilt by issue 13 (state as data, emitters by family): its knots are
      // tracked there, so any cycle confined to src/machine/*.ts is left to it.
      // pv/builder.ts builds a Domain as builder.ts does (the PV layout), so it sits where builder.ts sits.
      /^src\/machine\/[a-z-]+\.ts$/,
      /^src\/xen\/(blkback\/(blkback|grant-access|vbd)|builder|pv\/builder|domain|event-delivery|exit-dispatch|host|toolstack|domain-control|vcpu-timers|xenstored|xenconsoled|hypercalls\/[a-z-]+|queries|sched-credit|viridian|xen-vcpu)\.ts$/,
      /^src\/hyperv\/(host|hypercalls|partition|registers|vmbus|vp-scheduler|xen-adapter)\.ts$/,
    ];
    const unexpected = cycles(graph).filter((c) => !known.some((k) => c.every((f) => k.test(f))));
    expect(unexpected.map((c) => c.join(" -> "))).toEqual([]);
  });

  it("no model file imports src/render (views register with the MIME layer instead)", () => {
    const models = ["src/xen/", "src/hyperv/", "src/machine/", "src/vhd/", "src/fs/", "src/platform/"];
    const bad = [...graph].filter(([f]) => models.some((m) => f.startsWith(m))).flatMap(([f, deps]) => deps.filter((d) => d.startsWith("src/render/")).map((d) => `${f} -> ${d}`));
    expect(bad).toEqual([]);
  });
});
