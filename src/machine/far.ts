/**
 * Far call and far return with 16- or 32-bit operands (SDM Vol. 2A CALL, RET "far"): the CS
 * selector and the return offset on the stack, CS loaded as the mode says (a descriptor in
 * protected mode, selector·16 in real mode; sysregs.ts loadCs). Call gates and returns to an
 * outer privilege level are not modelled (64-bit retfq stays in emit/branch.ts).
 */
import type { Vcpu } from "./vcpu";

/**
 * Pushes CS and the return offset, then loads CS:offset; a failing CS load leaves SP as it was.
 * Size 8 is 64-bit mode's REX.W form (m16:64, Intel; SDM Vol. 2A CALL): 8-byte pushes, a 64-bit offset.
 */
export function farCall(c: Vcpu, sel: number, off: number, size: 2 | 4 | 8, ret: number): void {
  const sp = c.sp();
  const oldCs = c.cs.selector;
  try {
    if (size === 2) { c.push16(oldCs); c.push16(ret & 0xffff); }
    else if (size === 4) { c.push32(oldCs); c.push32(ret | 0); }
    else { c.push64(oldCs, 0); c.push64(ret | 0, Math.floor(ret / 4294967296) | 0); }
    c.loadCs(sel & 0xffff);
  } catch (e) {
    c.setSp(sp);
    throw e;
  }
  c.rip = size === 2 ? off & 0xffff : size === 4 ? off >>> 0 : c.cn(off);
}

/** Pops the offset and CS, releases `imm` more bytes of stack, then loads CS:offset. */
export function farRet(c: Vcpu, size: 2 | 4, imm: number): void {
  const sp = c.sp();
  const off = size === 2 ? c.pop16() : c.pop32() >>> 0;
  const sel = (size === 2 ? c.pop16() : c.pop32()) & 0xffff;
  try {
    c.loadCs(sel);
  } catch (e) {
    c.setSp(sp);
    throw e;
  }
  if (imm) c.setSp(c.sp() + imm);
  c.rip = off;
}
