/** The kernel's own names in every cell's scope (beside the library's exports). */
export { clearOutput, comm, display, input, liveDisplay, updateDisplay } from "./cell-api";
export type { Comm, DisplayHandle } from "./cell-api";

import { currentCellSink } from "./cell-api";
import { runShowingProgress, type ProgressRunOptions, type RunnableHost } from "../magics/run-progress";

/**
 * `host.run(opts)` (or `longhorn.run(opts)`) with a live progress bar in the cell's output, for
 * runs that take a while: a Linux boot, a guest left to work.
 */
export function runWithProgress<H extends RunnableHost<H>>(target: H, opts: ProgressRunOptions<H>): ReturnType<H["run"]> {
  return runShowingProgress(target, opts, currentCellSink());
}
