/**
 * Differential test against the host CPU over every form of diff-forms.ts (harness:
 * differential-run.ts). Results must match exactly, except flags the SDM leaves undefined.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { buildForms } from "./diff-forms";
import { runDifferential } from "./differential-run";
import { buildNativeRunner } from "./helpers";

/** XENLAB_DIFF_CASES / XENLAB_DIFF_SEED widen the run locally (e.g. 500000 cases, another seed). */
const CASES_TARGET = Number(process.env.XENLAB_DIFF_CASES ?? 60_000);
const SEED = Number(process.env.XENLAB_DIFF_SEED ?? 20261124);

let runner = "";
beforeAll(() => {
  runner = buildNativeRunner("runner", "runner.asm", "runner.c");
});

describe("differential test against the host CPU", () => {
  it(`matches the host on ${CASES_TARGET}+ generated cases`, () => {
    const forms = buildForms();
    const r = runDifferential(runner, forms, { perForm: Math.ceil(CASES_TARGET / forms.length), seed: SEED });
    if (r.failing.length) console.log("failing forms:", r.failing.join(" | "));
    expect(r.compared).toBeGreaterThanOrEqual(50_000);
    expect(r.report).toBe("");
    expect(r.failing.length).toBe(0);
  });
});
