/** %env: the kernel's environment variables, read and set as IPython's %env does. */
import { Magic, UsageError } from "./magic";
import { TextResult } from "./core";

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const envMagic: Magic = {
  name: "env",
  kind: "line",
  summary: "List, read or set environment variables.",
  help: "%env\n%env NAME\n%env NAME=VALUE\n%env NAME VALUE\n\nWith no argument lists every variable; with a name shows its value; with a value sets it for the kernel and the programs it starts.",
  run(args) {
    if (!args) {
      const lines = Object.keys(process.env).sort().map((k) => `${k}=${process.env[k]}`);
      return new TextResult(lines.join("\n"));
    }
    const set = /^([^=\s]+)\s*=\s*(.*)$/.exec(args) ?? /^(\S+)\s+(.+)$/.exec(args);
    const name = set ? set[1]! : args;
    if (!NAME.test(name)) throw new UsageError(`%env: ${JSON.stringify(name)} is not a variable name (letters, digits and _, not starting with a digit)`);
    if (set) {
      process.env[name] = set[2]!;
      return new TextResult(`env: ${name}=${set[2]}`);
    }
    const value = process.env[name];
    if (value === undefined) throw new UsageError(`%env: environment variable ${name} is not set`);
    return new TextResult(value);
  },
};
