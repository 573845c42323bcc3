/**
 * %xl / %%xl create and %run: the xl toolstack and virtual time over the notebook's Xen host.
 * Thin: arguments → src/xen (runXl, host.run) → a value that draws itself.
 */
import { Magic, MagicContext, UsageError, splitArgs } from "./magic";
import { currentHost, runXl, XL_COMMANDS, XlOutput, attachConsole } from "../xen";
import type { XenHost, RunResult } from "../xen";
import { MimeBundle, escapeXml } from "../render/mime";
import { runShowingProgress } from "./run-progress";
import { xlTop } from "../xen/xl/format";

let displays = 0;

function consoleBundle(title: string, text: string): MimeBundle {
  return { "text/plain": text, "text/html": `<div style="font-family:monospace"><b>${escapeXml(title)}</b><pre style="background:#111;color:#ddd;padding:6px;margin:2px 0">${escapeXml(text)}</pre></div>` };
}

/** `xl console` and `xl create -c` with a live display updated as output arrives. */
function liveConsole(host: XenHost, name: string, ctx: MagicContext, quietNs: number | undefined): XlOutput {
  const id = `xl-console-${++displays}`;
  const d = host.domain(name);
  let text = "";
  let lastUpdate = 0;
  ctx.out.display(consoleBundle(`console of ${d.name} (d${d.domid})`, ""), { id });
  const r = attachConsole(host, d, {
    quietNs,
    onConsole: (t) => {
      text += t;
      if (Date.now() - lastUpdate > 100) { lastUpdate = Date.now(); ctx.out.updateDisplay(id, consoleBundle(`console of ${d.name} (d${d.domid})`, text)); }
    },
  });
  const status = r.reason === "exited" ? "domain shut down" : r.reason === "quiet" ? "console quiet" : r.reason === "idle" ? "all vCPUs idle" : "instruction budget spent";
  ctx.out.updateDisplay(id, consoleBundle(`console of ${d.name} (d${d.domid}) — ${status} at t=${(host.now / 1e6).toFixed(3)} ms`, text));
  return new XlOutput("", "", 0, d);
}

function xlResult(out: XlOutput, ctx: MagicContext): unknown {
  if (out.stderr) ctx.out.stream("stderr", out.stderr);
  if (out.exitCode !== 0) throw new UsageError(`xl exited with status ${out.exitCode}: ${out.stderr.trim().split("\n")[0]}`);
  if (!out.stdout && !out.bundle) return undefined;
  return out;
}

export const xlMagic: Magic = {
  name: "xl",
  kind: "both",
  summary: "The Xen toolstack: %xl list, %xl info, %%xl create, %xl console NAME ...",
  help: [
    "%xl SUBCOMMAND [ARGS]     (line)",
    "%%xl create [-p] [-c]     (cell: the body is the domain's xl.cfg)",
    "",
    "Subcommands (as tools/xl): " + Object.keys(XL_COMMANDS).join(", "),
    "",
    "Examples:",
    "  %xl list",
    "  %%xl create -c",
    '  name = "demo"; type = "pvh"; kernel = "guest.elf"; memory = 32',
    "  %xl console demo",
    "  %xl console demo --input 'help\\n'   (types into the console ring first; a XenLab extension;",
    "                                        escapes \\n \\r \\t \\xHH, e.g. \\x03 for Ctrl-C)",
    "  %xl sched-credit -d demo -w 512",
  ].join("\n"),
  run(args, body, ctx) {
    const host = currentHost();
    const argv = splitArgs(args);
    if (body !== undefined) {
      if (argv[0] !== "create") throw new UsageError("%%xl takes only `create` (the cell body is the config): %%xl create [-p] [-c]");
      const attach = argv.includes("-c");
      const out = runXl(host, argv.filter((a) => a !== "-c"), { config: body });
      if (out.stdout) ctx.out.stream("stdout", out.stdout);
      if (attach && out.exitCode === 0 && out.domain) return xlResult(liveConsole(host, out.domain.name, ctx, undefined), ctx);
      return xlResult(new XlOutput("", out.stderr, out.exitCode, out.domain, out.domain?.toMimeBundle()), ctx);
    }
    if (argv[0] === "console") {
      if (!argv[1]) throw new UsageError("usage: %xl console DOMAIN [--input TEXT]");
      // XenLab extension: type TEXT (with \n, \r, \t, \xHH escapes: \x03 is Ctrl-C) into the console's input ring first.
      const d = host.findDomain(argv[1]);
      if (!d) throw new UsageError(`xl exited with status 1: invalid domain identifier: ${argv[1]}`);
      const at = argv.indexOf("--input");
      if (at > 0) {
        const text = argv[at + 1];
        if (text === undefined) throw new UsageError("--input needs the text to type");
        host.consoleInput(d, text.replace(/\\(x[0-9a-fA-F]{2}|[nrt\\])/g, (_m, c: string) =>
          c.length === 3 ? String.fromCharCode(parseInt(c.slice(1), 16)) : c === "n" ? "\n" : c === "r" ? "\r" : c === "t" ? "\t" : "\\"));
      }
      return xlResult(liveConsole(host, d.name, ctx, undefined), ctx);
    }
    if (argv[0] === "top") return runTop(host, argv.slice(1), ctx);
    return xlResult(runXl(host, argv), ctx);
  },
  complete(before) {
    const words = before.split(/\s+/);
    if (words.length <= 1) return Object.keys(XL_COMMANDS).filter((c) => c.startsWith(words[0] ?? ""));
    const host = currentHost();
    const last = words[words.length - 1]!;
    return [...host.domains.values()].map((d) => d.name).filter((n) => n.startsWith(last));
  },
};

