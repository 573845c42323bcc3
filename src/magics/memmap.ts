/** %memmap: the host's machine memory, frame by frame, coloured by owner and use. */
import { memoryMap } from "../render/memmap";
import { currentHost } from "../xen";
import { Magic, splitArgs, UsageError } from "./magic";

function frameNumber(text: string | undefined, flag: string): number {
  if (text === undefined || !/^(0x[0-9a-f]+|\d+)$/i.test(text)) throw new UsageError(`${flag} takes a machine frame number (decimal or 0x hex)`);
  return Number(text);
}

export const memmapMagic: Magic = {
  name: "memmap",
  kind: "line",
  summary: "Draw the host's machine memory: every frame by owner (Xen, dom0, domUs, free) and use.",
  help: [
    "%memmap [DOMAIN] [--from MFN] [--to MFN]",
    "",
    "Draws the current host's machine memory map: each machine frame coloured by its owner (upper",
    "band) and its use (lower band: guest RAM, page tables, shared pages, hypervisor). With DOMAIN",
    "(a name or id) the map zooms to the frames that domain owns; --from/--to zoom to a frame range.",
    "Hover a run to see its frames, owner and use.",
    "",
    "Examples:",
    "  %memmap",
    "  %memmap Domain-0",
    "  %memmap --from 0x1000 --to 0x2000",
  ].join("\n"),
  run(args) {
    const words = splitArgs(args);
    let first: number | undefined;
    let end: number | undefined;
    let domain: string | undefined;
    for (let i = 0; i < words.length; i++) {
      const w = words[i]!;
      if (w === "--from") first = frameNumber(words[++i], "--from");
      else if (w === "--to") end = frameNumber(words[++i], "--to");
      else if (w.startsWith("-")) throw new UsageError(`unknown option ${w}; usage: %memmap [DOMAIN] [--from MFN] [--to MFN]`);
      else if (domain === undefined) domain = w;
      else throw new UsageError("%memmap takes one domain");
    }
    const host = currentHost();
    const memory = host.machine.memory;
    if (domain !== undefined) {
      const d = host.findDomain(/^\d+$/.test(domain) ? Number(domain) : domain);
      if (!d) throw new UsageError(`%memmap: no domain ${domain} (%xl list shows them)`);
      const runs = memory.runs().filter((r) => r.owner === d.id);
      if (runs.length === 0) throw new UsageError(`%memmap: ${d.name} owns no machine frames`);
      first ??= runs[0]!.start;
      end ??= runs[runs.length - 1]!.start + runs[runs.length - 1]!.count;
    }
    const label = (id: number) => {
      const d = host.findDomain(id);
      return d ? `dom${id} ${d.name}` : undefined;
    };
    return memoryMap(memory, { first, end, label: (id) => label(id) ?? (id === 0x7ff2 ? "Xen" : id === 0x7ff4 ? "free" : `dom${id}`) });
  },
  complete() {
    return [...currentHost().domains.values()].map((d) => d.name);
  },
};
