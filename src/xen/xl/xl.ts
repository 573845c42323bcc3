/**
 * The `xl` command line over a XenHost: subcommands, options and messages as tools/xl
 * (xl_cmdtable.c) defines them. Returns what xl would print on stdout/stderr and its exit code;
 * the %xl magic and TypeScript cells both call this.
 */
import { domId } from "../../machine";
import { readFileSync, writeFileSync } from "node:fs";
import { LIBXL_MAXMEM_CONSTANT, type Domain } from "../domain";
import { XenError, XlConfigError } from "../errors";
import type { XenHost } from "../host";
import { parseCpuList } from "../xl-config";
import { saveDomain, restoreDomain, readSaveFileHeader } from "../save-restore";
import { migrateDomain } from "../migrate";
import { consoleTerminal } from "./console-terminal";
import { runBlockXl } from "../blkback/blkback";
import { xlInfo, xlList, xlSchedCredit, xlTop, xlUptime, xlVcpuList } from "./format";
import { MimeBundle, escapeXml } from "../../mime";

export class XlOutput {
  constructor(public stdout: string, public stderr: string, public exitCode: number, public domain?: Domain, public bundle?: MimeBundle) {}
  toMimeBundle(): MimeBundle {
    if (this.bundle) return this.bundle;
    const text = this.stdout + this.stderr;
    return { "text/plain": text.replace(/\n$/, "") };
  }
}

export interface XlOptions {
  /** Config text for `create` when no file is given (the %%xl create cell body). */
  config?: string;
  /** Called with console output while `console`/`create -c` runs the host. */
  onConsole?: (text: string) => void;
  /** Console attach: stop after this much virtual time without output (ns). */
  quietNs?: number;
  /** Console attach: instruction budget. */
  maxInstructions?: number;
}

/** xl's command table (xl_cmdtable.c): name → one-line summary. */
export const XL_COMMANDS: Record<string, string> = {
  create: "Create a domain from config file <filename>",
  list: "List information about all/some domains",
  destroy: "Terminate a domain immediately",
  shutdown: "Issue a shutdown signal to a domain",
  reboot: "Issue a reboot signal to a domain",
  pause: "Pause execution of a domain",
  unpause: "Unpause a paused domain",
  console: "Attach to domain's console",
  "vcpu-list": "List the VCPUs for all/some domains",
  "vcpu-pin": "Set which CPUs a VCPU can use",
  "vcpu-set": "Set the number of active VCPUs allowed for the domain",
  "mem-set": "Set the current memory usage for a domain",
  "mem-max": "Set the maximum amount reservation for a domain",
  info: "Get information about Xen host",
  dmesg: "Read and/or clear dmesg buffer",
  uptime: "Print uptime for all/some domains",
  "sched-credit": "Get/set credit scheduler parameters",
  top: "Monitor a host and the domains in real time",
  save: "Save a domain state to restore later",
  restore: "Restore a domain from a saved state",
  migrate: "Migrate a domain to another host",
  domid: "Convert a domain name to domain id",
  domname: "Convert a domain id to domain name",
  "block-attach": "Create a new virtual block device", "block-list": "List virtual block devices for a domain", "block-detach": "Destroy a domain's virtual block device",
  help: "Print this help",
};

/** xl_utils.c parse_mem_size_kb: number with optional t/g/m/k/b suffix; no suffix = MiB. */
export function parseMemKb(s: string): number {
  const m = /^(\d+)([tgmkbTGMKB]?)$/.exec(s);
  if (!m) return -1;
  const n = Number(m[1]);
  switch (m[2]!.toLowerCase()) {
    case "t": return n * 1024 ** 3;
    case "g": return n * 1024 ** 2;
    case "": case "m": return n * 1024;
    case "k": return n;
    case "b": return Math.floor(n / 1024);
  }
  return -1;
}

function usage(cmd: string, text: string): XlOutput {
  return new XlOutput("", `Usage: xl [-v] ${cmd} ${text}\n\n${XL_COMMANDS[cmd] ?? ""}.\n`, 2);
}

