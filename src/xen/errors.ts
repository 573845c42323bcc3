/** Typed errors of the Xen model (toolstack side; guests get negative errno values instead). */
import { XEN_ERRNO, XenErrnoName } from "./abi";

/** A bad xl.cfg: names the key (or the line) that was wrong. */
export class XlConfigError extends Error {
  constructor(readonly key: string | undefined, readonly line: number, message: string) {
    super(key ? `xl.cfg: ${key}: ${message} (line ${line})` : `xl.cfg line ${line}: ${message}`);
    this.name = "XlConfigError";
  }
}

/** A toolstack operation that failed (what libxl would report), with a Xen errno name. */
export class XenError extends Error {
  constructor(readonly errno: XenErrnoName, message: string) {
    super(message);
    this.name = "XenError";
  }
  get code(): number {
    return -XEN_ERRNO[this.errno];
  }
}

/** A bad guest image (ELF without the PVH note, segment outside memory...). */
export class DomainBuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DomainBuildError";
  }
}
