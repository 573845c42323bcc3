/** Typed errors of the machine layer: misuse of the API by the host, never guest behaviour. */
export class MachineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MachineError";
  }
}

/** A machine frame number outside the machine's memory, or a frame used in the wrong state. */
export class FrameError extends MachineError {
  constructor(readonly mfn: number, reason: string) {
    super(`machine frame ${mfn}: ${reason}`);
    this.name = "FrameError";
  }
}

/** A guest-physical access from the host side (loader, hypervisor) with no P2M entry. */
export class GuestPhysError extends MachineError {
  constructor(readonly gpa: number, reason: string) {
    super(`guest-physical 0x${gpa.toString(16)}: ${reason}`);
    this.name = "GuestPhysError";
  }
}

/** A malformed ELF image: names the field and offset that were wrong. */
export class ElfFormatError extends MachineError {
  constructor(readonly field: string, readonly offset: number, reason: string) {
    super(`ELF ${field} at offset ${offset}: ${reason}`);
    this.name = "ElfFormatError";
  }
}

/** NASM-syntax source that keystone could not assemble; `line` is 1-based. */
export class AssemblyError extends MachineError {
  constructor(readonly line: number, readonly source: string, reason: string) {
    super(`line ${line}: ${reason}: ${source.trim()}`);
    this.name = "AssemblyError";
  }
}
