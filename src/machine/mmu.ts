/**
 * The soft-MMU's slow path: the page walk of the paging mode in use (4-level here, 32-bit and PAE
 * paging in mmu-legacy.ts) with permission checks, accessed/dirty updates and reserved-bit checks
 * (Intel SDM Vol. 3A §4.3-4.7), then the P2M, filling the vCPU's TLB.
 */
import type { Vcpu } from "./vcpu";
import { ExitSignal, GuestFault, Vector, vectorName } from "./exits";
import { CR4_PAE, EFER_LMA, EFER_NXE, PFEC_P, PFEC_RSVD, PTE_PS } from "./registers";
import { walk32, walkPae } from "./mmu-legacy";
import { WP_WRITABLE_NOW, accessPfec, leafAccess, setAccessed } from "./pt-entry";
export { WP_WRITABLE_NOW, ptRead, ptWrite } from "./pt-entry";
import { Gpa, Gva, PAGE_SIZE, gva, mfn } from "./types";
import { MachineError } from "./errors";

/**
 * Entries of each direct-mapped TLB (read, write, fetch), indexed by virtual page number: 16 MiB
 * of reach, so a program's working set of a few MiB does not walk the page tables on every access
 * (with 256 entries a 2 MiB pointer chase walked on most loads: bench workloads.membound).
 */
export const TLB_SIZE = 4096;
export const TLB_MASK = TLB_SIZE - 1;
const TWO32 = 4294967296;
const CANON = 2 ** 47;
/** Bits 51:39 of an entry as its high word: above MAXPHYADDR (39, CPUID.80000008H:EAX[7:0]). */
const HI_RESERVED_4LEVEL = 0x000fff80;

/**
 * Translates `va` for an access (0 read, 1 write, 2 exec) to a machine address, filling the TLB.
 * Raises #PF (GuestFault) or a gpa-fault exit (ExitSignal).
 */
export function xlate(c: Vcpu, va: number, acc: 0 | 1 | 2): number {
  const off = va & 4095;
  const page = va - off;
  let gpaPage: number;
  let writable: boolean;
  if (c.paging) {
    gpaPage = c.walk(va, acc);
    writable = (c.walkPerm & WP_WRITABLE_NOW) !== 0;
  } else {
    gpaPage = page >= 0 ? page % TWO32 : (page % TWO32) + TWO32;
    writable = true;
  }
  const g = gpaPage / PAGE_SIZE;
  const e = acc === 1 ? c.p2m.rawForWrite(g) : c.p2m.raw(g);
  const access = acc === 0 ? "read" : acc === 1 ? "write" : "exec";
  if (e < 0 || (acc === 1 && (e & 1) === 0)) {
    throw new ExitSignal({ kind: "gpa-fault", gpa: (gpaPage + off) as Gpa, access, rip: 0 as Gva, va: va as Gva });
  }
  const m = Math.floor(e / 2);
  const view = c.machine.memory.view(mfn(m));
  const i = (va >>> 12) & (TLB_SIZE - 1);
  if (acc === 2) {
    c.xTag[i] = page;
    c.xPhys[i] = m * PAGE_SIZE;
  } else {
    c.rTag[i] = page;
    c.rView[i] = view;
    if (writable && (e & 1) && c.machine.codeFrames[m] === 0 && !c.watchPages.has(page)) {
      c.wTag[i] = page;
      c.wView[i] = view;
    } else if (c.wTag[i] === page) c.wTag[i] = NaN;
  }
  return m * PAGE_SIZE + off;
}

/**
 * The walk of the paging mode CR0.PG, CR4.PAE and EFER.LMA select (SDM Vol. 3A §4.1.1, Table 4-1):
 * 4-level with LMA, PAE paging with CR4.PAE, else 32-bit paging.
 */
export function walk(c: Vcpu, va: number, acc: 0 | 1 | 2): number {
  if (c.efer & EFER_LMA) return walk4(c, va, acc);
  return c.cr4 & CR4_PAE ? walkPae(c, va, acc) : walk32(c, va, acc);
}