export function runXl(host: XenHost, argv: string[], opts: XlOptions = {}): XlOutput {
  const [cmd, ...args] = argv;
  if (!cmd || cmd === "help" || cmd === "-h") {
    const lines = Object.entries(XL_COMMANDS).map(([k, v]) => ` ${k.padEnd(20)}${v}`);
    return new XlOutput(`Usage xl [-vfNtT] <subcommand> [args]\n\nxl full list of subcommands:\n\n${lines.join("\n")}\n`, "", cmd ? 0 : 1);
  }
  const flags = new Set(args.filter((a) => /^-[a-zA-Z]+$/.test(a)).flatMap((a) => [...a.slice(1)]));
  const pos = args.filter((a) => !/^-[a-zA-Z]+$/.test(a));
  const dom = (q: string | undefined): Domain => {
    if (q === undefined) throw new XenError("EINVAL", "a domain is required");
    return host.domain(q);
  };
  try {
    switch (cmd) {
      case "list": {
        if (flags.has("l")) {
          const ds = pos.length ? pos.map(dom) : [...host.domains.values()];
          const json = ds.map((d) => ({ domid: d.domid, config: { c_info: { type: d.kind, name: d.name, uuid: d.uuid }, b_info: { max_vcpus: d.config.maxvcpus, max_memkb: d.config.maxmem * 1024, target_memkb: d.config.memory * 1024, sched_params: { weight: d.config.cpuWeight, cap: d.config.cap }, kernel: d.config.kernel, cmdline: d.config.cmdline }, on_poweroff: d.config.onPoweroff, on_reboot: d.config.onReboot, on_crash: d.config.onCrash }, state: d.stateLetters(), ...(d.crashReason ? { crash_reason: d.crashReason } : {}) }));
          return new XlOutput(JSON.stringify(json, null, 4) + "\n", "", 0);
        }
        const ds = pos.length ? pos.map(dom) : [...host.domains.values()];
        const text = xlList(host, ds, flags.has("v"));
        const out = new XlOutput(text, "", 0);
        if (!pos.length) out.bundle = { ...host.toMimeBundle(), "text/plain": text.replace(/\n$/, "") };
        return out;
      }
      case "vcpu-list": {
        const ds = pos.length ? pos.map(dom) : [...host.domains.values()];
        return new XlOutput(xlVcpuList(host, ds), "", 0);
      }
      case "info": return new XlOutput(xlInfo(host), "", 0);
      case "uptime": return new XlOutput(xlUptime(host, pos.length ? pos.map(dom) : [...host.domains.values()]), "", 0);
      case "dmesg": {
        const text = host.dmesg.join("\n") + "\n";
        if (flags.has("c")) host.clearDmesg();
        return new XlOutput(text, "", 0);
      }
      case "domid": return new XlOutput(`${dom(pos[0]).domid}\n`, "", 0);
      case "domname": {
        const d = /^\d{1,5}$/.test(pos[0] ?? "") ? host.domains.get(domId(Number(pos[0]))) : undefined;
        if (!d) return new XlOutput("", `Can't get domain name of domain id '${pos[0]}', maybe this domain does not exist.\n`, 1);
        return new XlOutput(`${d.name}\n`, "", 0);
      }
      case "create": {
        let text = opts.config;
        let file = pos.find((p) => !p.includes("="));
        const overrides = pos.filter((p) => p.includes("="));
        if (file) text = readFileSync(file, "utf8");
        if (text === undefined) return usage("create", "<ConfigFile> [options] [vars]");
        if (overrides.length) text += "\n" + overrides.join("\n");
        file ??= "<cell>";
        const d = host.createDomain(text, { paused: flags.has("p") });
        const warnings = d.config.warnings.map((w) => w + "\n").join("");
        let out = `Parsing config from ${file}\n`;
        if (flags.has("c")) {
          const c = attachConsole(host, d, opts);
          out += c.text;
          return new XlOutput(out, warnings, 0, d);
        }
        return new XlOutput(out, warnings, 0, d);
      }
      case "console": {
        const d = dom(pos[0]);
        const c = attachConsole(host, d, opts);
        return new XlOutput(c.text, "", 0, d);
      }
      case "destroy": host.destroyDomain(dom(pos[0])); return new XlOutput("", "", 0);
      case "pause": host.pause(dom(pos[0])); return new XlOutput("", "", 0);
      case "unpause": host.unpause(dom(pos[0])); return new XlOutput("", "", 0);
      case "shutdown":
      case "reboot": {
        const d = dom(pos[0]);
        host.requestShutdown(d, cmd === "reboot" ? "reboot" : "poweroff");
        let out = `${cmd === "reboot" ? "Rebooting" : "Shutting down"} domain ${d.domid}\n`;
        if (flags.has("w")) {
          host.run({ until: () => !host.domains.has(d.domid) || d.isShutdown, maxInstructions: opts.maxInstructions ?? 2e8 });
          out += `Waiting for 1 domains\nDomain ${d.domid} has been shut down, reason code ${d.shutdownCode}\nAll domains have been shut down\n`;
        }
        return new XlOutput(out, "", 0);
      }
      case "vcpu-pin": {
        if (pos.length < 3) return usage("vcpu-pin", "[option] <Domain> <VCPU|all> <Hard affinity|-|all> <Soft affinity|-|all>");
        const d = dom(pos[0]);
        const hard = pos[2] === "-" ? undefined : parseCpuList(pos[2]!, "cpus", 0, host.pcpus.length);
        const vcpus = pos[1] === "all" ? d.vcpus : [d.vcpus[Number(pos[1])]];
        if (vcpus.some((v) => !v)) return new XlOutput("", `Error: Invalid argument ${pos[1]} as VCPU.\n`, 1);
        for (const v of vcpus) {
          v!.affinity = hard;
          if (host.pcpus[v!.pcpu] && !v!.allowedOn(v!.pcpu)) {
            // Off its now-forbidden pCPU: requeue it where it may run.
            host.sched.remove(v!);
            if (v!.runstate === "running") v!.setRunstate("runnable", host.now);
            v!.pcpu = hard ? hard[0]! : 0;
            if (v!.runstate === "runnable" && !d.paused) host.sched.requeue(v!);
          }
        }
        return new XlOutput("", "", 0);
      }
      case "vcpu-set": {
        const d = dom(pos[0]);
        const n = Number(pos[1]);
        if (!Number.isInteger(n) || n < 1) return new XlOutput("", "Error: Invalid argument.\n", 1);
        if (n > d.vcpus.length) return new XlOutput("", `libxl_set_vcpuonline failed domid=${d.domid} max_vcpus=${n}, rc: -3\n`, 1);
        for (let i = 0; i < d.vcpus.length; i++) host.xenstore.write(`/local/domain/${d.domid}/cpu/${i}/availability`, i < n ? "online" : "offline");
        return new XlOutput("", "", 0);
      }
      case "mem-set":
      case "mem-max": {
        const d = dom(pos[0]);
        const kb = parseMemKb(pos[1] ?? "");
        if (kb < 0) return new XlOutput("", `invalid memory size: ${pos[1]}\n`, 1);
        if (cmd === "mem-max") d.maxPages = Math.floor((kb + LIBXL_MAXMEM_CONSTANT) / 4);
        else {
          if (kb + LIBXL_MAXMEM_CONSTANT > d.maxPages * 4) return new XlOutput("", `libxl_set_memory_target failed: target ${kb} kB is above maxmem\n`, 1);
          d.targetPages = Math.floor(kb / 4);
          host.xenstore.write(`/local/domain/${d.domid}/memory/target`, String(kb));
        }
        return new XlOutput("", "", 0);
      }
      case "sched-credit": {
        let target: Domain | undefined;
        let weight: number | undefined, cap: number | undefined;
        for (let i = 0; i < args.length; i++) {
          const a = args[i]!;
          if (a === "-d" || a === "--domain") target = dom(args[++i]);
          else if (a === "-w" || a === "--weight") weight = Number(args[++i]);
          else if (a === "-c" || a === "--cap") cap = Number(args[++i]);
        }
        if (weight !== undefined || cap !== undefined) {
          if (!target) return new XlOutput("", "Must specify a domain.\n", 1);
          if (weight !== undefined && !(Number.isInteger(weight) && weight >= 1 && weight <= 65535)) return new XlOutput("", "Invalid weight (1..65535).\n", 1);
          if (cap !== undefined && !(Number.isInteger(cap) && cap >= 0)) return new XlOutput("", "Invalid cap.\n", 1);
          if (weight !== undefined) target.config.cpuWeight = weight;
          if (cap !== undefined) target.config.cap = cap;
          return new XlOutput("", "", 0);
        }
        return new XlOutput(xlSchedCredit(host, target ? [target] : [...host.domains.values()]), "", 0);
      }
      case "top": return new XlOutput(xlTop(host, undefined, 0), "", 0);
      case "save": {
        if (pos.length < 2) return usage("save", "[options] <Domain> <CheckpointFile> [<ConfigFile>]");
        const d = dom(pos[0]);
        const image = saveDomain(host, d);
        writeFileSync(pos[1]!, image);
        if (!flags.has("c")) host.destroyDomain(d);
        const h = readSaveFileHeader(image);
        // xl_saverestore.c prints these on stderr.
        return new XlOutput("", `Saving to ${pos[1]} new xl format (info 0x${h.mandatoryFlags.toString(16)}/0x${h.optionalFlags.toString(16)}/${h.optionalDataLen})\n`, 0);
      }
      case "restore": {
        if (pos.length < 1) return usage("restore", "[options] [<ConfigFile>] <CheckpointFile>");
        const image = new Uint8Array(readFileSync(pos[pos.length - 1]!));
        const h = readSaveFileHeader(image);
        const d = restoreDomain(host, image, { paused: flags.has("p") });
        return new XlOutput("Parsing config from <saved>\n", `Loading new save file ${pos[pos.length - 1]} (new xl fmt info 0x${h.mandatoryFlags.toString(16)}/0x${h.optionalFlags.toString(16)}/${h.optionalDataLen})\n Savefile contains xl domain config in JSON format\n`, 0, d);
      }
      case "migrate": {
        if (pos.length < 2) return usage("migrate", "[options] <Domain> <host>");
        const d = dom(pos[0]);
        const peer = host.xenHostNamed(pos[1]!);
        if (!peer) return new XlOutput("", `migrate: no Xen host named "${pos[1]}" in this kernel\n`, 1);
        const m = migrateDomain(host, d, peer);
        // xl_migrate.c's messages (stderr), the stream being xl's save image.
        return new XlOutput("", `migration target: Ready to receive domain.\nSaving to migration stream new xl format (info 0x3/0x0)\nmigration target: Transfer complete, requesting permission to start domain.\nmigration sender: Target has acknowledged transfer.\nmigration target: Domain started successfully.\nmigration sender: Target reports successful startup.\nMigration successful.\n`, 0, m.domain, m.toMimeBundle());
      }
      case "block-attach": case "block-list": case "block-detach": { const r = runBlockXl(host, argv); return new XlOutput(r.stdout, r.stderr, r.exitCode, r.vbd ? host.domains.get(r.vbd.domid) : undefined, r.vbd?.toMimeBundle()); }
      default:
        return new XlOutput("", `command "${cmd}" not implemented\n`, 1);
    }
  } catch (e) {
    if (e instanceof XenError && e.errno === "ESRCH") return new XlOutput("", `${e.message}\n`, 1);
    if (e instanceof XenError || e instanceof XlConfigError) return new XlOutput("", `${e.message}\n`, 1);
    throw e;
  }
}

