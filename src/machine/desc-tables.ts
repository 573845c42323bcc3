/**
 * Descriptor-table instructions with the SDM's checks (Vol. 2A/2B LLDT, LTR, LAR, LSL, VERR,
 * VERW; Vol. 3A §3.4.5 descriptor layout, §3.5 system types, §8.2.2/§8.2.3 TSS descriptors).
 *
 * A selector is index (15:3), TI (2: 0 = GDT, 1 = LDT) and RPL (1:0). In IA-32e mode (EFER.LMA)
 * LDT and TSS descriptors are 16 bytes (base 63:32 in the third dword, the fourth dword's type
 * field must be 0) and the 16-bit TSS and the 16-bit/task gates are not valid types.
 */
import type { Vcpu } from "./vcpu";
import { GuestFault, Vector } from "./exits";
import { CR0_PE, EFER_LMA } from "./registers";
import { gva } from "./types";

const TWO32 = 4294967296;
const CANON = 2 ** 47;

/** System-descriptor types (SDM Vol. 3A Table 3-2). */
const TYPE_TSS16_AVAIL = 1, TYPE_LDT = 2, TYPE_TSS16_BUSY = 3, TYPE_CALL16 = 4, TYPE_TASK = 5;
const TYPE_TSS_AVAIL = 9, TYPE_TSS_BUSY = 11, TYPE_CALL = 12;
const DESC_S = 1 << 12, DESC_P = 1 << 15, DESC_G = 1 << 23;

/** The decoded fields of a segment descriptor's two dwords. */
export interface Descriptor {
  lo: number; hi: number;
  /** Linear address of the descriptor (for the busy-bit write and the 16-byte form). */
  at: number;
  system: boolean; type: number; dpl: number; present: boolean;
}

const ia32e = (c: Vcpu) => (c.efer & EFER_LMA) !== 0;

/**
 * The descriptor a selector names, or undefined if its offset lies beyond the table's limit
 * (or TI=1 with a null LDTR). Null selectors are the caller's business.
 */
export function lookup(c: Vcpu, sel: number): Descriptor | undefined {
  const ldt = (sel & 4) !== 0;
  if (ldt && (c.ldtr & ~3) === 0) return undefined;
  const base = ldt ? c.ldtrBase : c.gdtrBase, limit = ldt ? c.ldtrLimit : c.gdtrLimit;
  const off = sel & ~7;
  if (off + 7 > limit) return undefined;
  const at = base + off;
  const lo = c.r32(at) | 0, hi = c.r32(at + 4) | 0;
  return { lo, hi, at, system: (hi & DESC_S) === 0, type: (hi >>> 8) & 15, dpl: (hi >>> 13) & 3, present: (hi & DESC_P) !== 0 };
}

/** Segment limit in bytes-1, scaled by G (SDM Vol. 3A §3.4.5). */
export function limitOf(d: Descriptor): number {
  const raw = (d.lo & 0xffff) | (d.hi & 0xf0000);
  return d.hi & DESC_G ? raw * 4096 + 4095 : raw;
}

function baseOf(c: Vcpu, d: Descriptor, sel: number): number {
  let base = ((d.lo >>> 16) | ((d.hi & 0xff) << 16) | (d.hi & 0xff000000)) >>> 0;
  if (ia32e(c)) {
    if (d.at + 15 > (sel & 4 ? c.ldtrBase + c.ldtrLimit : c.gdtrBase + c.gdtrLimit)) throw new GuestFault(Vector.GP, sel & ~3, `16-byte descriptor 0x${sel.toString(16)} crosses the table limit`);
    const upper = c.r32(d.at + 12);
    // The upper half's type field must be 0 (SDM Vol. 3A Figure 8-4), or the load faults.
    if ((upper >>> 8) & 0x1f) throw new GuestFault(Vector.GP, sel & ~3, `descriptor 0x${sel.toString(16)}: upper half type is not 0`);
    base += (c.r32(d.at + 8) | 0) * TWO32;
    if (!(base >= -CANON && base < CANON)) throw new GuestFault(Vector.GP, sel & ~3, `descriptor 0x${sel.toString(16)}: non-canonical base`);
  }
  return base;
}

function protectedOnly(c: Vcpu, what: string): void {
  if (!(c.cr0 & CR0_PE)) throw new GuestFault(Vector.UD, undefined, `${what} in real mode`);
}

