/**
 * A Longhorn child's console as a console-session endpoint. For a Xen-enabled child, the PV console:
 * the same ring (Xen's struct xencons_interface at the console pfn) Xen domains have, served by the
 * root's xenconsoled through the hypercall adapter. For a natively booted Linux child, its COM1
 * (the 16550A whose input side keeps what does not fit in the FIFO). Output accumulates in the
 * partition's console either way.
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
      if (p.xenAdapter) return p.xenAdapter.consoleInput(text);
      if (p.uart) { p.uart.input(text); return text.length; }
      throw new HypervError("INVALID_PARAMETER", `partition ${p.id} has no console to type into: neither Xen-enabled (PV console ring) nor booted with linux (COM1)`);
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
