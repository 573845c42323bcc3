/**
 * A shell in a cell: Debian's kernel created with `%%xl create`, booted with `%run`, then driven
 * with `%xl console NAME --input TEXT` as a notebook user types. The console display is the
 * terminal: it answers busybox's cursor-position queries (ESC [ 6 n) and hides them; the oracle
 * for its answers is tmux (an independent terminal emulator) answering after the same bytes. Ctrl-C
 * (\x03) reaches the guest's tty, which interrupts the foreground job as a real terminal's would.
 */
import { afterAll, describe, expect, it } from "vitest";
import { currentHost, setCurrentHost } from "../../src/xen";
import { ConsoleTerminal } from "../../src/xen/xl/console-terminal";
import { Cells, CollectedOutputs } from "../support/cells";
import { linuxGuest } from "../support/linux-guest";
import { tmuxCursorReport } from "../support/tmux";

const cells = new Cells();
afterAll(() => cells.close());

/** What the live console display showed last. */
const shown = (o: CollectedOutputs): string => o.updates[o.updates.length - 1]?.bundle["text/plain"] ?? "";

describe("Debian's shell in a notebook cell", () => {
  it("%%xl create, %run to the prompt, %xl console --input runs commands; the display answers ESC[6n as tmux does; \\x03 interrupts a job", async () => {
    const g = linuxGuest();
    setCurrentHost({ pcpus: 1, memoryMiB: 512 });
    const create = await cells.run(`%%xl create\nname = "debian"\ntype = "pvh"\nkernel = "${g.bzImage}"\nramdisk = "${g.initrd}"\nmemory = 256\nvcpus = 1\non_poweroff = "preserve"\nextra = "console=hvc0 xenlab.shell"`);
    expect(create.errors).toEqual([]);
    const boot = await cells.run(`%run --until console debian '/ # '`);
    expect(boot.errors).toEqual([]);
    const host = currentHost(), d = host.domain("debian");
    // What the display's terminal types back into the console (its answers).
    const typed: string[] = [];
    const consoleInput = host.consoleInput.bind(host);
    host.consoleInput = (dom, t) => { if (dom === d) typed.push(t); return consoleInput(dom, t); };
    expect(d.consoleLog).toContain("\x1b[6n"); // busybox asks the terminal where the cursor is

    const uname = await cells.run(`%xl console debian --input 'uname -a\\n'`);
    expect(uname.errors).toEqual([]);
    const text = shown(uname).replace(/\r/g, "");
    expect(text).toMatch(new RegExp(`^Linux \\(none\\) ${g.version.replace(/\./g, "\\.")} #1 SMP PREEMPT_DYNAMIC Debian .* x86_64 GNU/Linux$`, "m"));
    expect(text).not.toContain("\x1b"); // the queries are the terminal's, not shown
    expect(text.endsWith("/ # ")).toBe(true);

    // The display answered busybox's query at the new prompt: the cursor after "/ # " (column 5).
    expect(typed.some((t) => /^\x1b\[\d+;5R$/.test(t))).toBe(true);
    // Over the whole console stream of this boot, the terminal answers as tmux does.
    const upTo = d.consoleLog.lastIndexOf("\x1b[6n");
    const { replies } = new ConsoleTerminal().feed(d.consoleLog.slice(0, upTo + 4));
    const last = (r: string) => r.slice(r.lastIndexOf("\x1b["));
    expect(last(replies)).toBe(last(tmuxCursorReport(d.consoleLog.slice(0, upTo))));

    // A job interrupted with Ctrl-C: the shell (a session on hvc0, its controlling tty) gets its
    // prompt back and $? says SIGINT (128 + 2).
    const sleep = await cells.run(`%xl console debian --input 'sleep 100\\n'`);
    expect(shown(sleep)).not.toMatch(/\/ # $/); // still sleeping when the console went quiet
    const intr = await cells.run(`%xl console debian --input '\\x03'`);
    expect(shown(intr).replace(/\r/g, "")).toMatch(/\^C\n?\/ # $/);
    const status = await cells.run(`%xl console debian --input 'echo status $?\\n'`);
    expect(shown(status).replace(/\r/g, "")).toMatch(/^status 130$/m);
  }, 900_000);
});
