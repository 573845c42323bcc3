/**
 * Branded numbers for the address spaces of a virtualized machine, so that a guest frame number
 * can never be passed where a machine frame number is expected (Xen's own `mfn_t`/`gfn_t` typesafe
 * wrappers exist for the same reason: xen/include/xen/mm-frame.h).
 */

/** Machine (host-physical) frame number: index of a 4 KiB frame of machine memory. */
export type Mfn = number & { readonly __brand: "Mfn" };
/** Guest frame number: guest-physical address >> 12, translated by the domain's P2M. */
export type Gfn = number & { readonly __brand: "Gfn" };
/** Guest-physical address (exact as a JS number below 2^52). */
export type Gpa = number & { readonly __brand: "Gpa" };
/**
 * Guest-virtual address as a signed number: canonical 48-bit addresses are sign-extended, so
 * 0xffff800000000000 is -2^47 and every canonical address is exact in a double.
 */
export type Gva = number & { readonly __brand: "Gva" };
/** Domain identifier (Xen's domid_t, xen/include/public/xen.h). */
export type DomId = number & { readonly __brand: "DomId" };

export const mfn = (n: number): Mfn => n as Mfn;
export const gfn = (n: number): Gfn => n as Gfn;
export const gpa = (n: number): Gpa => n as Gpa;
export const domId = (n: number): DomId => n as DomId;
/** The control domain's id (xen/include/public/xen.h: dom0 is domain 0). */
export const DOM0: DomId = domId(0);

/** Page geometry (Intel SDM Vol. 3A §4.5: 4-KByte pages). */
export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;

/** Converts a 64-bit virtual address (bigint or number) to our signed Gva form. */
export function gva(a: number | bigint): Gva {
  if (typeof a === "bigint") return Number(BigInt.asIntN(64, a)) as Gva;
  if (a >= 2 ** 63) return (a - 2 ** 64) as Gva;
  return a as Gva;
}

/** The unsigned 64-bit value of a Gva, for display. */
export function gvaToBigInt(a: number): bigint {
  return BigInt.asUintN(64, BigInt(a));
}

export function hex(n: number | bigint, width = 0): string {
  const v = typeof n === "bigint" ? BigInt.asUintN(64, n) : BigInt.asUintN(64, BigInt(n));
  return "0x" + v.toString(16).padStart(width, "0");
}
