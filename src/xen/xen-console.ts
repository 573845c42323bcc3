/**
 * Xen's own console ring (xen/drivers/char/console.c): what `xl dmesg` reads. Xen's lines carry
 * "(XEN) "; HYPERVISOR_console_io writes and port 0xe9 (hvm_print_line) are line-buffered per
 * domain and shown as "(dN) line" (dom0's without a prefix).
 */

/** A writer's line buffer (struct domain's pbuf in Xen; Domain.consoleIoBuffer here). */
export interface ConsoleWriter {
  readonly domid: number;
  consoleIoBuffer: string;
}

/** Lines kept: past MAX, the ring is cut back to its last KEEP lines. */
const CONSOLE_LINES_MAX = 5000;
const CONSOLE_LINES_KEEP = 4000;

export class XenConsole<D extends ConsoleWriter = ConsoleWriter> {
  private readonly lines: string[] = [];

  /** `echo` receives each completed guest line too (the domain's own console log). */
  constructor(private readonly echo: (d: D, text: string) => void) {}

  log(line: string, xenPrefix = true): void {
    this.lines.push(xenPrefix ? `(XEN) ${line}` : line);
    if (this.lines.length > CONSOLE_LINES_MAX) this.lines.splice(0, this.lines.length - CONSOLE_LINES_KEEP);
  }

  /** HYPERVISOR_console_io / port 0xe9 output: line-buffered, "(dN) " prefix. */
  guestWrite(d: D, text: string): void {
    d.consoleIoBuffer += text;
    let nl: number;
    while ((nl = d.consoleIoBuffer.indexOf("\n")) >= 0) {
      const line = d.consoleIoBuffer.slice(0, nl);
      d.consoleIoBuffer = d.consoleIoBuffer.slice(nl + 1);
      this.log(d.domid === 0 ? line : `(d${d.domid}) ${line}`, false);
      this.echo(d, line + "\n");
    }
  }

  /** The ring, oldest line first: a frozen copy (what a lesson's check reads is what Xen wrote). */
  read(): readonly string[] {
    return Object.freeze([...this.lines]);
  }

  /** `xl dmesg -c` / sysctl readconsole with clear. */
  clear(): void {
    this.lines.length = 0;
  }
}
