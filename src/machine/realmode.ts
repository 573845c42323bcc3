/**
 * Real-address mode (SDM Vol. 3A chapter 20, §9.1): what a processor runs after RESET, INIT and
 * a startup IPI, and what firmware and Linux's AP trampoline (arch/x86/realmode/rm/
 * trampoline_64.S) run before they load a GDT and set CR0.PE.
 *
 *  - A segment load sets selector and base = selector·16 and keeps the limit (segcache.ts).
 *  - Interrupts and exceptions go through the interrupt vector table at IDTR.base: 4-byte
 *    offset:segment entries; the frame is FLAGS, CS, IP (16 bits each), never an error code
 *    (SDM Vol. 3A §20.1.4).
 *  - iret pops IP, CS, FLAGS (or their 32-bit forms with a 0x66 prefix).
 * The instructions themselves are the ordinary ones decoded as 16-bit code (codegen.ts).
 */
import type { Vcpu } from "./vcpu";
import { Exit, ExitSignal, GuestFault, Vector, vectorName } from "./exits";
import { IF, TF } from "./flags";
import { CR0_PE } from "./registers";
import { SIGNATURE } from "./cpu-features";
import type { SegName } from "./segcache";
import type { Gva } from "./types";

const AC = 1 << 18;

/** CR0 after RESET or INIT: CD, NW and ET set (SDM Vol. 3A §9.1.1, Table 9-1). */
export const CR0_AFTER_INIT = 0x60000010;

export function isReal(c: Vcpu): boolean {
  return (c.cr0 & CR0_PE) === 0;
}

/** A segment load in real mode: base = selector·16, limit and attributes unchanged. */
export function loadSegReal(c: Vcpu, seg: SegName, sel: number): void {
  sel &= 0xffff;
  if (seg === "cs") {
    c.cs = { ...c.cs, selector: sel };
    c.csBase = sel * 16;
    c.updateMode();
    return;
  }
  c[seg] = sel;
  c[seg === "fs" ? "fsBase" : seg === "gs" ? "gsBase" : (`${seg}Base` as "esBase")] = sel * 16;
}

/**
 * The processor state after INIT (SDM Vol. 3A §9.1.1, Table 9-1): real mode at F000:FFF0 with
 * CS.base FFFF0000, every other segment at 0 with a 64 KiB limit, EDX the processor signature.
 * x87/SSE state is left as it was (INIT does not change it).
 */
export function initState(c: Vcpu): void {
  c.R.fill(0); c.H.fill(0);
  c.R[2] = SIGNATURE;
  c.setFlags(0x2);
  c.cr0 = CR0_AFTER_INIT; c.cr2 = 0; c.cr3 = 0; c.cr4 = 0; c.efer = 0; c.cr8 = 0;
  c.cs = { selector: 0xf000, long: false, db: false };
  c.ss = c.ds = c.es = c.fs = c.gs = 0;
  c.esBase = c.ssBase = c.dsBase = 0; c.fsBase = c.gsBase = 0;
  c.segLimit.fill(0xffff);
  c.csBase = 0xffff0000;
  c.ssBig = false;
  c.gdtrBase = 0; c.gdtrLimit = 0xffff; c.idtrBase = 0; c.idtrLimit = 0xffff;
  c.ldtr = 0; c.ldtrBase = 0; c.ldtrLimit = 0xffff;
  c.trSelector = 0; c.trBase = 0; c.trLimit = 0xffff;
  c.cpl = 0;
  c.rip = 0xfff0;
  c.updateMode();
  c.flushTlb();
}

/**
 * A startup IPI with vector VV (SDM Vol. 3A §10.4.4.1, §8.4.4.1): after INIT, execution starts in
 * real mode at VV00:0000, i.e. linear address 000VV000.
 */
export function startupIpi(c: Vcpu, vector: number): void {
  if (!(Number.isInteger(vector) && vector >= 0 && vector <= 255)) throw new RangeError(`startup IPI vector ${vector} must be 0..255`);
  c.cs = { ...c.cs, selector: vector << 8 };
  c.csBase = vector << 12;
  c.rip = 0;
  c.updateMode();
}

/** Delivery through the IVT. A fault while delivering becomes #DF; a fault delivering #DF, shutdown. */
export function deliverReal(c: Vcpu, vector: number, returnRip: number, reason: string, nested: number): Exit | undefined {
  try {
    if (vector * 4 + 3 > c.idtrLimit) throw new GuestFault(Vector.GP, undefined, `vector ${vector} beyond the IVT limit 0x${c.idtrLimit.toString(16)}`);
    const entry = c.r32((c.idtrBase + vector * 4) >>> 0);
    c.push16(c.getFlags() & 0xffff);
    c.push16(c.cs.selector);
    c.push16(returnRip & 0xffff);
    c.eflagsRest &= ~(IF | TF | AC);
    loadSegReal(c, "cs", entry >>> 16);
    c.rip = entry & 0xffff;
    return undefined;
  } catch (e) {
    if (e instanceof GuestFault) {
      if (nested >= 1 || vector === Vector.DF) return { kind: "triple-fault", rip: returnRip as Gva, vector, reason: `${reason}; then ${e.reason} while delivering` };
      c.trace.event(returnRip, `#${vectorName(e.vector)} while delivering vector ${vector}: ${e.reason} -> #DF`);
      return deliverReal(c, Vector.DF, returnRip, `double fault: ${e.reason}`, nested + 1);
    }
    if (e instanceof ExitSignal) {
      (e.exit as { rip: number }).rip = returnRip;
      return e.exit;
    }
    throw e;
  }
}

/** iret (size 2) / iretd (size 4) in real mode: IP, CS, FLAGS; VM, VIP, VIF are kept (SDM Vol. 2A IRET). */
export function iretReal(c: Vcpu, size: 2 | 4): void {
  const pop = () => (size === 2 ? c.pop16() : c.pop32() >>> 0);
  const ip = pop(), cs = pop() & 0xffff, fl = pop();
  const keep = size === 2 ? ~0xffff : 0x1a0000; // VM, VIF, VIP
  c.setFlags((c.getFlags() & keep) | (fl & ~keep));
  loadSegReal(c, "cs", cs);
  c.rip = size === 2 ? ip & 0xffff : ip;
}
