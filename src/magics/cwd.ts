/** %cd, %pwd and %%writefile: the kernel's working folder and files in it. */
import { appendFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { resolve } from "node:path";
import { completePath } from "./complete-path";
import { Magic, splitArgs, UsageError } from "./magic";
import { TextResult } from "./core";

export const cwdMagics: Magic[] = [
  {
    name: "cd",
    kind: "line",
    summary: "Change the working folder (where relative paths resolve).",
    help: "%cd [DIR]\n\nChanges the kernel's working folder to DIR (default: your home folder) and shows it.\nRelative paths in later cells and magics (VHD files, guest ELF files) resolve from there.\n\nExample:\n  %cd ~/disks",
    run(args) {
      const parts = splitArgs(args);
      if (parts.length > 1) throw new UsageError("%cd takes one folder");
      const target = parts[0] === undefined ? homedir() : resolve(parts[0].replace(/^~(?=$|\/)/, homedir()));
      try {
        process.chdir(target);
      } catch (err) {
        throw new UsageError(`cannot change to ${target}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      return new TextResult(process.cwd());
    },
    complete: (before) => completePath(before, { directoriesOnly: true }),
  },
  {
    name: "pwd",
    kind: "line",
    summary: "Show the working folder.",
    help: "%pwd\n\nShows the kernel's working folder.",
    run(args) {
      if (args) throw new UsageError("%pwd takes no arguments");
      return new TextResult(process.cwd());
    },
  },
  {
    name: "writefile",
    kind: "cell",
    summary: "Write the cell body to a file (xl.cfg files, guest sources).",
    help: "%%writefile [-a] FILE\nBODY\n\nWrites BODY to FILE (relative to the working folder); -a appends instead.\n\nExample:\n  %%writefile guest.cfg\n  name = \"longhorn\"\n  memory = 256",
    run(args, body) {
      const parts = splitArgs(args);
      const append = parts[0] === "-a";
      if (append) parts.shift();
      if (parts.length !== 1) throw new UsageError("%%writefile needs exactly one file name: %%writefile [-a] FILE");
      const path = resolve(parts[0]!.replace(/^~(?=$|\/)/, homedir()));
      const text = body?.endsWith("\n") || !body ? (body ?? "") : `${body}\n`;
      try {
        (append ? appendFileSync : writeFileSync)(path, text);
      } catch (err) {
        throw new UsageError(`cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      return new TextResult(`${append ? "Appended to" : "Wrote"} ${path} (${Buffer.byteLength(text)} bytes)`);
    },
    complete: (before) => completePath(before),
  },
];
