/** Builds what runs cells: the executor with the library in scope, and the magic table. */
import { join } from "node:path";
import { KeyboardInterrupt } from "../interrupt";
import { createMagicRegistry } from "../magics";
import { DIST_SRC } from "../package-root";
import { CellRunner } from "./cell-runner";
import { History } from "./history";
import { TsExecutor } from "./ts-executor";
import * as library from "../index";
import * as cellScope from "./cell-scope";
import { currentHost } from "../xen";
import { currentHypervHost } from "../hyperv";

export function createCellRunner(options: { interrupted?: () => boolean; history?: History } = {}): CellRunner {
  const interrupted = options.interrupted ?? (() => false);
  const tick = () => {
    if (interrupted()) throw new KeyboardInterrupt();
  };
  // Cells are type-checked against the compiled declarations (so dist/ must be built), and run
  // against these very module instances, so that state such as the current output is shared.
  const executor = new TsExecutor(
    [
      { path: join(DIST_SRC, "index"), exports: library as unknown as Record<string, unknown> },
      { path: join(DIST_SRC, "jupyter", "cell-scope"), exports: cellScope as unknown as Record<string, unknown> },
    ],
    tick,
  );
  // `host`: the notebook's live host, the one the %xl magics act on (kernel restart = a new one).
  executor.defineLive("host", () => currentHost(), `declare const host: import(${JSON.stringify(join(DIST_SRC, "xen", "host"))}).XenHost;`);
  // `longhorn`: the Windows Server "Longhorn" (Hyper-V) host, for the interop lessons.
  executor.defineLive("longhorn", () => currentHypervHost(), `declare const longhorn: import(${JSON.stringify(join(DIST_SRC, "hyperv", "host"))}).HypervHost;`);
  // `!cmd` leaves its exit status here, as IPython does.
  executor.define("_exit_code", 0, "declare const _exit_code: number;");
  return new CellRunner(executor, createMagicRegistry(), options.history ?? new History());
}
