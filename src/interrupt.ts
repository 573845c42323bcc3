/**
 * Cooperative interruption for long synchronous work (an emulated guest running millions of
 * instructions, a disk conversion). Library loops call `checkInterrupt()` between slices; whoever
 * hosts the library (the Jupyter kernel, a CLI) installs the source that says "stop now".
 * The library knows nothing of Jupyter: a source is just a function.
 */

export class KeyboardInterrupt extends Error {
  constructor(message = "interrupted") {
    super(message);
    this.name = "KeyboardInterrupt";
  }
}

let source: () => boolean = () => false;

/** Installs the function that reports a pending interrupt (replacing any earlier one). */
export function setInterruptSource(fn: () => boolean): void {
  source = fn;
}

export function interruptRequested(): boolean {
  return source();
}

/** Throws KeyboardInterrupt if an interrupt is pending; cheap enough to call every slice. */
export function checkInterrupt(): void {
  if (source()) throw new KeyboardInterrupt();
}
