/**
 * `x = !cmd`, `!!cmd` and `{expr}`/`$name` in `!cmd`, checked against IPython itself: the same
 * cells run on Debian's ipykernel and on the installed XenLab kernel, both driven by Debian's
 * jupyter_client, and what they print must be the same. (ipykernel runs `!cmd` under a pty, which
 * writes "\r\n"; lines are compared without the "\r".)
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { jupyterSandbox, PY } from "../support/jupyter";

const { work, env } = jupyterSandbox("shell-capture");
const dir = join(work, "files");
mkdirSync(dir);
for (const f of ["a.txt", "b.txt", "c.vhd"]) writeFileSync(join(dir, f), "");

function run(kernel: string, cells: string[]): { status: string; stdout: string }[] {
  const out = execFileSync(PY, [join(__dirname, "..", "jupyter", "python", "shell_capture.py"), kernel, JSON.stringify(cells)], { env, encoding: "utf8", timeout: 240_000 });
  return JSON.parse(out).map((r: { status: string; stdout: string }) => ({ ...r, stdout: r.stdout.replace(/\r\n/g, "\n") }));
}

/** [IPython, TypeScript] pairs; the shell lines themselves are the same text in both. */
const CELLS: [string, string][] = [
  [`import json\nn = 5\nname = 'disk a'`, `const n = 5\nconst name = 'disk a'`],
  [`x = !ls ${dir}\nprint(json.dumps(list(x), separators=(",", ":")))`, `x = !ls ${dir}\nconsole.log(JSON.stringify([...x]))`],
  [`print(json.dumps([x.s, x.n], separators=(",", ":")))`, `console.log(JSON.stringify([x.s, x.n]))`],
  [`y = !echo out; echo err >&2; exit 3\nprint(json.dumps(list(y), separators=(",", ":")))`, `const y = !echo out; echo err >&2; exit 3\nconsole.log(JSON.stringify([...y]))`],
  [`w = !printf 'a\\r\\nb\\n\\nc'\nprint(json.dumps(list(w), separators=(",", ":")))`, `const w = !printf 'a\\r\\nb\\n\\nc'\nconsole.log(JSON.stringify([...w]))`],
  [`!echo {n*2} $n '$n' $$n {{n}}`, `!echo {n*2} $n '$n' $$n {{n}}`],
  [`!echo $n $XENLAB_UNSET_VARIABLE`, `!echo $n $XENLAB_UNSET_VARIABLE`],
  [`!echo "{name}" {n+1}`, `!echo "{name}" {n+1}`],
  [`z = !echo $name {n-1}\nprint(json.dumps(list(z), separators=(",", ":")))`, `const z = !echo $name {n-1}\nconsole.log(JSON.stringify([...z]))`],
];

it("capture and expand the way IPython does, cell for cell", () => {
  const ipython = run("python3", CELLS.map((c) => c[0]));
  const xenlab = run("xenlab", CELLS.map((c) => c[1]));
  expect(xenlab.map((r) => r.status)).toEqual(ipython.map(() => "ok"));
  expect(ipython.map((r) => r.status)).toEqual(ipython.map(() => "ok"));
  expect(xenlab).toEqual(ipython);
  // What IPython printed, so that a change on both sides cannot pass unnoticed.
  expect(ipython.map((r) => r.stdout)).toEqual([
    "",
    '["a.txt","b.txt","c.vhd"]\n',
    '["a.txt b.txt c.vhd","a.txt\\nb.txt\\nc.vhd"]\n',
    '["out","err"]\n',
    '["a","b","","c"]\n',
    "10 5 $n {n}\n",
    "\n",
    "disk a 6\n",
    '["disk a 4"]\n',
  ]);
});

it("keeps `= !name` a negation when the name means something to the cell", () => {
  const [r] = run("xenlab", ["let done = false\nconst ok = !done\nconsole.log(ok)"]);
  expect(r).toEqual({ status: "ok", stdout: "true\n" });
});
