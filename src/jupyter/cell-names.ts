/**
 * Names the kernel's compiled cell code uses. They live apart from the converter so that code
 * running cells can name them without loading TypeScript.
 */

/** The interrupt tick every loop of a cell calls (see loop-guard.ts). */
export const TICK_NAME = "__xenlab_tick__";

/** Holds the value of a cell's last expression: `__xenlab_result__.value = expr`. */
export const RESULT_NAME = "__xenlab_result__";

/** The module cells import the library's and the kernel's names from. */
export const SCOPE_SPECIFIER = "./__xenlab_scope__";

/** Cell number `n` as a module later cells import its names from. */
export function cellSpecifier(n: number): string {
  return `./__xenlab_cell_${n}__`;
}

/** A module the kernel's own imports name: at run time each is the one shared scope object. */
export function isScopeSpecifier(id: string): boolean {
  return id === SCOPE_SPECIFIER || /^\.\/__xenlab_cell_\d+__$/.test(id);
}
