/**
 * Exceptions and interrupts through the IDT (64-bit gates, SDM Vol. 3A §6.14; protected-mode
 * gates §6.12), iret, and syscall/sysret (SDM Vol. 2B).
 */
import type { Vcpu } from "./vcpu";
import { Exit, ExitSignal, GuestFault, Vector, vectorName } from "./exits";
import { IF, TF } from "./flags";
import { EFER_LMA, EFER_SCE } from "./registers";
import { Gva, gva } from "./types";
import { deliverReal, iretReal, isReal } from "./realmode";
import { descriptorBase, descriptorLimit, setSegCache } from "./segcache";

const TWO32 = 4294967296;
const CANON = 2 ** 47;

/**
 * Delivers an exception or interrupt through the IDT (SDM Vol. 3A §6.14: 64-bit mode gates).
 * A fault while delivering becomes #DF, a fault delivering #DF a triple-fault exit.
 */
export function deliver(c: Vcpu, vector: number, errorCode: number | undefined, software: boolean, returnRip: number, reason: string, nested = 0): Exit | undefined {
  if (isReal(c)) return deliverReal(c, vector, returnRip, reason, nested);
  if (!(c.efer & EFER_LMA)) return c.deliver32(vector, errorCode, software, returnRip, reason, nested);
  const oldCpl = c.cpl;
  try {
    const gateAddr = c.idtrBase + vector * 16;
    if (vector * 16 + 15 > c.idtrLimit) throw new GuestFault(Vector.GP, vector * 8 + 2, `vector ${vector} beyond IDT limit`);
    // IDT, GDT and TSS reads are supervisor accesses regardless of CPL (SDM Vol. 3A §4.6.1
    // "implicit supervisor-mode accesses"); the frame is pushed at the new CPL.
    if (oldCpl !== 0) { c.cpl = 0; c.flushTlb(); }
    const d0 = c.r32(gateAddr), d1 = c.r32(gateAddr + 4), d2 = c.r32(gateAddr + 8);
    const type = (d1 >>> 8) & 0xf;
    if (!(d1 & 0x8000)) throw new GuestFault(Vector.NP, vector * 8 + 2, `IDT gate ${vector} not present`);
    if (type !== 0xe && type !== 0xf) throw new GuestFault(Vector.GP, vector * 8 + 2, `IDT gate ${vector} has type ${type}`);
    const dpl = (d1 >>> 13) & 3;
    if (software && dpl < oldCpl) throw new GuestFault(Vector.GP, vector * 8 + 2, `int ${vector} from CPL ${c.cpl} to gate DPL ${dpl}`);
    const sel = d0 >>> 16;
    const target = gva((BigInt(d2 >>> 0) << 32n) | BigInt(((d1 & 0xffff0000) | (d0 & 0xffff)) >>> 0));
    const ist = d1 & 7;
    const [, chi] = c.descriptor(sel);
    const newCpl = (chi >>> 13) & 3;
    const oldSs = c.ss;
    const oldRsp = c.H[4]! * TWO32 + (c.R[4]! >>> 0);
    const rflags = c.getFlags();
    let rsp = oldRsp;
    if (newCpl < oldCpl || ist) {
      const slot = ist ? 36 + 8 * (ist - 1) : 4 + 8 * newCpl;
      const lo = c.r32(c.trBase + slot), hi = c.r32(c.trBase + slot + 4);
      rsp = gva((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
    }
    c.cpl = newCpl;
    if (newCpl !== 0) c.flushTlb();
    rsp -= rsp % 16 === 0 ? 0 : ((rsp % 16) + 16) % 16;
    const frame: number[] = [oldSs, oldRsp, rflags, c.cs.selector, returnRip];
    if (errorCode !== undefined) frame.push(errorCode);
    for (const v of frame) {
      rsp -= 8;
      const b = BigInt.asUintN(64, BigInt(v));
      c.w64(rsp, Number(b & 0xffffffffn) | 0, Number(b >> 32n) | 0);
    }
    c.R[4] = rsp | 0;
    c.H[4] = Math.floor(rsp / TWO32) | 0;
    if (newCpl < oldCpl) c.ss = newCpl; // null selector with RPL = new CPL (SDM §6.14.2)
    c.cs = { selector: (sel & ~3) | newCpl, long: (chi & (1 << 21)) !== 0, db: (chi & (1 << 22)) !== 0 };
    c.updateMode();
    c.rip = target;
    let rest = c.eflagsRest & ~(TF | (1 << 16) | (1 << 14) | (1 << 8));
    if (type === 0xe) rest &= ~IF;
    c.eflagsRest = rest;
    return undefined;
  } catch (e) {
    if (c.cpl !== oldCpl) { c.cpl = oldCpl; c.flushTlb(); }
    if (e instanceof GuestFault) {
      if (e.vector === Vector.PF && e.cr2 !== undefined) c.cr2 = e.cr2;
      if (nested >= 1 || vector === Vector.DF) {
        return { kind: "triple-fault", rip: returnRip as Gva, vector, reason: `${reason}; then ${e.reason} while delivering` };
      }
      c.trace.event(returnRip, `#${vectorName(e.vector)} while delivering vector ${vector}: ${e.reason} -> #DF`);
      return c.deliver(Vector.DF, 0, false, returnRip, `double fault: ${e.reason}`, nested + 1);
    }
    if (e instanceof ExitSignal) {
      (e.exit as { rip: number }).rip = returnRip;
      return e.exit;
    }
    throw e;
  }
}

/**
 * Protected-mode delivery through 8-byte gates (SDM Vol. 3A §6.12.1, Figure 6-2): pushes
 * [SS, ESP,] EFLAGS, CS, EIP [, error code]; the stack switch comes from the 32-bit TSS
 * (ESP0 at +4, SS0 at +8). Flat segments are assumed, as everywhere in this model.
 */
export function deliver32(c: Vcpu, vector: number, errorCode: number | undefined, software: boolean, returnRip: number, reason: string, nested: number): Exit | undefined {
  const oldCpl = c.cpl;
  try {
    if (vector * 8 + 7 > c.idtrLimit) throw new GuestFault(Vector.GP, vector * 8 + 2, `vector ${vector} beyond IDT limit`);
    if (oldCpl !== 0) { c.cpl = 0; c.flushTlb(); }
    const lo = c.r32((c.idtrBase + vector * 8) >>> 0), hi = c.r32((c.idtrBase + vector * 8 + 4) >>> 0);
    const type = (hi >>> 8) & 0xf;
    if (!(hi & 0x8000)) throw new GuestFault(Vector.NP, vector * 8 + 2, `IDT gate ${vector} not present`);
    if (type !== 0xe && type !== 0xf) throw new GuestFault(Vector.GP, vector * 8 + 2, `IDT gate ${vector} has type ${type} (only 32-bit interrupt/trap gates are modelled)`);
    if (software && ((hi >>> 13) & 3) < oldCpl) throw new GuestFault(Vector.GP, vector * 8 + 2, `int ${vector} from CPL ${oldCpl}`);
    const sel = lo >>> 16;
    const target = ((hi & 0xffff0000) | (lo & 0xffff)) >>> 0;
    const [clo, chi] = c.descriptor(sel);
    const newCpl = (chi >>> 13) & 3;
    const eflags = c.getFlags();
    let esp = c.R[4]! >>> 0;
    const frame: number[] = [];
    if (newCpl < oldCpl) {
      frame.push(c.ss, esp);
      esp = c.r32((c.trBase + 4 + 8 * newCpl) >>> 0) >>> 0;
      c.ss = c.r16((c.trBase + 8 + 8 * newCpl) >>> 0);
    }
    frame.push(eflags, c.cs.selector, returnRip >>> 0);
    if (errorCode !== undefined) frame.push(errorCode);
    c.cpl = newCpl;
    for (const v of frame) {
      esp = (esp - 4) >>> 0;
      c.w32(esp, v | 0);
    }
    c.R[4] = esp | 0;
    c.cs = { selector: (sel & ~3) | newCpl, long: false, db: (chi & (1 << 22)) !== 0 };
    setSegCache(c, "cs", descriptorBase(clo, chi), descriptorLimit(clo, chi));
    c.updateMode();
    c.rip = target;
    let rest = c.eflagsRest & ~(TF | (1 << 16) | (1 << 14) | (1 << 8));
    if (type === 0xe) rest &= ~IF;
    c.eflagsRest = rest;
    return undefined;
  } catch (e) {
    if (c.cpl !== oldCpl) { c.cpl = oldCpl; c.flushTlb(); }
    if (e instanceof GuestFault) {
      if (e.vector === Vector.PF && e.cr2 !== undefined) c.cr2 = e.cr2;
      if (nested >= 1 || vector === Vector.DF) return { kind: "triple-fault", rip: returnRip as Gva, vector, reason: `${reason}; then ${e.reason} while delivering` };
      c.trace.event(returnRip, `#${vectorName(e.vector)} while delivering vector ${vector}: ${e.reason} -> #DF`);
      return c.deliver32(Vector.DF, 0, false, returnRip, `double fault: ${e.reason}`, nested + 1);
    }
    if (e instanceof ExitSignal) {
      (e.exit as { rip: number }).rip = returnRip;
      return e.exit;
    }
    throw e;
  }
}

/** iretd in protected mode and in compatibility mode: EIP, CS, EFLAGS [, ESP, SS when returning to an outer level]. */
export function iret32(c: Vcpu): void {
  const eip = c.pop32() >>> 0, cs = c.pop32() & 0xffff, fl = c.pop32() >>> 0;
  const newCpl = cs & 3;
  if (newCpl < c.cpl) throw new GuestFault(Vector.GP, cs & ~3, "iret to a more privileged level");
  let esp: number | undefined, ss: number | undefined;
  if (newCpl > c.cpl) { esp = c.pop32() >>> 0; ss = c.pop32() & 0xffff; }
  const keepIopl = c.cpl !== 0;
  const old = c.eflagsRest;
  c.setFlags(fl);
  if (keepIopl) c.eflagsRest = (c.eflagsRest & ~0x3000) | (old & 0x3000);
  c.loadCs(cs);
  if (esp !== undefined) { c.R[4] = esp | 0; c.ss = ss!; }
  c.rip = eip;
}

/** iretq / iretd (SDM Vol. 2A IRET, 64-bit mode: always pops SS:RSP). */
export function iret(c: Vcpu, size: 8 | 4 | 2): void {
  if (isReal(c)) return iretReal(c, size === 8 ? 4 : size);
  if (size === 2) throw new GuestFault(Vector.UD, undefined, "16-bit iret in protected mode is not modelled");
  // IA-32e mode from compatibility mode pops EIP, CS, EFLAGS and only to an outer level ESP, SS,
  // as protected mode does (SDM Vol. 2A IRET, IA-32e-MODE: SS:RSP always only in 64-bit mode).
  if (!(c.efer & EFER_LMA) || !c.mode64) return c.iret32();
  const pop = (): number => {
    if (size === 8) {
      const lo = c.pop64();
      return gva((BigInt(c.tH >>> 0) << 32n) | BigInt(lo >>> 0));
    }
    return c.pop32() >>> 0;
  };
  const rip = pop(), cs = pop(), fl = pop(), rsp = pop(), ss = pop();
  const newCpl = cs & 3;
  if (newCpl < c.cpl) throw new GuestFault(Vector.GP, cs & ~3, "iret to a more privileged level");
  const keepIopl = c.cpl !== 0;
  const old = c.eflagsRest;
  c.setFlags(fl);
  if (keepIopl) c.eflagsRest = (c.eflagsRest & ~0x3000) | (old & 0x3000);
  c.loadCs(cs);
  c.ss = ss & 0xffff;
  c.setSpRaw(rsp);
  c.rip = rip;
}

/** syscall (SDM Vol. 2B): RCX=next RIP, R11=RFLAGS, CS/SS from STAR, RIP=LSTAR, RFLAGS&=~SFMASK. */
export function syscall(c: Vcpu, next: number): void {
  if (!(c.efer & EFER_SCE) || !c.mode64) throw new GuestFault(Vector.UD, undefined, "syscall with EFER.SCE clear or outside 64-bit mode");
  const b = BigInt.asUintN(64, BigInt(next));
  c.R[1] = Number(b & 0xffffffffn) | 0; c.H[1] = Number(b >> 32n) | 0;
  const fl = c.getFlags();
  c.R[11] = fl; c.H[11] = 0;
  const sel = Number((c.star >> 32n) & 0xffffn);
  c.cs = { selector: sel & ~3, long: true, db: false };
  c.ss = (sel + 8) & ~3;
  if (c.cpl !== 0) { c.cpl = 0; c.flushTlb(); }
  c.updateMode();
  c.setFlags(fl & ~c.sfmask & ~0x10000);
  c.rip = c.lstar;
}

/** sysretq: back to CPL 3 at RCX with RFLAGS from R11. */
export function sysret(c: Vcpu): void {
  c.priv();
  if (!(c.efer & EFER_SCE) || !c.mode64) throw new GuestFault(Vector.UD, undefined, "sysret with EFER.SCE clear");
  const sel = Number((c.star >> 48n) & 0xffffn);
  const rcx = c.H[1]! * TWO32 + (c.R[1]! >>> 0);
  if (!(rcx >= -CANON && rcx < CANON)) throw new GuestFault(Vector.GP, 0, "sysret to non-canonical RCX");
  c.cs = { selector: (sel + 16) | 3, long: true, db: false };
  c.ss = (sel + 8) | 3;
  c.setFlags((c.R[11]! & 0x3c7fd7) | 2);
  c.cpl = 3;
  c.flushTlb();
  c.updateMode();
  c.rip = rcx;
}

/**
 * sysenter (SDM Vol. 2B SYSENTER): CS = IA32_SYSENTER_CS & ~3 and SS = CS + 8, both flat with
 * fixed caches (not read from the GDT); CPL 0; VM, IF, RF cleared; ESP/EIP from the MSRs, as
 * 64-bit RSP/RIP and a 64-bit CS in IA-32e mode (also from compatibility mode).
 */
export function sysenter(c: Vcpu): void {
  if (!(c.cr0 & 1) || (c.sysenterCs & 0xfffc) === 0) throw new GuestFault(Vector.GP, 0, "sysenter with IA32_SYSENTER_CS[15:2] = 0 or in real mode");
  const ia32e = (c.efer & EFER_LMA) !== 0;
  const sel = c.sysenterCs & 0xfffc;
  c.eflagsRest &= ~(IF | (1 << 16) | (1 << 17));
  c.cs = { selector: sel, long: ia32e, db: !ia32e };
  setSegCache(c, "cs", 0, 0xffffffff);
  c.ss = sel + 8;
  setSegCache(c, "ss", 0, 0xffffffff);
  c.ssBig = true;
  if (c.cpl !== 0) { c.cpl = 0; c.flushTlb(); }
  c.updateMode();
  c.setSpRaw(ia32e ? c.sysenterEsp : c.sysenterEsp >>> 0);
  c.rip = ia32e ? c.sysenterEip : c.sysenterEip >>> 0;
}

/**
 * sysexit (SDM Vol. 2B SYSEXIT): CPL 3 with CS = IA32_SYSENTER_CS + 16 (+ 32 for the REX.W form,
 * a 64-bit CS) | 3, SS = CS + 8, flat fixed caches; EIP = EDX, ESP = ECX (RIP/RSP = RDX/RCX,
 * which must be canonical, for sysexitq).
 */
export function sysexit(c: Vcpu, q: boolean): void {
  if (!(c.cr0 & 1) || (c.sysenterCs & 0xfffc) === 0 || c.cpl !== 0) throw new GuestFault(Vector.GP, 0, "sysexit with IA32_SYSENTER_CS[15:2] = 0 or at CPL > 0");
  const rcx = c.H[1]! * TWO32 + (c.R[1]! >>> 0), rdx = c.H[2]! * TWO32 + (c.R[2]! >>> 0);
  if (q && !(rcx >= -CANON && rcx < CANON && rdx >= -CANON && rdx < CANON)) throw new GuestFault(Vector.GP, 0, "sysexitq to a non-canonical RCX or RDX");
  const sel = ((c.sysenterCs + (q ? 32 : 16)) & 0xffff) | 3;
  c.cs = { selector: sel, long: q, db: !q };
  setSegCache(c, "cs", 0, 0xffffffff);
  c.ss = (sel + 8) & 0xffff;
  setSegCache(c, "ss", 0, 0xffffffff);
  c.ssBig = true;
  c.cpl = 3;
  c.flushTlb();
  c.updateMode();
  c.setSpRaw(q ? rcx : c.R[1]! >>> 0);
  c.rip = q ? rdx : c.R[2]! >>> 0;
}

/** Software interrupt `int n` (and int3/into): delivered with the next RIP pushed. */
export function softInt(c: Vcpu, vector: number, next: number): void {
  const x = c.deliver(vector, undefined, true, next, `int ${vector}`);
  if (x) c.pendingExit = x;
}
