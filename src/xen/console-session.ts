/**
 * A scripted session on a guest's PV console: what a user does at `xl console` — type a line,
 * watch the output until the shell prompts again — as one library call, for notebook cells and
 * tests alike.
 *
 *   const sh = consoleSession(xenConsole(host, "debian"));
 *   sh.run("uname -a")            // → "Linux (none) 6.1.0-... x86_64 GNU/Linux"
 *   sh.lines("ls /sys/hypervisor")
 *   sh.type("poweroff -f\n"); sh.waitFor(() => d.isShutdown)
 *
 * The bytes go into the ring's in[] side as xenconsoled puts them there (tools/console/daemon/io.c
 * buffers what the pty gives it and writes as much as fits, again each time the guest frees room),
 * and the session is the terminal on the user's side: it answers the guest's cursor queries
 * (busybox asks with ESC [ 6 n at every prompt) through the same ConsoleTerminal `xl console`
 * shows, and works on the text that terminal shows. The host runs only inside run()/waitFor(),
 * bounded by an instruction budget (and virtual time, if given); when the guest stops, or goes
 * idle with nothing left to wake it, or the budget runs out, the call throws ConsoleSessionError
 * saying which, what it waited for, and the last output.
 *
 * The same ring serves a Xen domain (xenConsole, below) and a Xen-enabled Longhorn child (its
 * adapter's ring, served by the root's xenconsoled: longhornConsole in src/hyperv/console.ts).
 */
import type { Domain } from "./domain";
import { XenError } from "./errors";
import type { XenHost } from "./host";
import { ConsoleTerminal } from "./xl/console-terminal";

/** One console as the session needs it: a ring to type into, output to read, a host to run. */
export interface ConsoleEndpoint {
  /** For messages: "domain debian". */
  readonly label: string;
  /** Types into the console's in[] and notifies the guest; returns how many bytes fitted. */
  input(text: string): number;
  /** The console output that arrived since the last call (the first call: since the endpoint was made). */
  take(): string;
  /** Runs the host until `until` holds or a budget is spent (the hypervisor's run loop). */
  run(until: () => boolean, budget: { maxInstructions: number; ns?: number }): { stoppedBy: string; instructions: number };
  /** Why the guest can no longer answer (shut down, crashed, stopped), or undefined while it runs. */
  stopped(): string | undefined;
}

export type ConsoleStopReason = "stopped" | "idle" | "budget" | "time";

/** A session call that did not see what it waited for. */
export class ConsoleSessionError extends Error {
  constructor(
    readonly reason: ConsoleStopReason,
    /** What the session waited for ("the prompt `/ # ` after `uname -a`"). */
    readonly waitingFor: string,
    /** The output seen since the call began, as the terminal shows it. */
    readonly output: string,
    detail: string,
  ) {
    super(`${detail} while waiting for ${waitingFor}; last output: ${JSON.stringify(output.slice(-400))}`);
    this.name = "ConsoleSessionError";
  }
}

export interface SessionOptions {
  /** The shell's prompt, at the start of a line (default busybox's root prompt "/ # "). */
  prompt?: string;
  /** Instructions one call may retire (default 1e9: a few seconds of the guest's time). */
  maxInstructions?: number;
  /** Virtual time one call may take, in ns (default: no limit besides the instructions). */
  ns?: number;
}

export type Marker = string | RegExp | (() => boolean);

export class ConsoleSession {
  /** Everything the terminal showed during this session (control sequences left out, CRs dropped). */
  transcript = "";
  private readonly term = new ConsoleTerminal();
  /** Where waitFor() looks from: the end of what the last call returned. */
  private read = 0;
  /** Typed bytes that did not fit in in[] yet (xenconsoled's buffer). */
  private pending = "";
  readonly prompt: string;
  private readonly budget: { maxInstructions: number; ns?: number };

  constructor(readonly console: ConsoleEndpoint, opts: SessionOptions = {}) {
    this.prompt = opts.prompt ?? "/ # ";
    this.budget = { maxInstructions: opts.maxInstructions ?? 1e9, ns: opts.ns };
    this.pump();
  }

  /** Types text as is (no newline added) into the console ring. */
  type(text: string): void {
    this.pending += text;
    this.pump();
  }

  /**
   * Types `line` and a newline, runs until the prompt comes back, and returns what the command
   * printed: the text after the shell's echo of the line and before the next prompt, lines joined
   * with "\n". Output before the line was typed is not part of the answer.
   */
  run(line: string, opts: SessionOptions = {}): string {
    const from = this.transcript.length;
    this.type(`${line}\n`);
    const prompt = `\n${opts.prompt ?? this.prompt}`;
    // The prompt counts once the echo is past: the shell echoes the line (wrapped at its 80
    // columns, so line breaks may be inserted into the echo) before it runs it.
    const echoEnd = (): number | undefined => {
      const s = this.transcript;
      let at = from;
      for (let i = 0; i < line.length; i++) {
        while (s[at] === "\n") at++;
        if (at >= s.length) return undefined;
        at++;
      }
      const nl = s.indexOf("\n", at);
      return nl < 0 ? undefined : nl;
    };
    let end = -1;
    this.wait(() => {
      const e = echoEnd();
      if (e === undefined) return false;
      end = this.transcript.indexOf(prompt, e);
      return end >= 0;
    }, `the prompt \`${prompt.slice(1)}\` after \`${line}\``, from, opts);
    this.read = end + prompt.length;
    return this.transcript.slice(echoEnd()! + 1, end);
  }

