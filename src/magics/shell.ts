/**
 * Shell commands as IPython runs them: `%%bash` runs the cell with bash, `!cmd` (and `%system
 * cmd`) runs one command line. Output is streamed to the cell as the program writes it, an
 * interrupt stops the program (SIGINT, then SIGKILL), and the exit status is reported:
 * `%%bash` fails with CalledProcessError on a non-zero status unless `--no-raise-error` is given
 * (IPython 8's rule); `!cmd` never fails and leaves the status in `_exit_code`. `x = !cmd`,
 * `!!cmd` and `%sx cmd` capture the output instead (stdout and stderr in the order written) as
 * a list of lines, IPython's SList. `!cmd` and its capturing forms expand `{expr}` and `$name`
 * first (shell-expand.ts); `%%bash` does not, as in IPython.
 */
import { spawn } from "node:child_process";
import { interruptRequested, KeyboardInterrupt } from "../interrupt";
import { Magic, MagicContext, splitArgs, UsageError } from "./magic";
import { expandVariables } from "./shell-expand";

/** A shell program that ended with a non-zero status (Python's name, as IPython reports it). */
export class CalledProcessError extends Error {
  constructor(
    readonly command: string,
    readonly status: number,
  ) {
    super(`Command '${command}' returned non-zero exit status ${status}.`);
    this.name = "CalledProcessError";
  }
}

const INTERRUPT_POLL_MS = 50;
const KILL_GRACE_MS = 2000;

/**
 * Runs `script` with bash, streaming its output to the cell (or, with `capture`, to it: stderr
 * then goes where stdout goes, so the two stay in the order the program wrote them); resolves
 * with the exit status.
 */
export function runShell(script: string, ctx: MagicContext, capture?: (text: string) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-c", capture ? `exec 2>&1\n${script}` : script], { stdio: ["ignore", "pipe", "pipe"], cwd: process.cwd(), env: process.env });
    child.stdout.setEncoding("utf8").on("data", (text: string) => (capture ? capture(text) : ctx.out.stream("stdout", text)));
    child.stderr.setEncoding("utf8").on("data", (text: string) => ctx.out.stream("stderr", text));
    let interrupted = false;
    const poll = setInterval(() => {
      if (interrupted || !interruptRequested()) return;
      interrupted = true;
      child.kill("SIGINT");
      setTimeout(() => child.exitCode === null && child.kill("SIGKILL"), KILL_GRACE_MS).unref();
    }, INTERRUPT_POLL_MS);
    child.on("error", (err) => {
      clearInterval(poll);
      reject(new UsageError(`cannot start bash: ${err.message}`));
    });
    child.on("close", (code, signal) => {
      clearInterval(poll);
      if (interrupted) reject(new KeyboardInterrupt());
      // A signal's status the way a shell shows it: 128 + the signal number.
      else resolve(code ?? 128 + signalNumber(signal));
    });
  });
}

function signalNumber(signal: NodeJS.Signals | null): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };
  return (signal && numbers[signal]) ?? 0;
}

export const bashMagic: Magic = {
  name: "bash",
  kind: "cell",
  summary: "Run the cell with bash, streaming its output.",
  help: "%%bash [--no-raise-error]\nCOMMANDS\n\nRuns the cell's body with bash in the kernel's working folder (see %cd) and environment (see %env), showing stdout and stderr as they come. A non-zero exit status fails the cell with CalledProcessError, unless --no-raise-error is given. Interrupting the kernel stops the script.",
  async run(args, body, ctx) {
    const flags = splitArgs(args);
    const unknown = flags.filter((f) => f !== "--no-raise-error");
    if (unknown.length) throw new UsageError(`%%bash: unknown option ${unknown[0]} (the only option is --no-raise-error)`);
    const status = await runShell(body ?? "", ctx);
    if (status !== 0 && !flags.includes("--no-raise-error")) throw new CalledProcessError("bash", status);
    return undefined;
  },
};

export const systemMagic: Magic = {
  name: "system",
  kind: "line",
  summary: "Run a shell command line (also written !COMMAND).",
  help: "!COMMAND\n%system COMMAND\n\nRuns COMMAND with bash in the kernel's working folder, showing its output as it comes. The exit status is left in the variable _exit_code (the cell does not fail, as in IPython).\n\nExample:\n  !ls -l | head -3",
  async run(args, _body, ctx) {
    if (!args.trim()) throw new UsageError("!COMMAND needs a command: e.g. !ls");
    const status = await runShell(expandVariables(args, ctx.scope), ctx);
    ctx.scope._exit_code = status;
    return undefined;
  },
};

/**
 * A command's output as lines (IPython's SList): an array of strings, with `s` (the lines joined
 * by spaces), `n` (joined by newlines) and `l` (the lines as a plain array), as SList has.
 */
export class ShellLines extends Array<string> {
  get s(): string {
    return this.join(" ");
  }
  get n(): string {
    return this.join("\n");
  }
  get l(): string[] {
    return [...this];
  }
  static override get [Symbol.species](): ArrayConstructor {
    return Array;
  }
}

/** Python's str.splitlines(): every line break it knows, no empty line after a final break. */
const LINE_BREAK = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/;

export function splitLines(text: string): string[] {
  const lines = text.split(LINE_BREAK);
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

export const sxMagic: Magic = {
  name: "sx",
  kind: "line",
  summary: "Run a shell command line and return its output as lines (also x = !COMMAND, !!COMMAND).",
  help: "x = !COMMAND\n!!COMMAND\n%sx COMMAND\n\nRuns COMMAND with bash in the kernel's working folder and returns what it wrote (stdout and stderr, in order) as an array of lines, with .s (joined by spaces) and .n (joined by newlines), as IPython's SList. {expr} and $name in COMMAND are replaced by values from the cell's scope first; $$ is a literal $. The exit status is not kept (as in IPython).\n\nExample:\n  const files = !ls *.vhd\n  files.length",
  async run(args, _body, ctx) {
    if (!args.trim()) throw new UsageError("x = !COMMAND needs a command: e.g. files = !ls");
    let text = "";
    await runShell(expandVariables(args, ctx.scope), ctx, (chunk) => (text += chunk));
    const lines = new ShellLines();
    for (const line of splitLines(text)) lines.push(line);
    return lines;
  },
};
