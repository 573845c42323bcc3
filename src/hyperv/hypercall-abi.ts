/**
 * The hypercall input value (TLFS 3.7) and result value: packing and unpacking only.
 *   input:  call code 15:0, fast 16, variable header size 26:17, nested 31, rep count 43:32,
 *           rep start index 59:48, the rest RsvdZ
 *   result: HV_STATUS 15:0, reps completed 43:32
 */
import { HC } from "./tlfs";

export interface HypercallInput {
  code: number;
  fast: boolean;
  varHeaderQwords: number;
  nested: boolean;
  repCount: number;
  repStart: number;
  /** RsvdZ bits were set (the call fails with HV_STATUS_INVALID_HYPERCALL_INPUT). */
  reservedSet: boolean;
}

export function decodeInput(v: bigint): HypercallInput {
  return {
    code: Number(v & HC.CODE_MASK),
    fast: (v & HC.FAST_BIT) !== 0n,
    varHeaderQwords: Number((v >> HC.VARHEAD_OFFSET) & 0x3ffn),
    nested: (v & HC.NESTED) !== 0n,
    repCount: Number((v >> HC.REP_COMP_OFFSET) & 0xfffn),
    repStart: Number((v >> HC.REP_START_OFFSET) & 0xfffn),
    reservedSet: (v & HC.RSVD_MASK) !== 0n,
  };
}

export function encodeInput(i: Partial<HypercallInput> & { code: number }): bigint {
  return BigInt(i.code) | (i.fast ? HC.FAST_BIT : 0n) | (BigInt(i.varHeaderQwords ?? 0) << HC.VARHEAD_OFFSET) |
    (i.nested ? HC.NESTED : 0n) | (BigInt(i.repCount ?? 0) << HC.REP_COMP_OFFSET) | (BigInt(i.repStart ?? 0) << HC.REP_START_OFFSET);
}

/** The result value in RAX: status and the absolute number of reps completed. */
export function encodeResult(status: number, repsCompleted = 0): bigint {
  return BigInt(status & 0xffff) | (BigInt(repsCompleted & 0xfff) << 32n);
}

export function decodeResult(v: bigint): { status: number; repsCompleted: number } {
  return { status: Number(v & 0xffffn), repsCompleted: Number((v >> 32n) & 0xfffn) };
}
