/**
 * dom0's side of grant mapping, done by the host on the backend's behalf with the checks of
 * GNTTABOP_map_grant_ref (xen/common/grant_table.c map_grant_ref): the entry must be
 * GTF_permit_access for the backend's domain, and GTF_readonly forbids a writable mapping. While a
 * page is mapped the granter's entry shows GTF_reading (and GTF_writing for writable maps), as Xen
 * sets them, so the guest and the grant-table view see the backend holding its pages.
 */
import { gfn, Mfn } from "../../machine";
import { GNTST, GTF_permit_access, GTF_readonly, GTF_type_mask } from "../abi";
import type { Domain } from "../domain";

export interface ForeignMapping {
  granter: Domain;
  ref: number;
  writable: boolean;
  mfn: Mfn;
  view: DataView;
}

/** GNTST_* names for a failed mapping. */
export type GrantFailure = { status: number; reason: string };

export function mapGrant(granter: Domain, ref: number, backendDomid: number, writable: boolean): ForeignMapping | GrantFailure {
  const t = granter.gnttab;
  if (!Number.isInteger(ref) || ref < 0 || ref >= t.nrEntries) return { status: GNTST.bad_gntref, reason: `grant ref ${ref} beyond d${granter.domid}'s table (${t.nrEntries} entries)` };
  const e = t.entry(ref)!;
  if ((e.flags & GTF_type_mask) !== GTF_permit_access || e.domid !== backendDomid) {
    return { status: GNTST.permission_denied, reason: `grant ref ${ref} of d${granter.domid} does not permit access to d${backendDomid} (flags 0x${e.flags.toString(16)}, domid ${e.domid})` };
  }
  if (writable && (e.flags & GTF_readonly)) return { status: GNTST.permission_denied, reason: `grant ref ${ref} of d${granter.domid} is read-only` };
  const p = granter.machine.p2m(granter.domid).lookup(gfn(e.frame));
  if (!p) return { status: GNTST.bad_page, reason: `grant ref ${ref} names frame 0x${e.frame.toString(16)}, which d${granter.domid} does not have` };
  t.pin(ref, !writable);
  if (writable) granter.machine.invalidateFrame(p.mfn);
  return { granter, ref, writable, mfn: p.mfn, view: granter.machine.memory.view(p.mfn) };
}

export function unmapGrant(m: ForeignMapping): void {
  // A domain being destroyed has released its table already: nothing left to unpin.
  if (m.granter.gnttab.frames.length) m.granter.gnttab.unpin(m.ref, !m.writable);
}

export function isFailure(x: ForeignMapping | GrantFailure): x is GrantFailure {
  return (x as GrantFailure).status !== undefined;
}