  /** run(), split into lines. */
  lines(line: string, opts: SessionOptions = {}): string[] {
    const out = this.run(line, opts);
    return out === "" ? [] : out.split("\n");
  }

  /**
   * Runs until `marker` appears in the output not yet read (a string or pattern), or holds (a
   * predicate: e.g. the domain shut down). Returns the output up to the end of the marker (a
   * predicate: all output so far); what follows stays for the next call.
   */
  waitFor(marker: Marker, opts: SessionOptions = {}): string {
    const from = this.read;
    let end = -1;
    const test = typeof marker === "function" ? () => { end = this.transcript.length; return marker(); }
      : typeof marker === "string" ? () => { const i = this.transcript.indexOf(marker, from); end = i + marker.length; return i >= 0; }
        : () => { const m = marker.exec(this.transcript.slice(from)); end = m ? from + m.index + m[0].length : -1; return m !== null; };
    const what = typeof marker === "function" ? "the condition" : typeof marker === "string" ? `\`${marker}\`` : String(marker);
    this.wait(test, what, from, opts);
    this.read = end;
    return this.transcript.slice(from, end);
  }

  private wait(done: () => boolean, what: string, from: number, opts: SessionOptions): void {
    const budget = { maxInstructions: opts.maxInstructions ?? this.budget.maxInstructions, ns: opts.ns ?? this.budget.ns };
    let stop: string | undefined;
    const until = () => {
      this.pump();
      if (done()) return true;
      stop = this.console.stopped();
      return stop !== undefined;
    };
    if (until()) { if (stop === undefined) return; }
    else {
      const r = this.console.run(until, budget);
      this.pump();
      if (done()) return;
      stop ??= this.console.stopped();
      if (stop === undefined) {
        const reason: ConsoleStopReason = r.stoppedBy === "idle" ? "idle" : r.stoppedBy === "time" ? "time" : "budget";
        const detail = reason === "idle" ? `${this.console.label} went idle (every vCPU blocked, no timer armed)`
          : reason === "time" ? `${this.console.label}: ${budget.ns} ns of virtual time passed`
            : `${this.console.label}: ${r.instructions} instructions retired (budget ${budget.maxInstructions})`;
        throw new ConsoleSessionError(reason, what, this.transcript.slice(from), detail);
      }
    }
    throw new ConsoleSessionError("stopped", what, this.transcript.slice(from), `${this.console.label} ${stop}`);
  }

  /** Reads new output through the terminal (typing its answers back), then feeds in[]. */
  private pump(): void {
    const text = this.console.take();
    if (text) {
      const { shown, replies } = this.term.feed(text);
      this.transcript += shown.replace(/\r/g, "");
      // The answer follows what the user typed before it, as on a pty.
      if (replies) this.pending += replies;
    }
    if (this.pending && this.console.stopped() === undefined) {
      const n = this.console.input(this.pending);
      this.pending = this.pending.slice(n);
    }
  }
}

/** A session on `console` (see ConsoleSession). */
export function consoleSession(console: ConsoleEndpoint, opts: SessionOptions = {}): ConsoleSession {
  return new ConsoleSession(console, opts);
}

/**
 * A Xen domain's console, as `xl console DOMAIN` finds it: by name or id, looked up again at each
 * step (so a session follows the domain through `xl save` + `xl restore`, which makes a new
 * domain of the same name), or a Domain object (that domain only).
 */
export function xenConsole(host: XenHost, dom: Domain | string | number): ConsoleEndpoint {
  const resolve = (): Domain | undefined =>
    typeof dom === "object" ? (host.domains.get(dom.domid) === dom ? dom : undefined) : host.findDomain(dom);
  const name = typeof dom === "object" ? dom.name : String(dom);
  let seen = resolve();
  let mark = seen?.consoleWritten ?? 0;
  /** The last domain found: what it did before it went away. */
  let last = seen;
  // Another domain under the name (a restore): its console is read from its beginning.
  const find = (): Domain | undefined => {
    const d = resolve();
    if (d !== seen) { seen = d; mark = 0; }
    if (d) last = d;
    return d;
  };
  const state = (d: Domain): string | undefined =>
    d.crashReason !== undefined ? `crashed: ${d.crashReason}` : d.isShutdown ? `shut down (${d.shutdownReason})` : undefined;
  return {
    label: `domain ${name}`,
    input: (text) => {
      const d = find();
      if (!d) throw new XenError("ESRCH", `invalid domain identifier: ${name}`);
      return host.consoleInput(d, text);
    },
    take: () => {
      const d = find();
      if (!d) return "";
      const dropped = d.consoleWritten - d.consoleLog.length;
      const text = d.consoleLog.slice(Math.max(0, mark - dropped));
      mark = d.consoleWritten;
      return text;
    },
    run: (until, budget) => host.run({ until, maxInstructions: budget.maxInstructions, ns: budget.ns }),
    stopped: () => {
      const d = find();
      if (!d) {
        const before = last && state(last);
        return before ? `${before} and is gone (destroyed, as its on_${last!.shutdownReason} action says)` : "is gone (destroyed, or not created yet)";
      }
      const st = state(d);
      if (st) return st;
      if (d.pauseCount > 0) return "is paused (xl unpause it first)";
      return undefined;
    },
  };
}
