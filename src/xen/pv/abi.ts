/**
 * The PV memory-management ABI: public/xen.h's mmu_update / mmuext_op / update_va_mapping numbers
 * (checked against libxen-dev by tests/xen/layout.test.ts through CHECKED_CONSTANTS), and the
 * hypervisor-internal values a PV MMU needs, each named with the Xen source file it comes from.
 */

/** public/xen.h: the low two bits of mmu_update.ptr select the command. */
export const MMU_NORMAL_PT_UPDATE = 0;
export const MMU_MACHPHYS_UPDATE = 1;
export const MMU_PT_UPDATE_PRESERVE_AD = 2;
export const MMU_PT_UPDATE_NO_TRANSLATE = 3;

/** public/xen.h MMUEXT_* (struct mmuext_op.cmd). */
export const MMUEXT = {
  PIN_L1_TABLE: 0, PIN_L2_TABLE: 1, PIN_L3_TABLE: 2, PIN_L4_TABLE: 3, UNPIN_TABLE: 4, NEW_BASEPTR: 5,
  TLB_FLUSH_LOCAL: 6, INVLPG_LOCAL: 7, TLB_FLUSH_MULTI: 8, INVLPG_MULTI: 9, TLB_FLUSH_ALL: 10, INVLPG_ALL: 11,
  FLUSH_CACHE: 12, SET_LDT: 13, NEW_USER_BASEPTR: 15, CLEAR_PAGE: 16, COPY_PAGE: 17, FLUSH_CACHE_GLOBAL: 18,
  MARK_SUPER: 19, UNMARK_SUPER: 20,
} as const;

/** public/xen.h update_va_mapping flags: the flush type in bits 1:0, then UVMF_LOCAL / UVMF_ALL or a vCPU mask. */
export const UVMF_NONE = 0, UVMF_TLB_FLUSH = 1, UVMF_INVLPG = 2, UVMF_FLUSHTYPE_MASK = 3;
export const UVMF_LOCAL = 0, UVMF_ALL = 4;

/** public/xen.h SIF_* start_info flags. */
export const SIF_PRIVILEGED = 1 << 0, SIF_INITDOMAIN = 1 << 1;

/** public/arch-x86/xen-x86_64.h: the flat ring-3 selectors a 64-bit PV kernel runs with. */
export const FLAT_KERNEL_CS64 = 0xe033, FLAT_KERNEL_SS64 = 0xe02b, FLAT_KERNEL_DS64 = 0;

/** The magic a 64-bit PV kernel finds at the start of start_info (xg_dom_x86.c: dom->guest_type). */
export const START_INFO_MAGIC_X86_64 = "xen-3.0-x86_64";
/** public/xen.h MAX_GUEST_CMDLINE. */
export const MAX_GUEST_CMDLINE = 1024;

/**
 * Page types (xen/arch/x86/include/asm/mm.h PGT_*, the type_info field's bits 63:61): the level a
 * frame is validated as, or "writable" for a frame with writable mappings. A frame has one type at a
 * time; its type count must fall to 0 before the type may change.
 */
export const PGT = { none: 0, l1: 1, l2: 2, l3: 3, l4: 4, writable: 7 } as const;
export type PageType = (typeof PGT)[keyof typeof PGT];
export const PGT_NAMES: Record<PageType, string> = { 0: "none", 1: "l1_page_table", 2: "l2_page_table", 3: "l3_page_table", 4: "l4_page_table", 7: "writable_page" };

/**
 * x86 PTE flag bits as Xen's get_pte_flags() sees them (xen/arch/x86/include/asm/x86_64/page.h):
 * bits 11:0 of the entry, then bits 63:52 shifted down to flag bits 23:12.
 */
export const _PAGE_PRESENT = 0x001, _PAGE_RW = 0x002, _PAGE_USER = 0x004, _PAGE_PWT = 0x008, _PAGE_PCD = 0x010;
export const _PAGE_ACCESSED = 0x020, _PAGE_DIRTY = 0x040, _PAGE_PSE = 0x080, _PAGE_PAT = 0x080, _PAGE_GLOBAL = 0x100;
export const _PAGE_AVAIL = 0xe00;
/** Entry bits 62:52 (flag bits 22:12) and NX (entry bit 63, flag bit 23). */
export const _PAGE_AVAIL_HIGH = 0x7ff << 12, _PAGE_NX = 1 << 23;
/** Flag bit 12 (entry bit 52): Xen marks a 64-bit PV kernel's mappings with it (x86_64/page.h). */
export const _PAGE_GUEST_KERNEL = 1 << 12;

/**
 * Flags a PV guest may set in an L2-L4 entry (mm.c arch_init_memory: base_disallow_mask is the
 * complement): no PWT/PCD, no PSE (no superpages for PV), no GLOBAL.
 */
export const BASE_ALLOWED = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_AVAIL | _PAGE_AVAIL_HIGH | _PAGE_NX;
/**
 * An L1 entry may also be GLOBAL (mm.c L1_DISALLOW_MASK); a domain without cache-flush rights
 * may not set the cache attributes (PWT/PCD/PAT: l1_disallow_mask).
 */
export const L1_ALLOWED = BASE_ALLOWED | _PAGE_GLOBAL;
/** Flags changing only inside this set keep the same references (mm.c FASTPATH_FLAG_WHITELIST). */
export const FASTPATH_FLAG_WHITELIST = _PAGE_NX | _PAGE_AVAIL_HIGH | _PAGE_AVAIL | _PAGE_GLOBAL | _PAGE_DIRTY | _PAGE_ACCESSED | _PAGE_USER;

/** L4 slots 256-271 hold Xen's own mappings in every 64-bit PV L4 (asm/config.h ROOT_PAGETABLE_*_XEN_SLOT). */
export const ROOT_PAGETABLE_FIRST_XEN_SLOT = 256, ROOT_PAGETABLE_LAST_XEN_SLOT = 271;

/** The entries of one table page (x86-64: 512 of 8 bytes). */
export const PAGETABLE_ENTRIES = 512;
