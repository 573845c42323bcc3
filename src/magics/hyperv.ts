/**
 * %import-vmc and %hyperv: the Hyper-V host in a cell. Both call the library (src/hyperv); the
 * host is the notebook's shared one (currentHypervHost()).
 */
import { currentHypervHost } from "../hyperv/current";
import { readVmc } from "../hyperv/vmc";
import { renderVmcImport } from "../render/hyperv-vmc";
import { renderHypercallTrace } from "../render/hyperv-partitions";
import { completePath } from "./complete-path";
import { Magic, splitArgs, UsageError } from "./magic";

export const importVmcMagic: Magic = {
  name: "import-vmc",
  kind: "line",
  summary: "Import a Virtual Server 2005 .vmc: resolve its VHDs, print the xl.cfg, optionally create the VM on the Hyper-V host.",
  help: `%import-vmc FILE [--name NAME] [--hyperv]

Reads a Virtual Server 2005 / Virtual PC configuration (UTF-16 or UTF-8 XML), finds its VHDs
(absolute path first, then relative to the .vmc) and shows the equivalent xl.cfg.
  --name NAME   the VM's name (default: the file name without .vmc)
  --hyperv      also create it on the Hyper-V host: a suspended child partition with the VHDs
                offered on its synthetic SCSI controller (VMBus)
Example: %import-vmc "VMs/W2K3/W2K3.vmc" --hyperv`,
  run(args) {
    const a = splitArgs(args);
    let file: string | undefined, name: string | undefined, hyperv = false;
    for (let i = 0; i < a.length; i++) {
      if (a[i] === "--name") { name = a[++i]; if (!name) throw new UsageError("--name needs a value"); }
      else if (a[i] === "--hyperv") hyperv = true;
      else if (a[i]!.startsWith("-")) throw new UsageError(`unknown option ${a[i]} (see %import-vmc?)`);
      else if (file) throw new UsageError(`one FILE only (got ${file} and ${a[i]})`);
      else file = a[i];
    }
    if (!file) throw new UsageError("usage: %import-vmc FILE [--name NAME] [--hyperv]");
    if (!hyperv) { const imp = readVmc(file, name); return { toMimeBundle: () => renderVmcImport(imp) }; }
    const r = currentHypervHost().importVmc(file, { name });
    return { toMimeBundle: () => renderVmcImport(r, r.partition) };
  },
  complete: (before) => completePath(before),
};

export const hypervMagic: Magic = {
  name: "hyperv",
  kind: "line",
  summary: "Show the Hyper-V host: partitions, one partition's SynIC, a child's VMBus, recent hypercalls.",
  help: `%hyperv [partitions | partition ID|NAME | vmbus ID|NAME | trace [N]]

  partitions        every partition (default)
  partition P       privileges, VPs, SynIC SINTs and message slots, console
  vmbus P           the child's VMBus channels, GPADLs, ring indices, message log
  trace [N]         the last N hypercalls (default 20), with rep continuations`,
  run(args) {
    const [verb = "partitions", arg] = splitArgs(args);
    const h = currentHypervHost();
    switch (verb) {
      case "partitions": return h;
      case "partition": if (!arg) throw new UsageError("%hyperv partition needs an id or name"); return h.partition(arg);
      case "vmbus": if (!arg) throw new UsageError("%hyperv vmbus needs a child partition's id or name"); return h.vmbus(arg);
      case "trace": {
        const n = arg === undefined ? 20 : Number(arg);
        if (!Number.isInteger(n) || n <= 0) throw new UsageError(`trace N must be a positive integer, not ${arg}`);
        return { toMimeBundle: () => renderHypercallTrace(h, n) };
      }
      default: throw new UsageError(`unknown verb ${verb}: partitions, partition, vmbus or trace`);
    }
  },
};
