/**
 * Segment-descriptor caches (SDM Vol. 3A §3.4.3, Figure 3-8): every segment register has a
 * hidden part, base and limit, loaded with the selector. In protected mode it comes from the
 * descriptor; in real-address mode a load sets only the base (selector·16) and keeps the limit,
 * which is why a limit of 4 GiB loaded in protected mode survives the return to real mode
 * ("unreal" or big-real mode, SDM Vol. 3A §20.1.1). Outside 64-bit mode the generated code adds
 * these bases to every linear address (operands.ts eaExpr) and fetches at CS.base + EIP.
 */
import type { CpuState } from "./cpu-state";

export type SegName = "es" | "cs" | "ss" | "ds" | "fs" | "gs";

/** Segment-register numbers as the ModRM reg field encodes them (SDM Vol. 2A §3.1.1.3, "Sreg"). */
export const SEG_INDEX: Record<SegName, number> = { es: 0, cs: 1, ss: 2, ds: 3, fs: 4, gs: 5 };

/** The state field holding a segment's base (CpuState.esBase...): read by generated code. */
export const SEG_BASE_FIELD: Record<SegName, "esBase" | "csBase" | "ssBase" | "dsBase" | "fsBase" | "gsBase"> = {
  es: "esBase", cs: "csBase", ss: "ssBase", ds: "dsBase", fs: "fsBase", gs: "gsBase",
};

/** Base of a segment descriptor: bits 15:0 of the base in lo 31:16, 23:16 in hi 7:0, 31:24 in hi 31:24. */
export function descriptorBase(lo: number, hi: number): number {
  return ((hi & 0xff000000) | ((hi & 0xff) << 16) | (lo >>> 16)) >>> 0;
}

/** The last valid offset: the 20-bit limit, in 4 KiB units when G (bit 23 of hi) is set. */
export function descriptorLimit(lo: number, hi: number): number {
  const raw = (hi & 0xf0000) | (lo & 0xffff);
  return hi & (1 << 23) ? raw * 4096 + 4095 : raw;
}

/** Writes a segment's hidden base and limit. */
export function setSegCache(c: CpuState, seg: SegName, base: number, limit: number): void {
  c[SEG_BASE_FIELD[seg]] = base;
  c.segLimit[SEG_INDEX[seg]] = limit;
}

/** Flat 4 GiB segments, base 0 (what a 64-bit loader and the PVH entry state hand over). */
export function flatSegments(c: CpuState): void {
  c.esBase = c.csBase = c.ssBase = c.dsBase = 0;
  c.segLimit.fill(0xffffffff);
  c.ssBig = true;
}
