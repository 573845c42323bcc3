/** Kernel-level magics: %lsmagic, %time/%%time, %who, and raw display cells (%%html, %%svg, %%markdown). */
import { Magic, MagicContext, UsageError } from "./magic";
import type { MagicRegistry } from "./registry";

export function coreMagics(registry: MagicRegistry): Magic[] {
  return [lsmagic(registry), time, who, rawDisplay("html", "text/html"), rawDisplay("svg", "image/svg+xml"), rawDisplay("markdown", "text/markdown")];
}

function lsmagic(registry: MagicRegistry): Magic {
  return {
    name: "lsmagic",
    kind: "line",
    summary: "List every magic with a one-line summary.",
    help: "%lsmagic\n\nLists the line magics (%name) and cell magics (%%name). `%name?` shows one magic's help.",
    run(args) {
      if (args) throw new UsageError("%lsmagic takes no arguments");
      const section = (title: string, sigil: string, list: Magic[]) =>
        [`${title}:`, ...list.map((m) => `  ${(sigil + m.name).padEnd(16)} ${m.summary}`)].join("\n");
      return new TextResult(
        [section("Line magics", "%", registry.lineMagics()), section("Cell magics", "%%", registry.cellMagics()), "", "Type %name? for help on one magic."].join("\n"),
      );
    },
  };
}

const time: Magic = {
  name: "time",
  kind: "both",
  summary: "Time a line or a cell (wall clock and CPU).",
  help: "%time CODE\n%%time\nCELL\n\nRuns the code (TypeScript or a magic), prints wall and CPU time, and returns its value.\n\nExample:\n  %time %lsmagic",
  async run(args, body, ctx: MagicContext) {
    const code = body ?? args;
    if (!code.trim()) throw new UsageError("%time needs code to time: %time CODE, or %%time with a cell body");
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    try {
      return await ctx.runCell(code);
    } finally {
      const wall = Number(process.hrtime.bigint() - t0) / 1e6;
      const cpu = process.cpuUsage(cpu0);
      ctx.out.stream("stdout", `CPU times: user ${fmtMs(cpu.user / 1000)}, sys ${fmtMs(cpu.system / 1000)}\nWall time: ${fmtMs(wall)}\n`);
    }
  },
};

const who: Magic = {
  name: "who",
  kind: "line",
  summary: "List the variables your cells have defined.",
  help: "%who\n\nLists the names cells have declared (library names in scope are not listed).",
  run(args, _body, ctx) {
    if (args) throw new UsageError("%who takes no arguments");
    const names = Object.keys(ctx.scope).filter((n) => !ctx.libraryNames.has(n)).sort();
    return new TextResult(names.length ? names.join("  ") : "Interactive namespace is empty.");
  },
};

function rawDisplay(name: string, mime: string): Magic {
  return {
    name,
    kind: "cell",
    summary: `Display the cell body as ${mime}.`,
    help: `%%${name}\nBODY\n\nDisplays BODY as ${mime} (with the source as the text/plain fallback).`,
    run(args, body, ctx) {
      if (args) throw new UsageError(`%%${name} takes no arguments`);
      ctx.out.display({ "text/plain": body ?? "", [mime]: body ?? "" });
      return undefined;
    },
  };
}

/** A magic's textual result: shown as the cell's value without quotes. */
export class TextResult {
  constructor(readonly text: string) {}
  toMimeBundle() {
    return { "text/plain": this.text };
  }
}

function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms >= 10 ? 0 : 2)} ms`;
}
