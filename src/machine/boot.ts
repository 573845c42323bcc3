/**
 * Helpers to set up guest page tables the way a boot loader or a domain builder would
 * (4-level long-mode tables, SDM Vol. 3A §4.5), written into guest-physical memory.
 */
import { GuestPhysical } from "./machine";
import { PTE_P, PTE_RW, PTE_US } from "./registers";
import { Gpa, PAGE_SIZE, gpa } from "./types";
import { MachineError } from "./errors";

export interface Mapping {
  /** Guest-virtual start (page aligned, canonical; negative numbers for the upper half). */
  va: number;
  /** Guest-physical start (page aligned). */
  gpa: number;
  pages: number;
  writable?: boolean;
  user?: boolean;
  noExecute?: boolean;
}

/**
 * Writes 4-level page tables for `mappings` (4 KiB pages) into guest-physical memory starting at
 * `tablesAt`, allocating table pages consecutively from there. Returns CR3 and the end of the
 * tables. Intermediate entries are present/writable/user so the leaf decides the permissions.
 */
export function buildPageTables(g: GuestPhysical, tablesAt: number, mappings: readonly Mapping[]): { cr3: Gpa; end: Gpa } {
  if (tablesAt % PAGE_SIZE !== 0) throw new MachineError(`page tables must be page aligned, got 0x${tablesAt.toString(16)}`);
  let next = tablesAt;
  const alloc = () => {
    const a = next;
    g.fill(a, PAGE_SIZE, 0);
    next += PAGE_SIZE;
    return a;
  };
  const pml4 = alloc();
  const tables = new Map<string, number>();
  const child = (parent: number, idx: number, key: string): number => {
    let t = tables.get(key);
    if (t === undefined) {
      t = alloc();
      tables.set(key, t);
      g.setU32(parent + idx * 8, t | PTE_P | PTE_RW | PTE_US);
      g.setU32(parent + idx * 8 + 4, Math.floor(t / 2 ** 32));
    }
    return t;
  };
  for (const m of mappings) {
    if (m.va % PAGE_SIZE !== 0 || m.gpa % PAGE_SIZE !== 0) throw new MachineError("mapping addresses must be page aligned");
    for (let p = 0; p < m.pages; p++) {
      const va = m.va + p * PAGE_SIZE;
      const u48 = va < 0 ? va + 2 ** 48 : va;
      const i4 = Math.floor(u48 / 2 ** 39) % 512, i3 = Math.floor(u48 / 2 ** 30) % 512;
      const i2 = Math.floor(u48 / 2 ** 21) % 512, i1 = Math.floor(u48 / 2 ** 12) % 512;
      const pdpt = child(pml4, i4, `${i4}`);
      const pd = child(pdpt, i3, `${i4}/${i3}`);
      const pt = child(pd, i2, `${i4}/${i3}/${i2}`);
      const frame = m.gpa + p * PAGE_SIZE;
      const lo = (frame % 2 ** 32) | PTE_P | (m.writable === false ? 0 : PTE_RW) | (m.user ? PTE_US : 0);
      const hi = Math.floor(frame / 2 ** 32) | (m.noExecute ? 0x80000000 : 0);
      g.setU32(pt + i1 * 8, lo >>> 0);
      g.setU32(pt + i1 * 8 + 4, hi >>> 0);
    }
  }
  return { cr3: gpa(pml4), end: gpa(next) };
}

/** A flat code or data segment descriptor (SDM Vol. 3A §3.4.5): base 0, limit 4 GiB. */
export function segmentDescriptor(opts: { code: boolean; long?: boolean; dpl?: number; db?: boolean }): bigint {
  const dpl = BigInt(opts.dpl ?? 0);
  // limit 0xfffff, G=1, P=1, S=1; type: code = execute/read (0xA), data = read/write (0x2)
  let d = 0xffffn | (0xfn << 48n) | (1n << 55n) | (1n << 47n) | (1n << 44n) | (dpl << 45n);
  d |= (opts.code ? 0xan : 0x2n) << 40n;
  if (opts.long) d |= 1n << 53n;
  else if (opts.db ?? true) d |= 1n << 54n;
  return d;
}

/** The GDT layout the helpers use: 0x08 kernel code64, 0x10 kernel data, 0x18 code32, 0x20 data,
 *  0x28 user data (sysret SS = STAR[63:48]+8), 0x30 user code64 (sysret CS = STAR[63:48]+16). */
export const GDT_KERNEL_CS = 0x08, GDT_KERNEL_DS = 0x10, GDT_CODE32 = 0x18, GDT_USER_DS = 0x28, GDT_USER_CS = 0x30;

export function writeStandardGdt(g: GuestPhysical, at: number): { base: number; limit: number } {
  const entries = [
    0n,
    segmentDescriptor({ code: true, long: true }),
    segmentDescriptor({ code: false }),
    segmentDescriptor({ code: true, db: true }),
    segmentDescriptor({ code: false }),
    segmentDescriptor({ code: false, dpl: 3 }),
    segmentDescriptor({ code: true, long: true, dpl: 3 }),
  ];
  entries.forEach((e, i) => g.setU64(at + i * 8, e));
  return { base: at, limit: entries.length * 8 - 1 };
}

/** Writes a 64-bit IDT gate (SDM Vol. 3A Figure 6-8): interrupt gate (0xE) or trap gate (0xF). */
export function writeIdtGate(g: GuestPhysical, idtBase: number, vector: number, target: number | bigint,
  opts: { selector?: number; dpl?: number; trap?: boolean; ist?: number } = {}): void {
  const t = BigInt.asUintN(64, BigInt(target));
  const sel = opts.selector ?? GDT_KERNEL_CS;
  const type = opts.trap ? 0xf : 0xe;
  const lo = Number(t & 0xffffn) | (sel << 16);
  const mid = (opts.ist ?? 0) | (type << 8) | ((opts.dpl ?? 0) << 13) | 0x8000 | (Number((t >> 16n) & 0xffffn) << 16);
  const a = idtBase + vector * 16;
  g.setU32(a, lo >>> 0);
  g.setU32(a + 4, mid >>> 0);
  g.setU32(a + 8, Number(t >> 32n));
  g.setU32(a + 12, 0);
}
