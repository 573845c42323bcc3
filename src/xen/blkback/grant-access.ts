/**
 * dom0's side of grant mapping, done by the host on the backend's behalf: the checks, pins and
 * GTF_reading/GTF_writing updates are the grant table's own (../grant-table.ts mapForHost, the
 * same code GNTTABOP_map_grant_ref uses); this adds the DataView the backend reads and writes.
 */
import { GrantRefusal, GrantTable, HostGrantMapping, isRefusal } from "../grant-table";
import type { GrantRef } from "../types";
import type { BackendHost, FrontendDomain } from "./backend-host";

export interface ForeignMapping extends HostGrantMapping {
  granter: FrontendDomain;
  view: DataView;
}

/** GNTST_* names for a failed mapping. */
export type GrantFailure = GrantRefusal;

export function mapGrant(backend: BackendHost, granter: FrontendDomain, ref: GrantRef, writable: boolean): ForeignMapping | GrantFailure {
  const m = granter.gnttab.mapForHost(ref, backend.backendDomid, writable);
  if (isRefusal(m)) return m;
  return { ...m, granter, view: backend.memoryView(m.mfn) };
}

export function unmapGrant(m: ForeignMapping): void {
  GrantTable.unmapForHost(m);
}

export const isFailure = isRefusal<ForeignMapping>;
