/**
 * Where an HVM/PVH guest's console and xenstore pages live: Xen's HVM "special pages"
 * (tools/libs/guest/xg_dom_x86.c: X86_HVM_END_SPECIAL_REGION 0xff000, 8 pages below it). A PV
 * guest's pages are wherever its builder allocated them instead (Domain.storeGfn/consoleGfn).
 */
import { Gfn, gfn } from "../machine";

/** xg_dom_x86.c special pages: end of region and count; console and xenstore indices. */
export const X86_HVM_END_SPECIAL_REGION = 0xff000;
export const X86_HVM_NR_SPECIAL_PAGES = 8;
const SPECIALPAGE_XENSTORE = 4, SPECIALPAGE_CONSOLE = 7;
export const specialPfn = (x: number): Gfn => gfn(X86_HVM_END_SPECIAL_REGION - X86_HVM_NR_SPECIAL_PAGES + x);
export const XENSTORE_PFN = specialPfn(SPECIALPAGE_XENSTORE);
export const CONSOLE_PFN = specialPfn(SPECIALPAGE_CONSOLE);
