/**
 * The PV console of a Xen-enabled Longhorn child as a console-session endpoint: the same ring
 * (Xen's struct xencons_interface at the console pfn) Xen domains have, served by the root's
 * xenconsoled through the hypercall adapter; output accumulates in the partition's console.
 *
 *   const sh = consoleSession(longhornConsole(hv, p));
 *   sh.run("uname -a")
 */
import type { ConsoleEndpoint } from "../xen/console-session";
import { HypervError } from "./errors";
import type { HypervHost } from "./host";
import type { Partition } from "./partition";

export function longhornConsole(hv: HypervHost, p: Partition): ConsoleEndpoint {
  let mark = p.console.length;
  const started = () => p.vps.some((v) => v.state !== "suspended");
  let ran = started();
  return {
    label: `partition ${p.id} "${p.name}"`,
    input: (text) => {
      if (!p.xenAdapter) throw new HypervError("INVALID_PARAMETER", `partition ${p.id} is not Xen-enabled: it has no PV console ring`);
      return p.xenAdapter.consoleInput(text);
    },
    take: () => {
      const text = p.console.slice(mark);
      mark = p.console.length;
      return text;
    },
    run: (until, budget) => hv.run({ until, maxInstructions: budget.maxInstructions, ns: budget.ns }),
    stopped: () => {
      if (p.state === "finalized" || p.state === "deleted") return `was ${p.state}`;
      if (started()) { ran = true; return undefined; }
      if (!ran) return undefined; // not started yet: the root resumes its VPs
      // Every VP suspended after running: a shutdown the guest asked for, or a VP the host stopped.
      if (p.shutdownReason !== undefined) return `shut down (SCHEDOP_shutdown reason ${p.shutdownReason}): the root suspended its VPs`;
      const why = [...hv.log].reverse().find((l) => l.startsWith(`partition ${p.id} `) && l.includes("VP stopped"));
      return `stopped: ${why ?? "every VP suspended"}`;
    },
  };
}
