/** The kernel's own names in every cell's scope (beside the library's exports). */
export { clearOutput, comm, display, input, liveDisplay, updateDisplay } from "./cell-api";
export type { Comm, DisplayHandle } from "./cell-api";
