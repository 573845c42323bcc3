/**
 * What the block backend needs of the machine it runs on, so the same blkback serves a domU on
 * the Xen host (dom0's driver) and a Xen-enabled child on the Longhorn host (the root's, through
 * the hypercall adapter: src/hyperv/xen-blkback.ts). The backend itself only speaks Xen's ABI —
 * XenStore nodes, the frontend's grant table (Xen's GrantTable on both hosts), its event channel
 * table (Xen's EventChannelTable on both) — so only the few host services below differ.
 */
import type { DomId, Mfn } from "../../machine";
import type { EventChannelTable } from "../event-channels";
import type { GrantTable } from "../grant-table";
import type { Port } from "../types";
import type { XenStore } from "../xenstore/store";

/** The domain whose disk is served: its Xen identity and the tables the frontend grants and binds in. */
export interface FrontendDomain {
  readonly domid: DomId;
  readonly name: string;
  readonly gnttab: GrantTable;
  readonly evtchn: EventChannelTable;
  /** Being destroyed: in-flight requests are dropped, not answered. */
  readonly dying: boolean;
  readonly isShutdown: boolean;
}

/** The backend domain's side: its XenStore, memory access and event channel services. */
export interface BackendHost {
  readonly xenstore: XenStore;
  /** The domain the backend runs in (0: dom0 on Xen, the root on Longhorn). */
  readonly backendDomid: DomId;
  log(line: string): void;
  /** The backend's view of a machine frame it has mapped. */
  memoryView(m: Mfn): DataView;
  /** The frame's bytes changed under the vCPUs (compiled code on it is stale). */
  invalidateFrame(m: Mfn): void;
  /** Binds the backend's end to the frontend's unbound port; `service` runs on each notification. */
  bindService(domid: DomId, remotePort: Port, label: string, service: () => void): Port;
  /** evtchn_close of the backend's port, if it is still bound to `domid`. */
  unbindService(port: Port, domid: DomId): void;
  /** The backend notifies the frontend (EVTCHNOP_send on its end). */
  notify(port: Port): void;
  /** The frontend domain still exists. */
  exists(domid: DomId): boolean;
}
