/** %cd/%pwd and file-path completion of magic arguments. */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { completePath } from "../../src/magics/complete-path";
import { cwdMagics } from "../../src/magics/cwd";
import { recordingContext } from "../support/magic-context";

const start = process.cwd();
const dir = mkdtempSync(join(tmpdir(), "xenlab-cwd-"));
mkdirSync(join(dir, "disks"));
writeFileSync(join(dir, "disks", "longhorn.vhd"), "");
writeFileSync(join(dir, "disks", "notes.txt"), "");
writeFileSync(join(dir, ".hidden"), "");
afterAll(() => process.chdir(start));

const cd = cwdMagics.find((m) => m.name === "cd")!;
const ctx = recordingContext().c;

describe("%cd", () => {
  it("changes the working folder and returns it", () => {
    const r = cd.run(dir, undefined, ctx) as { text: string };
    expect(r.text).toBe(process.cwd());
    expect(process.cwd()).toBe(dir);
  });
  it("names the folder it could not enter", () => {
    expect(() => cd.run("no-such-folder", undefined, ctx)).toThrow(/cannot change to .*no-such-folder: ENOENT/);
  });
});

describe("completePath", () => {
  it("completes names in the working folder, folders with a trailing slash, hidden files only when asked", () => {
    process.chdir(dir);
    expect(completePath("info d")).toEqual(["disks/"]);
    expect(completePath("info disks/")).toEqual(["disks/longhorn.vhd", "disks/notes.txt"]);
    expect(completePath("info disks/lo")).toEqual(["disks/longhorn.vhd"]);
    expect(completePath("info .h")).toEqual([".hidden"]);
    expect(completePath("info ", { filter: (n) => n.endsWith(".vhd") })).toEqual(["disks/"]);
    expect(completePath("", { directoriesOnly: true })).toEqual(["disks/"]);
    expect(completePath(`${dir}/disks/n`)).toEqual([`${dir}/disks/notes.txt`]);
  });
});

describe("%%writefile", () => {
  const writefile = cwdMagics.find((m) => m.name === "writefile")!;
  it("writes the body (ending it with a newline) and appends with -a", () => {
    process.chdir(dir);
    const r = writefile.run("guest.cfg", 'name = "longhorn"', ctx) as { text: string };
    expect(r.text).toBe(`Wrote ${join(dir, "guest.cfg")} (18 bytes)`);
    writefile.run("-a guest.cfg", "memory = 256\n", ctx);
    expect(readFileSync(join(dir, "guest.cfg"), "utf8")).toBe('name = "longhorn"\nmemory = 256\n');
  });
  it("needs exactly one file name, and names a file it cannot write", () => {
    expect(() => writefile.run("", "x", ctx)).toThrow(/exactly one file name/);
    expect(() => writefile.run("no/such/dir/f", "x", ctx)).toThrow(/cannot write .*no\/such\/dir\/f: ENOENT/);
  });
});
