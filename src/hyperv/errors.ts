/** Errors raised to the host's user (the toolstack side); guests get HV_STATUS values instead. */
export class HypervError extends Error {
  constructor(readonly status: string, message: string) {
    super(message);
    this.name = "HypervError";
  }
}
