/**
 * The x87/MMX, SSE and XCR0 state of a vCPU as plain data, for VcpuState (save/restore and
 * migration): what an XSAVE of components 0 and 1 holds, field by field as cpu-state.ts keeps it
 * (the full tag word rather than FXSAVE's abridged one, so a restore is exact). Loading checks
 * every field and names the first bad one; nothing is changed when a check fails.
 */
import type { CpuState } from "./cpu-state";
import { MachineError } from "./errors";
import { MXCSR_MASK, XCR0_SUPPORTED, XCR0_X87 } from "./xsave";

export interface FpuState {
  fcw: number; fsw: number; ftw: number;
  /** Last x87 opcode (11 bits), instruction and data pointers and selectors. */
  fop: number; fip: number; fcs: number; fdp: number; fds: number;
  /** R0..R7, 10 bytes each (significand then sign/exponent, little-endian), as hex: 160 digits. */
  st: string;
  mxcsr: number;
  /** XMM0..XMM15, 16 bytes each little-endian, as hex: 512 digits. */
  xmm: string;
  xcr0: number;
}

const hex = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("hex");

export function fpuState(c: CpuState): FpuState {
  return {
    fcw: c.fcw, fsw: c.fsw, ftw: c.ftw, fop: c.fop87, fip: c.fip, fcs: c.fcs, fdp: c.fdp, fds: c.fds,
    st: hex(c.fpr), mxcsr: c.mxcsr >>> 0, xmm: hex(c.xmm), xcr0: c.xcr0,
  };
}

function bytes(what: string, s: unknown, n: number): Buffer {
  if (typeof s !== "string" || s.length !== 2 * n || !/^[0-9a-f]*$/i.test(s)) throw new MachineError(`FPU state: ${what} must be ${2 * n} hex digits (${n} bytes)`);
  return Buffer.from(s, "hex");
}

function field(what: string, v: unknown, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max) throw new MachineError(`FPU state: ${what} must be an integer in 0..0x${max.toString(16)}, not ${String(v)}`);
  return v;
}

export function loadFpuState(c: CpuState, f: FpuState): void {
  if (typeof f !== "object" || f === null) throw new MachineError("FPU state must be an object");
  const st = bytes("st", f.st, c.fpr.byteLength), xmm = bytes("xmm", f.xmm, c.xmm.byteLength);
  const w = {
    fcw: field("fcw", f.fcw, 0xffff), fsw: field("fsw", f.fsw, 0xffff), ftw: field("ftw", f.ftw, 0xffff),
    fop: field("fop", f.fop, 0x7ff), fip: field("fip", f.fip, Number.MAX_SAFE_INTEGER), fcs: field("fcs", f.fcs, 0xffff),
    fdp: field("fdp", f.fdp, Number.MAX_SAFE_INTEGER), fds: field("fds", f.fds, 0xffff),
    mxcsr: field("mxcsr", f.mxcsr, 0xffffffff), xcr0: field("xcr0", f.xcr0, 0xffffffff),
  };
  // The same rules as LDMXCSR/FXRSTOR (reserved MXCSR bits) and XSETBV (x87 always, nothing unsupported).
  if (w.mxcsr & ~MXCSR_MASK) throw new MachineError(`FPU state: mxcsr 0x${w.mxcsr.toString(16)} sets reserved bits`);
  if (!(w.xcr0 & XCR0_X87) || (w.xcr0 & ~XCR0_SUPPORTED)) throw new MachineError(`FPU state: xcr0 0x${w.xcr0.toString(16)} is not a valid XCR0 for this vCPU`);
  c.fcw = w.fcw; c.fsw = w.fsw; c.ftw = w.ftw; c.fop87 = w.fop; c.fip = w.fip; c.fcs = w.fcs; c.fdp = w.fdp; c.fds = w.fds;
  c.mxcsr = w.mxcsr; c.xcr0 = w.xcr0;
  new Uint8Array(c.fpr.buffer, c.fpr.byteOffset, c.fpr.byteLength).set(st);
  new Uint8Array(c.xmm.buffer, c.xmm.byteOffset, c.xmm.byteLength).set(xmm);
}