/** lldt: a null selector invalidates LDTR; otherwise a present LDT descriptor from the GDT. */
export function lldt(c: Vcpu, sel: number): void {
  protectedOnly(c, "lldt");
  c.priv();
  sel &= 0xffff;
  if ((sel & ~3) === 0) { c.ldtr = sel; c.ldtrBase = 0; c.ldtrLimit = 0; return; }
  if (sel & 4) throw new GuestFault(Vector.GP, sel & ~3, `lldt 0x${sel.toString(16)}: selector names the LDT`);
  const d = lookup(c, sel);
  if (!d) throw new GuestFault(Vector.GP, sel & ~3, `lldt 0x${sel.toString(16)}: beyond the GDT limit`);
  if (!d.system || d.type !== TYPE_LDT) throw new GuestFault(Vector.GP, sel & ~3, `lldt 0x${sel.toString(16)}: not an LDT descriptor (type ${d.type}${d.system ? "" : ", code/data"})`);
  if (!d.present) throw new GuestFault(Vector.NP, sel & ~3, `lldt 0x${sel.toString(16)}: LDT not present`);
  const base = baseOf(c, d, sel);
  c.ldtr = sel; c.ldtrBase = gva(base); c.ldtrLimit = limitOf(d);
}

/** ltr: an available TSS from the GDT, which becomes busy (written back to the descriptor). */
export function ltr(c: Vcpu, sel: number): void {
  protectedOnly(c, "ltr");
  c.priv();
  sel &= 0xffff;
  if ((sel & ~3) === 0) throw new GuestFault(Vector.GP, 0, "ltr with a null selector");
  if (sel & 4) throw new GuestFault(Vector.GP, sel & ~3, `ltr 0x${sel.toString(16)}: selector names the LDT`);
  const d = lookup(c, sel);
  if (!d) throw new GuestFault(Vector.GP, sel & ~3, `ltr 0x${sel.toString(16)}: beyond the GDT limit`);
  const avail = d.type === TYPE_TSS_AVAIL || (d.type === TYPE_TSS16_AVAIL && !ia32e(c));
  if (!d.system || !avail) throw new GuestFault(Vector.GP, sel & ~3, `ltr 0x${sel.toString(16)}: not an available TSS (type ${d.type}${d.system ? "" : ", code/data"})`);
  if (!d.present) throw new GuestFault(Vector.NP, sel & ~3, `ltr 0x${sel.toString(16)}: TSS not present`);
  const base = baseOf(c, d, sel);
  c.w32(d.at + 4, d.hi | (2 << 8)); // type 9 → 11 (1 → 3): busy
  c.trSelector = sel; c.trBase = gva(base); c.trLimit = limitOf(d);
}

export type SegCheck = "lar" | "lsl" | "verr" | "verw";

/** The system types each instruction accepts (SDM Vol. 2A LAR/LSL tables; IA-32e drops the 16-bit ones). */
function systemTypeOk(c: Vcpu, op: "lar" | "lsl", type: number): boolean {
  const long = ia32e(c);
  switch (type) {
    case TYPE_LDT: case TYPE_TSS_AVAIL: case TYPE_TSS_BUSY: return true;
    case TYPE_TSS16_AVAIL: case TYPE_TSS16_BUSY: return !long;
    case TYPE_CALL: return op === "lar";
    case TYPE_CALL16: case TYPE_TASK: return op === "lar" && !long;
  }
  return false;
}

/**
 * lar / lsl / verr / verw on a selector: sets ZF and returns the value for lar (access rights,
 * the second dword masked with 00F0FF00h: bits 19:16 are "undefined" in the SDM and read as 0
 * here, as QEMU does) or lsl (the scaled limit); -1 (ZF=0) when the checks fail. Never faults on
 * the selector itself.
 */
export function segCheck(c: Vcpu, op: SegCheck, sel: number): number {
  protectedOnly(c, op);
  sel &= 0xffff;
  const r = segValue(c, op, sel);
  c.mergeArith(0x40, r < 0 ? 0 : 0x40);
  return r;
}

function segValue(c: Vcpu, op: SegCheck, sel: number): number {
  if ((sel & ~3) === 0) return -1;
  const d = lookup(c, sel);
  if (!d) return -1;
  const code = !d.system && (d.type & 8) !== 0;
  const conforming = code && (d.type & 4) !== 0;
  if (d.system && (op === "verr" || op === "verw" || !systemTypeOk(c, op, d.type))) return -1;
  if (op === "verr" && code && !(d.type & 2)) return -1; // execute-only code
  if (op === "verw" && (code || !(d.type & 2))) return -1; // only writable data
  if (!conforming && (c.cpl > d.dpl || (sel & 3) > d.dpl)) return -1;
  if (op === "lar") return (d.hi & 0x00f0ff00) >>> 0;
  if (op === "lsl") return limitOf(d);
  return 0;
}
