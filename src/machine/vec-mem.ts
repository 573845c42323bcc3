/**
 * Vector operands in guest memory: loads into the source scratch slot (cpu-state.ts VEC_SRC) and
 * stores from any slot, through the vCPU's soft-MMU (page faults and page-crossing accesses as
 * for integer operands). The aligned forms of SSE raise #GP(0) on a 16-byte operand that is not
 * 16-byte aligned (SDM Vol. 1 §4.1.1, Vol. 2 MOVDQA/MOVAPS...: "#GP(0) if a memory operand is
 * not aligned on a 16-byte boundary").
 */
import { VEC_SRC } from "./cpu-state";
import { GuestFault, Vector } from "./exits";
import type { Vcpu } from "./vcpu";

export function checkAligned(ea: number, n: number): void {
  if ((ea & (n - 1)) !== 0) throw new GuestFault(Vector.GP, 0, `${n}-byte vector operand at ${ea.toString(16)} is not ${n}-byte aligned`);
}

/** Loads `bytes` (4, 8 or 16) at ea into the low lanes of the source slot. */
export function ld(c: Vcpu, ea: number, bytes: number, aligned: boolean): void {
  if (aligned) checkAligned(ea, 16);
  const x = c.vd, o = VEC_SRC * 4;
  x[o] = c.r32(ea);
  if (bytes >= 8) x[o + 1] = c.r32(ea + 4);
  if (bytes === 16) { x[o + 2] = c.r32(ea + 8); x[o + 3] = c.r32(ea + 12); }
}

/** Stores `lanes` 32-bit lanes of slot s starting at lane `from` to ea. */
export function st(c: Vcpu, ea: number, s: number, from: number, lanes: number, aligned: boolean): void {
  if (aligned) checkAligned(ea, 16);
  // Touch the last byte first so a fault on a page-crossing store happens before any byte is written.
  if (((ea & 4095) + lanes * 4) > 4096) c.w8(ea + lanes * 4 - 1, c.vb[s * 16 + (from + lanes) * 4 - 1]!);
  for (let i = 0; i < lanes; i++) c.w32(ea + 4 * i, c.vd[s * 4 + from + i]!);
}

/**
 * maskmovdqu: the bytes of XMMd whose selector byte in XMMs has its top bit set are stored at ea
 * (DS:rDI), one by one; the others are not touched (SDM Vol. 2B MASKMOVDQU).
 */
export function maskmovdqu(c: Vcpu, ea: number, d: number, s: number): void {
  const b = c.vb;
  for (let i = 0; i < 16; i++) if (b[s * 16 + i]! & 0x80) c.w8(ea + i, b[d * 16 + i]!);
}
