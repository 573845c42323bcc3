/**
 * `npm run bench [-- [--runs N] [--markdown] NAME...]`: runs every figure from `bench/*.bench.ts` (or those
 * named) N times (default 3), prints a table of medians and spreads with the load average, and as
 * the last line one JSON object mapping each figure's name to
 * `{value, unit, anchor, anchor_value, ratio, spread, runs}`. `--markdown` also prints the README's
 * Benchmarks table before that line.
 */
import "../src/render/register"; // views drawn by the render figures
import { readdirSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { Figure, FigureResult, FigureRow, formatMarkdown, formatTable, rowFrom } from "./harness";

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let runs = 3;
  const r = args.indexOf("--runs");
  if (r >= 0) {
    runs = Number(args[r + 1]);
    if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs wants a positive integer, got ${args[r + 1]}`);
    args.splice(r, 2);
  }
  const m = args.indexOf("--markdown");
  const markdown = m >= 0;
  if (markdown) args.splice(m, 1);
  const wanted = args;
  const figures: Figure[] = [];
  for (const file of readdirSync(__dirname).sort()) {
    if (!file.endsWith(".bench.js")) continue;
    const mod = (await import(join(__dirname, file))) as { figures?: Figure[] };
    figures.push(...(mod.figures ?? []));
  }
  const selected = wanted.length
    ? figures.filter((f) => wanted.some((w) => f.name === w || f.name.startsWith(`${w}.`)))
    : figures;
  if (wanted.length && selected.length === 0) {
    const names = figures.map((f) => f.name).join(", ");
    throw new Error(`no figure matches ${wanted.join(" ")}; known figures: ${names}`);
  }
  const load = () => loadavg().map((l) => l.toFixed(2)).join(" ");
  const loadBefore = load();
  const rows: FigureRow[] = [];
  // A figure that throws is reported by name at the end and makes the exit status 1, but the
  // others still run and print: one broken figure must not throw away half an hour of the rest.
  const failed: { name: string; error: string }[] = [];
  for (const figure of selected) {
    const results: FigureResult[] = [];
    try {
      for (let k = 0; k < runs; k++) {
        process.stderr.write(`bench: ${figure.name} (run ${k + 1}/${runs}) ...\n`);
        const res = await figure.run();
        results.push(res);
        if (res.samples) break; // it sampled itself
      }
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      process.stderr.write(`bench: ${figure.name} failed: ${err instanceof Error ? err.stack ?? error : error}\n`);
      failed.push({ name: figure.name, error: error.split("\n")[0]! });
      continue;
    }
    const last = results[results.length - 1]!;
    const values = last.samples ?? results.map((x) => x.value);
    const anchors = last.anchor_samples ?? results.map((x) => x.anchor_value);
    rows.push(rowFrom(figure.name, last, values, anchors));
  }
  console.log(`load average (1/5/15 min) at start: ${loadBefore}; at end: ${load()}; ${runs} run(s) per figure`);
  console.log(formatTable(rows));
  for (const row of rows) if (row.detail) console.log(`\n${row.detail}`);
  if (markdown) console.log(`\n${formatMarkdown(rows)}\n`);
  const json: Record<string, Pick<FigureRow, "value" | "unit" | "anchor" | "anchor_value" | "ratio" | "spread" | "runs">> = {};
  for (const { name, value, unit, anchor, anchor_value, ratio, spread, runs: n } of rows) {
    json[name] = { value, unit, anchor, anchor_value, ratio, spread, runs: n };
  }
  for (const f of failed) console.log(`FAILED ${f.name}: ${f.error}`);
  console.log(JSON.stringify(json));
  if (failed.length) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack ?? err.message : err);
  process.exit(1);
});
