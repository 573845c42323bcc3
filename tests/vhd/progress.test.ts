/**
 * -p on every verb that reads or rewrites a whole image (check, check -r all, compact, coalesce,
 * resize that rewrites, rebase, convert, compare): qemu-img's progress lines on stdout, starting
 * at 0.00, never going back, ending at 100.00 and a newline before the verb's own output. The
 * lines have the shape qemu-img convert -p prints in the same test, and -p changes nothing else:
 * each verb is also run without -p on a copy, and qemu-img compare (or the check text) must find
 * the two results identical.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyFileSync, truncateSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildVhdLib, pattern, runStatus, tempDir, vhdCli } from "./helpers";

const t = tempDir("progress");
afterAll(t.cleanup);
const f = (name: string) => join(t.dir, name);
const MiB = 1024 * 1024;
/** 24 blocks of 2 MiB: enough steps for the percentage to move many times. */
const SIZE = 48 * MiB;
let xenlab: ReturnType<typeof vhdCli>;

beforeAll(() => {
  buildVhdLib(join(t.dir, "lib"));
  xenlab = vhdCli(join(t.dir, "lib"), t.dir);
  // every other MiB written: every block allocated, half of it data
  const raw = Buffer.alloc(SIZE);
  for (let m = 0; m < SIZE / MiB; m += 2) pattern(m + 1, MiB).copy(raw, m * MiB);
  writeFileSync(f("in.raw"), raw);
  expect(xenlab(["convert", "-O", "dynamic", "in.raw", "base.vhd"]).status).toBe(0);
  expect(xenlab(["snapshot", "base.vhd", "child.vhd"]).status).toBe(0);
  // the child overwrites one sector in every block
  for (let b = 0; b < SIZE / (2 * MiB); b++) expect(xenlab(["write", "child.vhd", String(b * 2 * MiB + MiB + 512)], pattern(100 + b, 512)).status).toBe(0);
});

/** The progress prefix of stdout: its percentages, and what follows it. */
function progressOf(stdout: string): { steps: number[]; rest: string } {
  const m = /^((?: {4}\(\d+\.\d\d\/100%\)\r)+)\n/.exec(stdout);
  expect(m, `no progress lines in ${JSON.stringify(stdout.slice(0, 200))}`).not.toBeNull();
  const steps = [...m![1]!.matchAll(/\((\d+\.\d\d)\/100%\)/g)].map((x) => Number(x[1]));
  return { steps, rest: stdout.slice(m![0].length) };
}

function expectProgress(stdout: string, minSteps: number): string {
  const { steps, rest } = progressOf(stdout);
  expect(steps[0]).toBe(0);
  expect(steps[steps.length - 1]).toBe(100);
  for (let i = 1; i < steps.length; i++) expect(steps[i]).toBeGreaterThanOrEqual(steps[i - 1]!);
  expect(new Set(steps).size).toBeGreaterThanOrEqual(minSteps);
  return rest;
}

/** Copies `files` to a -p set and a plain set; returns the name of a copy. */
function twin(files: string[], tag: string): (name: string) => string {
  for (const n of files) copyFileSync(f(n), f(`${tag}-${n}`));
  return (name) => `${tag}-${name}`;
}

const identical = (a: string, b: string) => runStatus("qemu-img", ["compare", "-f", "vpc", "-F", "vpc", f(a), f(b)]).stdout;

describe("-p prints qemu-img's progress and changes nothing else", () => {
  it("qemu-img convert -p's lines have the shape we check", () => {
    const q = runStatus("qemu-img", ["convert", "-p", "-f", "raw", "-O", "vpc", f("in.raw"), f("q.vhd")]);
    expect(q.status).toBe(0);
    expect(expectProgress(q.stdout, 3)).toBe("");
  });

  it("check -p (a clean image: every block's bitmap read)", () => {
    const r = xenlab(["check", "-p", "base.vhd"]);
    expect(r.status).toBe(0);
    expect(expectProgress(r.stdout, 10)).toBe(xenlab(["check", "base.vhd"]).stdout);
  });

  it("check -r all -p repairs a crash-mid-extend image as check -r all does", () => {
    // the file cut 1 MiB into its last block's data: that block's tail and the footer are gone
    const p = twin(["base.vhd"], "cut");
    const q = twin(["base.vhd"], "cut2");
    for (const n of [p("base.vhd"), q("base.vhd")]) truncateSync(f(n), statSync(f("base.vhd")).size - 512 - MiB);
    const withP = xenlab(["check", "-r", "all", "-p", p("base.vhd")]);
    const without = xenlab(["check", "-r", "all", q("base.vhd")]);
    expect(withP.status).toBe(without.status);
    expect(expectProgress(withP.stdout, 10)).toBe(without.stdout.replaceAll(q("base.vhd"), p("base.vhd")));
    expect(without.stdout).toContain("Repaired:");
    expect(identical(p("base.vhd"), q("base.vhd"))).toBe("Images are identical.\n");
  });

  it("compact -p", () => {
    const p = twin(["base.vhd"], "cp");
    const q = twin(["base.vhd"], "cq");
    expect(expectProgress(xenlab(["compact", "-p", p("base.vhd")]).stdout, 10)).toMatch(/bytes, \d+ -> \d+ blocks/);
    expect(xenlab(["compact", q("base.vhd")]).status).toBe(0);
    expect(identical(p("base.vhd"), q("base.vhd"))).toBe("Images are identical.\n");
    expect(runStatus("qemu-img", ["compare", "-f", "vpc", "-F", "raw", f(p("base.vhd")), f("in.raw")]).stdout).toBe("Images are identical.\n");
  });

  it("resize -p, when the BAT must grow past its padding and the file is rewritten", () => {
    const p = twin(["base.vhd"], "rp");
    const q = twin(["base.vhd"], "rq");
    expect(expectProgress(xenlab(["resize", "-p", p("base.vhd"), "2G"]).stdout, 10)).toMatch(/\(rewritten\)/);
    expect(xenlab(["resize", q("base.vhd"), "2G"]).status).toBe(0);
    expect(identical(p("base.vhd"), q("base.vhd"))).toBe("Images are identical.\n");
  });

  it("coalesce -p", () => {
    const p = twin(["base.vhd", "child.vhd"], "mp");
    const q = twin(["base.vhd", "child.vhd"], "mq");
    expect(xenlab(["rebase", p("child.vhd"), p("base.vhd")]).status).toBe(0);
    expect(xenlab(["rebase", q("child.vhd"), q("base.vhd")]).status).toBe(0);
    expect(expectProgress(xenlab(["coalesce", "-p", p("child.vhd")]).stdout, 10)).toMatch(/^coalesced /);
    expect(xenlab(["coalesce", q("child.vhd")]).status).toBe(0);
    expect(identical(p("base.vhd"), q("base.vhd"))).toBe("Images are identical.\n");
  });

  it("rebase -p", () => {
    const p = twin(["base.vhd", "child.vhd"], "bp");
    const r = xenlab(["rebase", "-p", p("child.vhd"), p("base.vhd")]);
    expect(r.status).toBe(0);
    expect(expectProgress(r.stdout, 10)).toMatch(/now has parent/);
  });

  it("compare -p over two 48 MiB disks", () => {
    expect(expectProgress(xenlab(["compare", "-p", "base.vhd", "in.raw"]).stdout, 10)).toBe("Images are identical.\n");
  });

  it("-p with JSON output is refused rather than mixed into it", () => {
    const r = xenlab(["check", "-p", "--output=json", "base.vhd"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("-p would mix progress into the JSON");
  });
});
