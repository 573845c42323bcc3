/**
 * %host: show or replace the notebook's hosts. Cells see the Xen host as `host` and the Longhorn
 * (Hyper-V) host as `longhorn`; `%host new` gives a fresh one of either personality.
 */
import { setCurrentHypervHost } from "../hyperv";
import { currentHost, setCurrentHost } from "../xen";
import { Magic, splitArgs, UsageError } from "./magic";

const HELP = [
  "%host [new [--hypervisor xen|hyperv] [--pcpus N] [--memory MIB] [--mhz MHZ]]",
  "",
  "Without arguments, shows the current Xen host (`host` in cells). `%host new` replaces it with a",
  "fresh one; with --hypervisor hyperv it replaces the Windows Server \"Longhorn\" host instead",
  "(`longhorn` in cells: a root partition and child partitions per Microsoft's TLFS).",
  "--pcpus sets physical (logical) processors, --memory MiB of machine memory, --mhz guest",
  "instructions per virtual microsecond.",
  "",
  "Examples:",
  "  %host new --pcpus 1 --memory 512",
  "  %host new --hypervisor hyperv",
].join("\n");

function positive(text: string | undefined, flag: string): number {
  const n = Number(text);
  if (text === undefined || !Number.isInteger(n) || n <= 0) throw new UsageError(`${flag} takes a positive whole number, not ${text ?? "nothing"}`);
  return n;
}

export const hostMagic: Magic = {
  name: "host",
  kind: "line",
  summary: "Show the Xen host, or start a fresh Xen or Hyper-V (Longhorn) host.",
  help: HELP,
  run(args) {
    const words = splitArgs(args);
    if (words.length === 0) return currentHost();
    if (words[0] !== "new") throw new UsageError(`%host takes no arguments or \`new ...\`, not ${words[0]}`);
    let hypervisor = "xen";
    let pcpus: number | undefined;
    let memoryMiB: number | undefined;
    let cpuMHz: number | undefined;
    for (let i = 1; i < words.length; i++) {
      const w = words[i]!;
      if (w === "--hypervisor") hypervisor = words[++i] ?? "";
      else if (w === "--pcpus") pcpus = positive(words[++i], "--pcpus");
      else if (w === "--memory") memoryMiB = positive(words[++i], "--memory");
      else if (w === "--mhz") cpuMHz = positive(words[++i], "--mhz");
      else throw new UsageError(`unknown option ${w}; usage: ${HELP.split("\n")[0]}`);
    }
    if (hypervisor === "xen") return setCurrentHost({ pcpus, memoryMiB, cpuMHz });
    if (hypervisor === "hyperv") return setCurrentHypervHost({ lps: pcpus, memoryMiB, cpuMHz });
    throw new UsageError(`--hypervisor is xen or hyperv, not ${hypervisor}`);
  },
  complete(before) {
    const words = before.split(/\s+/);
    if (words.length <= 1) return ["new"];
    if (words[words.length - 2] === "--hypervisor") return ["xen", "hyperv"];
    return ["--hypervisor", "--pcpus", "--memory", "--mhz"];
  },
};

