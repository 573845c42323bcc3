/**
 * dom0's xenconsoled (tools/console/daemon/io.c): drains each domain's PV console ring (out[])
 * into its console log and live listeners, and types input into in[] (then notifies the guest).
 */
import type { Machine } from "../machine";
import { ConsoleRing } from "./console-ring";
import type { Domain } from "./domain";
import { XenError } from "./errors";
import type { Port } from "./types";

/** What xenconsoled needs from the hypervisor. */
export interface XenconsoledHost {
  readonly machine: Machine;
  setPending(d: Domain, port: Port): void;
  bindService(d: Domain, remotePort: Port, label: string, service: () => void): Port;
}

/** The log a domain's console keeps: 1 MiB, trimmed to its last 512 KiB. */
const CONSOLE_LOG_MAX = 1 << 20;
const CONSOLE_LOG_KEEP = 1 << 19;

export class Xenconsoled {
  /** Listeners for console output (domain, text): live displays, `xl console`. */
  readonly listeners = new Set<(dom: Domain, text: string) => void>();

  constructor(private readonly host: XenconsoledHost) {}

  /** Serves `d`'s console ring (its page at d.consoleGfn) through dom0's end of its console port. */
  attach(d: Domain, consolePort: Port): void {
    d.consoleRing = new ConsoleRing(() => this.host.machine.memory.view(this.host.machine.p2m(d.domid).lookup(d.consoleGfn)!.mfn));
    this.host.bindService(d, consolePort, "console", () => this.service(d));
  }

  private service(d: Domain): void {
    const text = d.consoleRing?.drain() ?? "";
    if (text) this.emit(d, text);
  }

  /** Output of `d`'s console: appended to its log and given to every listener. */
  emit(d: Domain, text: string): void {
    d.consoleLog += text;
    d.consoleWritten += text.length;
    if (d.consoleLog.length > CONSOLE_LOG_MAX) d.consoleLog = d.consoleLog.slice(-CONSOLE_LOG_KEEP);
    for (const l of this.listeners) l(d, text);
  }

  /** Types input into a domain's console (in ring) and notifies it. */
  input(d: Domain, text: string): number {
    if (!d.consoleRing) throw new XenError("ENODEV", `${d.name} has no console`);
    const n = d.consoleRing.input(new Uint8Array(Buffer.from(text, "latin1")));
    this.host.setPending(d, d.consolePort);
    return n;
  }
}