/**
 * `xl console`: runs the host, collecting the domain's console output as its terminal shows it, until it exits, its
 * console is quiet for `quietNs` of virtual time (default 200 ms), or the budget is spent.
 */
export function attachConsole(host: XenHost, d: Domain, opts: XlOptions = {}): { text: string; reason: string } {
  let text = "";
  let last = host.now;
  const quiet = opts.quietNs ?? 200_000_000;
  // The terminal on the user's side of the pty: it answers the guest's queries (busybox's cursor
  // position request at each prompt) by typing the report back, and shows the text without them.
  const term = consoleTerminal(d);
  const listener = (dom: Domain, t: string) => {
    if (dom.uuid !== d.uuid) return;
    const { shown, replies } = term.feed(t);
    if (replies) host.consoleInput(d, replies);
    text += shown;
    last = host.now;
    if (shown) opts.onConsole?.(shown);
  };
  host.consoleListeners.add(listener);
  let reason = "quiet";
  try {
    const r = host.run({
      until: (h) => {
        if (!h.domains.has(d.domid) || d.isShutdown) { reason = "exited"; return true; }
        return h.now - last >= quiet;
      },
      maxInstructions: opts.maxInstructions ?? 5e8,
    });
    if (r.stoppedBy === "instructions") reason = "budget";
    if (r.stoppedBy === "idle") reason = "idle";
  } finally {
    host.consoleListeners.delete(listener);
  }
  return { text, reason };
}

export function consoleHtml(text: string): string {
  return `<pre style="background:#111;color:#ddd;padding:6px">${escapeXml(text)}</pre>`;
}
