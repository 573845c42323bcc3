/**
 * Page-table entries as every paging mode reads and updates them (Intel SDM Vol. 3A §4.6-4.8):
 * reading a 4- or 8-byte entry through the P2M, the error-code bits of an access, the rules at the
 * entry that maps the page (rights, CR0.WP, XD, A/D), and the accessed/dirty write itself.
 * Shared by the 4-level walk (mmu.ts) and the 32-bit and PAE walks (mmu-legacy.ts).
 */
import type { Vcpu } from "./vcpu";
import { ExitSignal, GuestFault, Vector } from "./exits";
import { CR0_WP, PFEC_I, PFEC_P, PFEC_U, PFEC_W, PTE_A, PTE_D } from "./registers";
import { Gpa, Gva, PAGE_SIZE, mfn } from "./types";

/** Walk result: the page may be written without another walk (writable and already dirty). */
export const WP_WRITABLE_NOW = 1;

/** Reads a 64-bit page-table entry at a guest-physical address as [lo, hi]. */
export function ptRead(c: Vcpu, a: number, va: number): [number, number, DataView, number] {
  const g = Math.floor(a / PAGE_SIZE);
  const e = c.p2m.raw(g);
  if (e < 0) throw new ExitSignal({ kind: "gpa-fault", gpa: a as Gpa, access: "read", rip: 0 as Gva, va: va as Gva });
  const m = Math.floor(e / 2);
  const v = c.machine.memory.view(mfn(m));
  const off = a % PAGE_SIZE;
  return [v.getInt32(off, true), v.getInt32(off + 4, true), v, m];
}

/** Reads a 32-bit page-table entry (32-bit paging, SDM Vol. 3A §4.3) as [entry, view, mfn]. */
export function ptRead32(c: Vcpu, a: number, va: number): [number, DataView, number] {
  const g = Math.floor(a / PAGE_SIZE);
  const e = c.p2m.raw(g);
  if (e < 0) throw new ExitSignal({ kind: "gpa-fault", gpa: a as Gpa, access: "read", rip: 0 as Gva, va: va as Gva });
  const m = Math.floor(e / 2);
  const v = c.machine.memory.view(mfn(m));
  return [v.getInt32(a % PAGE_SIZE, true), v, m];
}

/** The page-fault error code's access bits (SDM Vol. 3A §4.7): U/S, W/R, and I/D where it is defined. */
export function accessPfec(c: Vcpu, acc: 0 | 1 | 2, idDefined: boolean): number {
  return (c.cpl === 3 ? PFEC_U : 0) | (acc === 1 ? PFEC_W : 0) | (acc === 2 && idDefined ? PFEC_I : 0);
}

/**
 * The rules every paging mode applies once the walk reaches the entry mapping the page (SDM Vol.
 * 3A §4.6: U/S and R/W of all levels combined, CR0.WP for supervisor writes, XD with EFER.NXE;
 * §4.8: A, and D on a write, set only for an access that is allowed). `us`/`rw`/`nx` are the
 * combined rights of the walk; `el` is the leaf's low word at `ea` (A and D live there in every
 * format). Sets `c.walkPerm`.
 */
export function leafAccess(c: Vcpu, view: DataView, m: number, ea: number, el: number, us: number, rw: number, nx: number, acc: 0 | 1 | 2, pfec: number, va: number): void {
  const user = c.cpl === 3;
  if (user && !us) throw new GuestFault(Vector.PF, pfec | PFEC_P, "user access to supervisor page", va);
  if (acc === 1 && !rw && (user || (c.cr0 & CR0_WP))) throw new GuestFault(Vector.PF, pfec | PFEC_P, "write to read-only page", va);
  if (acc === 2 && nx) throw new GuestFault(Vector.PF, pfec | PFEC_P, "execute from no-execute page", va);
  let nl = el | PTE_A;
  if (acc === 1) nl |= PTE_D;
  if (nl !== el) ptUpdate(c, view, m, ea, nl, va);
  const dirty = (nl & PTE_D) !== 0;
  c.walkPerm = dirty && (rw || (!user && !(c.cr0 & CR0_WP))) ? WP_WRITABLE_NOW : 0;
}

/** A non-leaf entry used by the walk gets its accessed bit (SDM Vol. 3A §4.8). */
export function setAccessed(c: Vcpu, view: DataView, m: number, ea: number, el: number, va: number): void {
  if ((el & PTE_A) === 0) ptUpdate(c, view, m, ea, el | PTE_A, va);
}

/**
 * The walker's accessed/dirty update is a write to the table's frame: under EPT/NPT it needs the
 * frame writable in the P2M, else it exits as a write fault (how Xen's log-dirty mode sees guest
 * page tables change).
 */
export function ptUpdate(c: Vcpu, view: DataView, m: number, ea: number, nl: number, va: number): void {
  if ((c.p2m.rawForWrite(Math.floor(ea / PAGE_SIZE)) & 1) === 0) throw new ExitSignal({ kind: "gpa-fault", gpa: ea as Gpa, access: "write", rip: 0 as Gva, va: va as Gva });
  c.ptWrite(view, m, ea % PAGE_SIZE, nl);
}

export function ptWrite(c: Vcpu, view: DataView, m: number, off: number, lo: number): void {
  if (c.machine.codeFrames[m] !== 0) c.machine.invalidateRange(m, off, 4);
  view.setInt32(off, lo, true);
}
