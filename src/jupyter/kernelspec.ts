/**
 * Installs the kernelspec (jupyter_client kernelspec.py's layout): a folder named for the kernel
 * under `<data dir>/kernels/` holding kernel.json and the logos from `kernel/`.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { PACKAGE_ROOT } from "../package-root";
import { PROTOCOL_VERSION } from "./messages";

export type InstallScope = { kind: "user" } | { kind: "sys-prefix" } | { kind: "prefix"; dir: string } | { kind: "system" };

export const DEFAULT_KERNEL_NAME = "xenlab";

/** The kernels folder for a scope, as `jupyter kernelspec install` would choose it. */
export function kernelsDir(scope: InstallScope): string {
  switch (scope.kind) {
    case "user": {
      const data = process.env.JUPYTER_DATA_DIR || join(process.env.XDG_DATA_HOME || join(homedir(), ".local", "share"), "jupyter");
      return join(data, "kernels");
    }
    case "prefix":
      return join(resolve(scope.dir), "share", "jupyter", "kernels");
    case "sys-prefix":
      return join(pythonSysPrefix(), "share", "jupyter", "kernels");
    case "system":
      return join("/usr/local/share/jupyter/kernels");
  }
}

/** An install that cannot be done as asked; the message says why and what to do instead. */
export class KernelspecError extends Error {
  override name = "KernelspecError";
}

/**
 * sys.prefix of the Python environment that runs Jupyter (the one `jupyter` on PATH uses). A
 * Python that is not a virtual environment (sys.prefix == sys.base_prefix, e.g. Debian's /usr)
 * has no prefix of its own: writing there is a system-wide install, which is refused here so that
 * nobody does one by accident.
 */
function pythonSysPrefix(): string {
  const tried: string[] = [];
  for (const python of ["python3", "/usr/bin/python3"]) {
    let out: string;
    try {
      out = execFileSync(python, ["-c", "import sys, jupyter_client; print(sys.prefix); print(sys.base_prefix)"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    } catch {
      tried.push(`${python} (no jupyter_client)`);
      continue;
    }
    const [prefix = "", base = ""] = out.trim().split("\n");
    if (prefix !== base) return prefix;
    throw new KernelspecError(
      `--sys-prefix: ${python} runs Jupyter but is not a virtual environment (its sys.prefix is ${prefix}), so there is no environment to install into; ` +
        `use \`xenlab install\` for a system-wide kernel (${kernelsDir({ kind: "system" })}), --prefix ${prefix} to write there on purpose, or --user`,
    );
  }
  throw new KernelspecError(`--sys-prefix needs a Python environment with jupyter_client; tried ${tried.join(", ")}. Use --user, --prefix DIR, or no flag (system-wide)`);
}

/**
 * --expose-gc: memory is given back once idle after a big request or cell (memory-release.ts).
 * --max-semi-space-size=2 (MiB): V8 grows its young generation to 2 x 16 MiB once a cell
 * allocates (the first TypeScript cell does), and keeps it resident while the kernel idles; 2 x 2
 * MiB holds a cell's short-lived garbage as well (kernel.ts_cell did not move) for 28 MiB less.
 */
export const KERNEL_NODE_FLAGS = ["--expose-gc", "--max-semi-space-size=2"];

/**
 * The kernel's environment (kernel.json's env; the test client sets the same). glibc's malloc
 * keeps freed memory in its heaps and raises its mmap threshold as the process frees big blocks
 * (mallopt(3): M_MMAP_THRESHOLD is dynamic unless a threshold is set), so V8's parser, compiler and
 * zeromq leave freed memory resident. Setting M_TRIM_THRESHOLD (here at its 128 KiB default) fixes
 * both thresholds: big blocks are mmap'd and unmapped when freed, heap tops are trimmed. Measured
 * after 30 TypeScript cells: 199.2 -> 184.8 MiB resident; per declaring cell 91.6 -> 20.0 KiB.
 * The price: start to the first TypeScript cell done ~20% slower (A/B at load 4-5, alternating
 * kernels: medians ~5.2 vs ~4.3 s; heap trimming during the program build), later cells unchanged
 * (kernel.ts_cell 0.95x ipykernel either way). An 8 MiB threshold saved only 4 MiB.
 * Processes the kernel starts (%%bash, !cmd) inherit it; it changes no program's results.
 */
export const KERNEL_ENV: Record<string, string> = { MALLOC_TRIM_THRESHOLD_: "131072" };

export function kernelJson(displayName: string): Record<string, unknown> {
  return {
    argv: [process.execPath, ...KERNEL_NODE_FLAGS, join(PACKAGE_ROOT, "dist", "src", "cli", "main.js"), "kernel", "-f", "{connection_file}"],
    display_name: displayName,
    language: "typescript",
    interrupt_mode: "message",
    kernel_protocol_version: PROTOCOL_VERSION,
    env: { ...KERNEL_ENV },
    metadata: { debugger: false },
  };
}

export function installKernelspec(scope: InstallScope, name = DEFAULT_KERNEL_NAME, displayName = "XenLab (TypeScript)"): string {
  if (!/^[a-z0-9._-]+$/i.test(name)) throw new Error(`kernel name ${JSON.stringify(name)} may only hold letters, digits, '.', '_' and '-'`);
  const dir = join(kernelsDir(scope), name.toLowerCase());
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "kernel.json"), `${JSON.stringify(kernelJson(displayName), null, 2)}\n`);
  const assets = join(PACKAGE_ROOT, "kernel");
  for (const file of readdirSync(assets)) {
    if (/^logo-.*\.(png|svg)$/.test(file)) copyFileSync(join(assets, file), join(dir, file));
  }
  return dir;
}

export function uninstallKernelspec(scope: InstallScope, name = DEFAULT_KERNEL_NAME): string | undefined {
  const dir = join(kernelsDir(scope), name.toLowerCase());
  if (!existsSync(join(dir, "kernel.json"))) return undefined;
  rmSync(dir, { recursive: true, force: true });
  return dir;
}
