#!/usr/bin/env node
/** The `xenlab` command: install the kernel, run it, run notebooks, work with VHDs. */
import { basename, dirname, join, resolve } from "node:path";
import { PACKAGE_VERSION } from "../package-root";

const USAGE = `xenlab ${PACKAGE_VERSION}: an emulated Xen / Hyper-V host in Jupyter

Usage:
  xenlab install [--user | --sys-prefix | --prefix DIR] [--name NAME] [--display-name TEXT]
  xenlab uninstall [--user | --sys-prefix | --prefix DIR] [--name NAME]
  xenlab kernel -f CONNECTION_FILE
  xenlab run NOTEBOOK.ipynb [-o OUT.ipynb] [--allow-errors]
  xenlab vhd VERB ...            (xenlab vhd --help lists the verbs)
  xenlab --version | --help
`;

export class CliError extends Error {}

type Command = (args: string[]) => Promise<number>;

const commands: Record<string, Command> = {
  install: async (args) => {
    const { installKernelspec } = await import("../jupyter/kernelspec");
    const o = parseFlags(args, { "--user": 0, "--sys-prefix": 0, "--prefix": 1, "--name": 1, "--display-name": 1 });
    const dir = installKernelspec(scopeOf(o), o["--name"], o["--display-name"]);
    console.log(`Installed kernelspec ${basename(dir)} in ${dir}`);
    return 0;
  },
  uninstall: async (args) => {
    const { uninstallKernelspec, DEFAULT_KERNEL_NAME } = await import("../jupyter/kernelspec");
    const o = parseFlags(args, { "--user": 0, "--sys-prefix": 0, "--prefix": 1, "--name": 1 });
    const dir = uninstallKernelspec(scopeOf(o), o["--name"]);
    if (!dir) throw new CliError(`no kernelspec named ${o["--name"] ?? DEFAULT_KERNEL_NAME} is installed there`);
    console.log(`Removed ${dir}`);
    return 0;
  },
  kernel: async (args) => {
    const o = parseFlags(args, { "-f": 1, "--connection-file": 1 });
    const file = o["-f"] ?? o["--connection-file"];
    if (!file) throw new CliError("xenlab kernel needs -f CONNECTION_FILE");
    const { readConnectionFile } = await import("../jupyter/connection");
    const { Kernel } = await import("../jupyter/kernel");
    await new Kernel(readConnectionFile(file)).start();
    return new Promise<number>(() => undefined); // serves until shutdown_request or a signal
  },
  run: async (args) => {
    const o = parseFlags(args, { "-o": 1, "--output": 1, "--allow-errors": 0 }, 1);
    const input = o._[0];
    if (!input) throw new CliError("xenlab run needs a notebook: xenlab run NOTEBOOK.ipynb [-o OUT.ipynb]");
    const { readNotebook, runNotebook, writeNotebook } = await import("../jupyter/notebook-runner");
    const output = o["-o"] ?? o["--output"] ?? input.replace(/(\.ipynb)?$/, ".executed.ipynb");
    const nb = readNotebook(input);
    const t0 = Date.now();
    const r = await runNotebook(nb, { allowErrors: "--allow-errors" in o, cwd: dirname(resolve(input)), echo: false });
    writeNotebook(output, r.notebook);
    const secs = ((Date.now() - t0) / 1000).toFixed(2);
    if (r.error) {
      console.error(`${input}: cell ${r.failedCell! + 1} failed: ${r.error.ename}: ${r.error.evalue}`);
      console.error(`wrote ${output} (${r.cellsRun} cells run in ${secs} s)`);
      return 1;
    }
    console.log(`ran ${r.cellsRun} cells of ${input} in ${secs} s; wrote ${output}`);
    return 0;
  },
  vhd: async (args) => {
    const mod = (await import(join(__dirname, "vhd"))) as { vhdCommand: (argv: string[]) => Promise<number> };
    return mod.vhdCommand(args);
  },
};

type Flags = Record<string, string | undefined> & { _: string[] };

function parseFlags(args: string[], spec: Record<string, 0 | 1>, positional = 0): Flags {
  const out = { _: [] as string[] } as Flags;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const [flag, inline] = a.startsWith("--") && a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    if (flag in spec) {
      if (spec[flag] === 0) out[flag] = "";
      else {
        const v = inline ?? args[++i];
        if (v === undefined) throw new CliError(`${flag} needs a value`);
        out[flag] = v;
      }
    } else if (a.startsWith("-") && a !== "-") {
      throw new CliError(`unknown option ${a}`);
    } else {
      out._.push(a);
    }
  }
  if (out._.length > positional) throw new CliError(`unexpected argument ${out._[positional]}`);
  return out;
}

function scopeOf(o: Flags): import("../jupyter/kernelspec").InstallScope {
  const chosen = ["--user", "--sys-prefix", "--prefix"].filter((f) => f in o);
  if (chosen.length > 1) throw new CliError(`choose one of ${chosen.join(", ")}`);
  if ("--user" in o) return { kind: "user" };
  if ("--sys-prefix" in o) return { kind: "sys-prefix" };
  if (o["--prefix"] !== undefined) return { kind: "prefix", dir: o["--prefix"] };
  return { kind: "system" };
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === "--help" || cmd === "-h" || cmd === "help") {
    process.stdout.write(USAGE);
    return cmd ? 0 : 2;
  }
  if (cmd === "--version" || cmd === "-V") {
    console.log(PACKAGE_VERSION);
    return 0;
  }
  const command = commands[cmd];
  if (!command) throw new CliError(`unknown command ${cmd}\n\n${USAGE}`);
  return command(rest);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      if (err instanceof CliError || (err instanceof Error && /(FormatError|KernelspecError)$/.test(err.name))) {
        console.error(`xenlab: ${err.message}`);
        process.exit(2);
      }
      console.error(err instanceof Error ? err.stack : err);
      process.exit(1);
    },
  );
}
