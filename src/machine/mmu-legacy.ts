/**
 * Paging outside long mode (Intel SDM Vol. 3A §4.3 32-bit paging, §4.4 PAE paging): the two
 * walks, and the four PDPTE registers PAE paging loads from CR3 (§4.4.1). The leaf rules (rights,
 * A/D, CR0.WP, XD) are the ones 4-level paging applies (pt-entry.ts leafAccess).
 */
import type { Vcpu } from "./vcpu";
import { GuestFault, Vector } from "./exits";
import { CR0_PG, CR4_PAE, CR4_PSE, EFER_LME, EFER_NXE, PFEC_P, PFEC_RSVD, PTE_PS } from "./registers";
import { accessPfec, leafAccess, ptRead, ptRead32, setAccessed } from "./pt-entry";

const TWO32 = 4294967296;
/**
 * MAXPHYADDR: the 39 physical-address bits CPUID.80000008H:EAX[7:0] reports (cpu-features.ts).
 * Entry bits from 39 up to 62 (63 for a PDPTE) are reserved (SDM Vol. 3A §4.4.1, Tables 4-8..4-11).
 */
const HI_RESERVED_PDPTE = 0xffffff80; // bits 63:39 as the entry's high word
const HI_RESERVED = 0x7fffff80; // bits 62:39
/** Reserved low bits of a present PDPTE: 2:1 and 8:5 (SDM Vol. 3A Table 4-8). */
const PDPTE_LO_RESERVED = 0x1e6;
/**
 * A 4 MiB PDE (CR4.PSE = 1, PS = 1; SDM Vol. 3A §4.3, Table 4-4): bits 20:13 are physical-address
 * bits 39:32 (PSE-36), of which those at or above MAXPHYADDR (bit 20: address bit 39) are reserved,
 * and so is bit 21.
 */
const PDE4M_RESERVED = 0x300000;
/** A 2 MiB PAE PDE: bits 20:13 are reserved (the page is 2 MiB aligned; SDM Vol. 3A Table 4-9). */
const PDE2M_RESERVED = 0x1fe000;

/** The linear address of a 32-bit access as an unsigned 32-bit number. */
const lin32 = (va: number): number => (va >= 0 && va < TWO32 ? va : ((va % TWO32) + TWO32) % TWO32);

/** True when CR0, CR4 and EFER (LME) select PAE paging (SDM Vol. 3A §4.1.1, Table 4-1). */
export function paePaging(cr0: number, cr4: number, efer: number): boolean {
  return (cr0 & CR0_PG) !== 0 && (cr4 & CR4_PAE) !== 0 && (efer & EFER_LME) === 0;
}

/**
 * Reads the four PDPTEs at CR3[31:5] (SDM Vol. 3A §4.4.1): a present one with a reserved bit set
 * is #GP(0) for the instruction loading them (MOV to CR0/CR3/CR4), which then has no effect.
 * Returns [lo0, hi0, lo1, hi1, ...] for `commitPdptes`.
 */
export function readPdptes(c: Vcpu, cr3: number): number[] {
  const base = (cr3 >>> 0) & ~0x1f;
  const out: number[] = [];
  for (let i = 0; i < 4; i++) {
    const [lo, hi] = ptRead(c, base + i * 8, base + i * 8);
    if ((lo & 1) && ((lo & PDPTE_LO_RESERVED) || (hi & HI_RESERVED_PDPTE))) {
      const v = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
      throw new GuestFault(Vector.GP, 0, `PDPTE ${i} at 0x${(base + i * 8).toString(16)} = 0x${v.toString(16)} has reserved bits set`);
    }
    out.push(lo, hi);
  }
  return out;
}

export function commitPdptes(c: Vcpu, e: readonly number[]): void {
  for (let i = 0; i < 4; i++) { c.pdpteLo[i] = e[2 * i]!; c.pdpteHi[i] = e[2 * i + 1]!; }
}

