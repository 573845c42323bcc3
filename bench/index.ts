/**
 * `npm run bench [-- NAME...]`: runs every figure from `bench/*.bench.ts` (or those named),
 * prints a table, and as the last line one JSON object mapping each figure's name to
 * `{value, unit, anchor, anchor_value, ratio}`.
 */
import "../src/render/register"; // views drawn by the render figures
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { Figure, FigureRow, formatTable } from "./harness";

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
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
  const rows: FigureRow[] = [];
  for (const figure of selected) {
    process.stderr.write(`bench: ${figure.name} ...\n`);
    const r = await figure.run();
    rows.push({ name: figure.name, ...r, ratio: r.value / r.anchor_value });
  }
  console.log(formatTable(rows));
  const json: Record<string, Omit<FigureRow, "name" | "note">> = {};
  for (const { name, value, unit, anchor, anchor_value, ratio } of rows) {
    json[name] = { value, unit, anchor, anchor_value, ratio };
  }
  console.log(JSON.stringify(json));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack ?? err.message : err);
  process.exit(1);
});
