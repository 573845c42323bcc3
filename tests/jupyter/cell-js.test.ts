/** The rewrites applied to a cell's compiled JavaScript before it runs. */
import { describe, expect, it } from "vitest";
import { rewriteCellJs } from "../../src/jupyter/cell-js";

describe("rewriteCellJs", () => {
  it("reads shorthand properties of earlier cells' names from exports (tslab misses them)", () => {
    const out = rewriteCellJs("exports.v = make({ mode: 'long64', cr3 });", new Set(["cr3"]));
    expect(out).toContain("cr3: exports.cr3");
  });

  it("leaves shorthand alone when the cell binds the name itself, or it is not an earlier name", () => {
    expect(rewriteCellJs("const cr3 = 1; f({ cr3 });", new Set(["cr3"]))).not.toContain("exports.cr3");
    expect(rewriteCellJs("function g(cr3) { return { cr3 } }", new Set(["cr3"]))).not.toContain("exports.cr3");
    expect(rewriteCellJs("const { cr3 } = t; f({ cr3 });", new Set(["cr3"]))).not.toContain("exports.cr3");
    expect(rewriteCellJs("f({ other });", new Set(["cr3"]))).not.toContain("exports");
  });

  it("puts an interrupt tick at the top of every loop body", () => {
    const out = rewriteCellJs("while (x) y(); for (const a of b) { c(a) } do { d() } while (e);", new Set());
    expect(out.match(/__xenlab_tick__\(\)/g)).toHaveLength(3);
  });
});