/** 32-bit paging (SDM Vol. 3A §4.3): PDE then PTE, 4 MiB pages with CR4.PSE. No XD, no I/D bit. */
export function walk32(c: Vcpu, va: number, acc: 0 | 1 | 2): number {
  const a = lin32(va);
  const pfec = accessPfec(c, acc, false);
  const pdeAt = ((c.cr3 >>> 0) & 0xfffff000) + (a >>> 22) * 4;
  const [pde, pdView, pdM] = ptRead32(c, pdeAt, va);
  if ((pde & 1) === 0) throw new GuestFault(Vector.PF, pfec, "page not present at the PDE", va);
  if ((c.cr4 & CR4_PSE) && (pde & PTE_PS)) {
    if (pde & PDE4M_RESERVED) throw new GuestFault(Vector.PF, pfec | PFEC_P | PFEC_RSVD, "reserved bit set in a 4 MiB PDE", va);
    leafAccess(c, pdView, pdM, pdeAt, pde, (pde >>> 2) & 1, (pde >>> 1) & 1, 0, acc, pfec, va);
    c.largePagesCached = true;
    return ((pde >>> 13) & 0xff) * TWO32 + ((pde & 0xffc00000) >>> 0) + (a & 0x3ff000);
  }
  setAccessed(c, pdView, pdM, pdeAt, pde, va);
  const pteAt = ((pde & 0xfffff000) >>> 0) + ((a >>> 12) & 1023) * 4;
  const [pte, ptView, ptM] = ptRead32(c, pteAt, va);
  if ((pte & 1) === 0) throw new GuestFault(Vector.PF, pfec, "page not present at the PTE", va);
  leafAccess(c, ptView, ptM, pteAt, pte, (pde >>> 2) & (pte >>> 2) & 1, (pde >>> 1) & (pte >>> 1) & 1, 0, acc, pfec, va);
  return (pte & 0xfffff000) >>> 0;
}

/**
 * PAE paging (SDM Vol. 3A §4.4): the PDPTE register for bits 31:30, then 8-byte PDE and PTE;
 * 2 MiB pages; XD with EFER.NXE (bit 63 reserved without it). PDPTEs carry no rights and get no
 * accessed bit (their bits 2:1 and 8:5 are reserved).
 */
export function walkPae(c: Vcpu, va: number, acc: 0 | 1 | 2): number {
  const a = lin32(va);
  const nxe = (c.efer & EFER_NXE) !== 0;
  const pfec = accessPfec(c, acc, nxe);
  const i = a >>> 30;
  const p = c.pdpteLo[i]!;
  if ((p & 1) === 0) throw new GuestFault(Vector.PF, pfec, `page not present at PDPTE ${i}`, va);
  const pdeAt = (c.pdpteHi[i]! & 0x7f) * TWO32 + ((p & 0xfffff000) >>> 0) + ((a >>> 21) & 511) * 8;
  const [pde, pdeHi, pdView, pdM] = ptRead(c, pdeAt, va);
  if ((pde & 1) === 0) throw new GuestFault(Vector.PF, pfec, "page not present at the PDE", va);
  const large = (pde & PTE_PS) !== 0;
  if ((pdeHi & HI_RESERVED) || (!nxe && pdeHi < 0) || (large && (pde & PDE2M_RESERVED))) {
    throw new GuestFault(Vector.PF, pfec | PFEC_P | PFEC_RSVD, `reserved bit set in a ${large ? "2 MiB " : ""}PDE`, va);
  }
  const pdeNx = nxe && pdeHi < 0 ? 1 : 0;
  if (large) {
    leafAccess(c, pdView, pdM, pdeAt, pde, (pde >>> 2) & 1, (pde >>> 1) & 1, pdeNx, acc, pfec, va);
    c.largePagesCached = true;
    return (pdeHi & 0x7f) * TWO32 + ((pde & 0xffe00000) >>> 0) + (a & 0x1ff000);
  }
  setAccessed(c, pdView, pdM, pdeAt, pde, va);
  const pteAt = (pdeHi & 0x7f) * TWO32 + ((pde & 0xfffff000) >>> 0) + ((a >>> 12) & 511) * 8;
  const [pte, pteHi, ptView, ptM] = ptRead(c, pteAt, va);
  if ((pte & 1) === 0) throw new GuestFault(Vector.PF, pfec, "page not present at the PTE", va);
  if ((pteHi & HI_RESERVED) || (!nxe && pteHi < 0)) throw new GuestFault(Vector.PF, pfec | PFEC_P | PFEC_RSVD, "reserved bit set in a PTE", va);
  const nx = pdeNx | (nxe && pteHi < 0 ? 1 : 0);
  leafAccess(c, ptView, ptM, pteAt, pte, (pde >>> 2) & (pte >>> 2) & 1, (pde >>> 1) & (pte >>> 1) & 1, nx, acc, pfec, va);
  return (pteHi & 0x7f) * TWO32 + ((pte & 0xfffff000) >>> 0);
}
