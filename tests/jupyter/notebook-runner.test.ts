/**
 * `xenlab run` executes a notebook in-process (no Jupyter needed) through the same cell runner as
 * the kernel, and writes an nbformat 4 notebook that Debian's nbformat validates.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KERNEL_MAIN } from "../../src/jupyter/client";

const dir = mkdtempSync(join(tmpdir(), "xenlab-run-"));
const code = (source: string, id: string) => ({ id, cell_type: "code", metadata: {}, execution_count: null, outputs: [], source });

function notebook(cells: object[]): string {
  const path = join(dir, `nb-${Math.random().toString(36).slice(2)}.ipynb`);
  writeFileSync(path, JSON.stringify({ nbformat: 4, nbformat_minor: 5, metadata: {}, cells }));
  return path;
}

function run(args: string[]) {
  return spawnSync(process.execPath, [KERNEL_MAIN, "run", ...args], { encoding: "utf8", cwd: dir });
}

describe("xenlab run", () => {
  it("executes every code cell and writes outputs, counts and display updates", () => {
    const input = notebook([
      { id: "m", cell_type: "markdown", metadata: {}, source: "# title" },
      code("const frames = [1, 2, 3];\nconsole.log('sum', frames.reduce((a, b) => a + b))", "c1"),
      code("const h = display('first', { id: 'view' });\nh.update('second');\nframes.length", "c2"),
      code("%%html\n<p>magic</p>", "c3"),
    ]);
    const out = join(dir, "out.ipynb");
    const r = run([input, "-o", out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("ran 3 cells");
    execFileSync("/usr/bin/python3", ["-c", "import nbformat,sys; nbformat.validate(nbformat.read(sys.argv[1], as_version=4))", out]);
    const nb = JSON.parse(readFileSync(out, "utf8"));
    const [, c1, c2, c3] = nb.cells;
    expect(c1.outputs).toEqual([{ output_type: "stream", name: "stdout", text: "sum 6\n" }]);
    expect(c2.outputs[0]).toMatchObject({ output_type: "display_data", data: { "text/plain": "'second'" } });
    expect(c2.outputs[1]).toMatchObject({ output_type: "execute_result", execution_count: 2, data: { "text/plain": "3" } });
    expect(c3.outputs[0].data["text/html"]).toBe("<p>magic</p>");
    expect(nb.metadata.kernelspec.name).toBe("xenlab");
  });

  it("records each cell's start and reply times as nbclient does (metadata.execution)", () => {
    const input = notebook([code("const t0 = Date.now(); while (Date.now() - t0 < 300) {}", "slow"), code("1", "fast")]);
    const out = join(dir, "timed.ipynb");
    const before = Date.now();
    const r = run([input, "-o", out]);
    expect(r.status, r.stderr).toBe(0);
    const [slow, fast] = JSON.parse(readFileSync(out, "utf8")).cells.map(
      (c: { metadata: { execution: Record<string, string> } }) => c.metadata.execution);
    const ms = (e: Record<string, string>) => Date.parse(e["shell.execute_reply"]) - Date.parse(e["iopub.execute_input"]);
    expect(ms(slow)).toBeGreaterThanOrEqual(300);
    expect(Date.parse(slow["iopub.execute_input"])).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(fast["iopub.execute_input"])).toBeGreaterThanOrEqual(Date.parse(slow["shell.execute_reply"]));
  });

  it("stops at the first error, records it in the notebook, and exits non-zero", () => {
    const input = notebook([code("throw new Error('guest crashed')", "e1"), code("'not reached'", "e2")]);
    const out = join(dir, "err.ipynb");
    const r = run([input, "-o", out]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("cell 1 failed: Error: guest crashed");
    const nb = JSON.parse(readFileSync(out, "utf8"));
    expect(nb.cells[0].outputs[0]).toMatchObject({ output_type: "error", ename: "Error", evalue: "guest crashed" });
    expect(nb.cells[1].outputs).toEqual([]);
  });

  it("lets a cell tagged raises-exception fail (nbclient's convention) and runs on", () => {
    const input = notebook([{ ...code("%nosuchmagic", "t1"), metadata: { tags: ["raises-exception"] } }, code("'after the lesson'", "t2")]);
    const out = join(dir, "tagged.ipynb");
    const r = run([input, "-o", out]);
    expect(r.status, r.stderr).toBe(0);
    const nb = JSON.parse(readFileSync(out, "utf8"));
    expect(nb.cells[0].outputs[0].ename).toBe("UsageError");
    expect(nb.cells[1].outputs[0].data["text/plain"]).toBe("'after the lesson'");
  });

  it("runs on past errors with --allow-errors", () => {
    const input = notebook([code("%nosuchmagic", "e1"), code("'reached'", "e2")]);
    const out = join(dir, "allow.ipynb");
    const r = run([input, "-o", out, "--allow-errors"]);
    expect(r.status).toBe(1);
    const nb = JSON.parse(readFileSync(out, "utf8"));
    expect(nb.cells[0].outputs[0].ename).toBe("UsageError");
    expect(nb.cells[1].outputs[0].data["text/plain"]).toBe("'reached'");
  });

  it("rejects a file that is not a notebook with a clear message", () => {
    const bad = join(dir, "bad.ipynb");
    writeFileSync(bad, "{ not json");
    const r = run([bad]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/bad\.ipynb: not a JSON notebook/);
  });
});
