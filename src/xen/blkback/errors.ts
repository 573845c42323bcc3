/** Errors from the block backend, naming what was wrong (the spec field, the path, the state). */
export class BlkbackError extends Error {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = "BlkbackError";
  }
}
