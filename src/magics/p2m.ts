/** %p2m: a domain's guest-physical to machine mapping, drawn. */
import { P2mView } from "../render/p2m";
import { currentHost } from "../xen";
import { Magic, splitArgs, UsageError } from "./magic";

export const p2mMagic: Magic = {
  name: "p2m",
  kind: "line",
  summary: "Draw a domain's P2M: guest-physical pages and the machine frames behind them.",
  help: [
    "%p2m DOMAIN",
    "",
    "Shows DOMAIN's P2M table (Xen's guest-physical → machine map, EPT/NPT in hardware) as runs of",
    "contiguous mappings: a band from each guest-physical run to the machine frames that back it.",
    "",
    "Example:",
    "  %p2m Domain-0",
  ].join("\n"),
  run(args) {
    const words = splitArgs(args);
    if (words.length !== 1) throw new UsageError("usage: %p2m DOMAIN");
    const host = currentHost();
    const d = host.findDomain(/^\d+$/.test(words[0]!) ? Number(words[0]) : words[0]!);
    if (!d) throw new UsageError(`%p2m: no domain ${words[0]} (%xl list shows them)`);
    return new P2mView(d.id, d.name, host.machine.p2m(d.domid).entries(), host.machine.memory.frameCount);
  },
  complete() {
    return [...currentHost().domains.values()].map((d) => d.name);
  },
};