/** `xl top`: a live table refreshed while virtual time runs (default 1 s in 10 frames). */
function runTop(host: XenHost, argv: string[], ctx: MagicContext): unknown {
  const iters = Number(argv[argv.indexOf("-i") + 1] ?? 10) || 10;
  const delayNs = 100_000_000;
  const id = `xl-top-${++displays}`;
  ctx.out.display({ "text/plain": xlTop(host, undefined, 0) }, { id });
  for (let i = 0; i < iters; i++) {
    const prev = new Map([...host.domains.values()].map((d) => [d.domid, d.cpuTime()]));
    host.run({ ns: delayNs });
    ctx.out.updateDisplay(id, { "text/plain": `xentop - t=${(host.now / 1e9).toFixed(2)}s virtual\n` + xlTop(host, prev, delayNs) });
  }
  return undefined;
}

/** Durations: 10ms, 1.5s, 200us, 500ns, or a bare number of ns. */
export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s)?$/.exec(s);
  if (!m) throw new UsageError(`bad duration ${JSON.stringify(s)}: use e.g. 10ms, 2s, 500us`);
  const n = Number(m[1]);
  const unit = m[2] ?? "ns";
  return n * (unit === "s" ? 1e9 : unit === "ms" ? 1e6 : unit === "ns" ? 1 : 1e3);
}

class RunSummary {
  constructor(readonly host: XenHost, readonly r: RunResult) {}
  toMimeBundle(): MimeBundle {
    const { r, host } = this;
    const text = `ran ${((r.endNs - r.startNs) / 1e6).toFixed(3)} ms of virtual time (t=${(r.endNs / 1e6).toFixed(3)} ms), ${r.instructions} instructions; stopped: ${r.stoppedBy}${r.breakpoint ? ` at ${r.breakpoint.kind} in ${r.breakpoint.domain} vCPU ${r.breakpoint.vcpu} rip 0x${BigInt.asUintN(64, BigInt(r.breakpoint.rip)).toString(16)}` : ""}`;
    const list = host.toMimeBundle();
    return { ...list, "text/plain": text + "\n" + list["text/plain"] };
  }
}

export const runMagic: Magic = {
  name: "run",
  kind: "line",
  summary: "Run the Xen host in virtual time: %run 10ms, %run --until idle, %run 1s --until exit NAME.",
  help: [
    "%run [DURATION] [--until idle | --until exit DOMAIN | --until console DOMAIN TEXT]",
    "",
    "Runs every runnable vCPU under the credit scheduler. Virtual time only moves here (and in",
    "%xl console), so notebooks are deterministic. Without a duration, runs until the condition or",
    "until every vCPU is idle. An interrupt stops the run cleanly between time slices.",
  ].join("\n"),
  run(args, _body, ctx) {
    const host = currentHost();
    const argv = splitArgs(args);
    let ns: number | undefined;
    let until: ((h: XenHost) => boolean) | undefined;
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i]!;
      if (a === "--until") {
        const what = argv[++i];
        if (what === "idle") continue;
        if (what === "exit") {
          const d = host.domain(argv[++i] ?? "");
          until = (h) => !h.domains.has(d.domid) || d.isShutdown;
        } else if (what === "console") {
          const d = host.domain(argv[++i] ?? "");
          const text = argv[++i];
          if (!text) throw new UsageError("--until console DOMAIN TEXT needs the text to wait for");
          until = () => d.consoleLog.includes(text);
        } else throw new UsageError(`--until takes idle, exit DOMAIN or console DOMAIN TEXT, not ${what}`);
      } else if (ns === undefined) ns = parseDuration(a);
      else throw new UsageError(`unexpected argument ${a}`);
    }
    return new RunSummary(host, runShowingProgress(host, { ns, until }, ctx.out));
  },
};