/** 4-level walk (SDM Vol. 3A §4.5). Returns the guest-physical 4 KiB page base. */
export function walk4(c: Vcpu, va: number, acc: 0 | 1 | 2): number {
  if (!(va >= -CANON && va < CANON)) throw new GuestFault(Vector.GP, 0, "non-canonical address");
  const u48 = va < 0 ? va + 2 ** 48 : va;
  const hi16 = Math.floor(u48 / TWO32);
  const lo = u48 >>> 0;
  const idx = [(hi16 >>> 7) & 511, ((hi16 & 127) << 2) | (lo >>> 30), (lo >>> 21) & 511, (lo >>> 12) & 511];
  const nxe = (c.efer & EFER_NXE) !== 0;
  let table = c.cr3 - (c.cr3 % PAGE_SIZE);
  table = table % 2 ** 52;
  let us = 1, rw = 1, nx = 0;
  const pfec = accessPfec(c, acc, nxe);
  for (let level = 0; level < 4; level++) {
    const ea = table + idx[level]! * 8;
    const [el, eh, view, m] = c.ptRead(ea, va);
    if ((el & 1) === 0) throw new GuestFault(Vector.PF, pfec, `page not present at level ${4 - level}`, va);
    us &= (el >>> 2) & 1;
    rw &= (el >>> 1) & 1;
    if (nxe && eh < 0) nx = 1;
    const leaf = level === 3 || (level >= 1 && (el & PTE_PS) !== 0);
    // Reserved bits (SDM Vol. 3A §4.5, Tables 4-14..4-20): bits 51:MAXPHYADDR, XD without
    // EFER.NXE, PS in a PML4E, and the low frame bits of a 1 GiB / 2 MiB page (it must be aligned).
    if ((eh & HI_RESERVED_4LEVEL) || (!nxe && eh < 0) || (level === 0 && (el & PTE_PS)) || (leaf && level === 1 && (el & 0x3fffe000)) || (leaf && level === 2 && (el & 0x1fe000))) {
      throw new GuestFault(Vector.PF, pfec | PFEC_P | PFEC_RSVD, `reserved bit set in a level ${4 - level} entry`, va);
    }
    let base = (eh & 0xfffff) * TWO32 + ((el & ~0xfff) >>> 0);
    if (leaf) {
      leafAccess(c, view, m, ea, el, us, rw, nx, acc, pfec, va);
      if (level < 3) c.largePagesCached = true;
      if (level === 1) {
        // 1 GiB page: bits 29:13 of the entry are reserved/PAT; frame is bits 51:30.
        return base - (base % 2 ** 30) + ((lo & 0x3ffff000) >>> 0);
      }
      if (level === 2) {
        base = base - (base % 2 ** 21) + ((lo & 0x1ff000) >>> 0);
        return base;
      }
      return base;
    }
    setAccessed(c, view, m, ea, el, va);
    table = base;
  }
  throw new MachineError("unreachable page walk state");
}

/** Walks the page tables for `va` without side effects (for views and the host). */
export function translate(c: Vcpu, va: number | bigint, access: "read" | "write" | "exec" = "read"): { gpa: Gpa } | { fault: string } {
  const a = gva(va);
  const saveCpl = c.cpl;
  try {
    // Use xlate's logic on a copy would need a side-effect-free walk; A/D updates are benign.
    const acc = access === "read" ? 0 : access === "write" ? 1 : 2;
    if (!c.paging) return { gpa: ((a >>> 0) as Gpa) };
    const p = c.walk(a, acc);
    return { gpa: (p + (a & 4095)) as Gpa };
  } catch (e) {
    if (e instanceof GuestFault) return { fault: `#${vectorName(e.vector)} error code ${e.errorCode}: ${e.reason}` };
    if (e instanceof ExitSignal) return { fault: `gpa-fault ${JSON.stringify(e.exit, (_k, v) => (typeof v === "bigint" ? v.toString() : v))}` };
    throw e;
  } finally {
    c.cpl = saveCpl;
  }
}
