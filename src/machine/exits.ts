/**
 * VM exits: what `Vcpu.run()` / `Vcpu.step()` return. An exit is data; the machine knows nothing
 * about Xen, so whoever owns the vCPU (a hypervisor model, a test, a notebook) answers it and runs
 * the vCPU again.
 *
 * Convention (as after VMX "instruction exits" once the hypervisor has advanced RIP): for exits
 * caused by an instruction (hypercall, cpuid, rdmsr, wrmsr, hlt, io) the instruction counts as
 * retired and RIP already points after it (`nextRip`); the owner writes the results (RAX..., or
 * `vcpu.completeCpuid()`...) and resumes. To refuse the instruction instead (e.g. #GP for an
 * unknown MSR) call `vcpu.injectException(vector, code, exit.rip)`, which rewinds to `rip`.
 * A `gpa-fault` did not retire its instruction: map the frame and resume to retry it.
 */
import { Gpa, Gva } from "./types";

export type Access = "read" | "write" | "exec";

export type Exit =
  | { kind: "hypercall"; insn: "vmcall" | "vmmcall"; rip: Gva; nextRip: Gva }
  | { kind: "cpuid"; leaf: number; subleaf: number; rip: Gva; nextRip: Gva }
  | { kind: "rdmsr"; msr: number; rip: Gva; nextRip: Gva }
  | { kind: "wrmsr"; msr: number; value: bigint; rip: Gva; nextRip: Gva }
  | { kind: "hlt"; rip: Gva; nextRip: Gva }
  | { kind: "io"; direction: "in" | "out"; port: number; size: 1 | 2 | 4; value: number; rip: Gva; nextRip: Gva }
  | { kind: "gpa-fault"; gpa: Gpa; access: Access; rip: Gva; va: Gva }
  | { kind: "triple-fault"; rip: Gva; vector: number; reason: string }
  | { kind: "breakpoint"; rip: Gva; symbol?: string }
  | { kind: "watchpoint"; rip: Gva; address: Gva; size: number; value: bigint }
  | { kind: "budget"; rip: Gva }
  | { kind: "interrupt"; rip: Gva }
  | { kind: "unsupported"; rip: Gva; reason: string };

export type ExitKind = Exit["kind"];

/** Thrown inside the interpreter to leave a block with an exit; never escapes `run`. */
export class ExitSignal {
  constructor(readonly exit: Exit) {}
}

/** A guest exception (vector, error code) raised while executing; delivered through the IDT. */
export class GuestFault {
  constructor(
    readonly vector: number,
    readonly errorCode: number | undefined,
    readonly reason: string,
    readonly cr2?: number,
  ) {}
}

/** Exception vectors (Intel SDM Vol. 3A Table 6-1). */
export const Vector = {
  DE: 0, DB: 1, NMI: 2, BP: 3, OF: 4, BR: 5, UD: 6, NM: 7, DF: 8, TS: 10, NP: 11, SS: 12, GP: 13, PF: 14,
  MF: 16, AC: 17, MC: 18, XM: 19,
} as const;

/** Exceptions that push an error code (SDM Vol. 3A Table 6-1, "Error Code" column). */
export const HAS_ERROR_CODE = new Set<number>([8, 10, 11, 12, 13, 14, 17]);

/** Short mnemonic of an exception vector (#PF, #GP...). */
export function vectorName(v: number): string {
  const names = ["DE", "DB", "NMI", "BP", "OF", "BR", "UD", "NM", "DF", "CSO", "TS", "NP", "SS", "GP", "PF", "15", "MF", "AC", "MC", "XM"];
  return names[v] ?? String(v);
}
