/**
 * Names the kernel's compiled cell code uses. They live apart from the converter so that code
 * running cells can name them without loading TypeScript.
 */

/** The interrupt tick every loop of a cell calls (see loop-guard.ts). */
export const TICK_NAME = "__xenlab_tick__";

/** Holds the value of a cell's last expression: `__xenlab_result__.value = expr`. */
export const RESULT_NAME = "__xenlab_result__";

/** The module cells import earlier cells' names from; at run time, the shared scope object. */
export const SCOPE_SPECIFIER = "./__xenlab_scope__";
