/**
 * The root's block backend for Xen-enabled children: Xen's own blkback (src/xen/blkback, the code
 * dom0 runs on the Xen host) serving a child through the adapter. It needs nothing Hyper-V does
 * not already give the adapter: the frontend's nodes are in the root's XenStore, its ring and data
 * pages are grants in its Xen GrantTable (the root reads the granted frames as a VSP reads a
 * child's GPADL pages), its event channel is a port of the transport, bound by the root as a
 * service (as xenstored's and xenconsoled's are), and the root's notification is its
 * HvSignalEvent on the child's event connection (xen-transport.ts notifyFromRoot).
 *
 *   const vbd = attachXenDisk(hv, p, "format=vhd, vdev=xvda, access=rw, target=disk.vhd");
 *   // in the guest: insmod xen-blkfront.ko → /dev/xvda; vbd.stats counts what it served
 */
import type { DiskSpec } from "../xen/xl-config";
import { attachBackendDisk, backendDisks, type AttachOptions, type BackendHost, type FrontendDomain, type Vbd } from "../xen/blkback";
import type { DomId } from "../machine";
import type { HypervHost } from "./host";
import type { Partition } from "./partition";
import { rootXenStore, xenTransport } from "./xen-adapter";
import { HypervError } from "./errors";

const roots = new WeakMap<HypervHost, BackendHost>();

/** The root as Xen's backend domain 0 (one object per host: the host's device registry is keyed by it). */
export function rootBackendHost(hv: HypervHost): BackendHost {
  let b = roots.get(hv);
  if (b) return b;
  const t = xenTransport(hv);
  const endOf = (domid: DomId) => {
    const e = t.domainById(domid);
    if (!e) throw new RangeError(`no Xen-enabled partition is domain ${domid}`);
    return e;
  };
  b = {
    xenstore: rootXenStore(hv),
    backendDomid: t.root.domid,
    log: (line) => { hv.log.push(line); },
    memoryView: (m) => hv.machine.memory.view(m),
    invalidateFrame: (m) => hv.machine.invalidateFrame(m),
    bindService: (domid, remotePort, label, service) => t.events.bindService(t.root, endOf(domid), remotePort, label, service),
    unbindService: (p, domid) => {
      const e = t.root.evtchn.get(p);
      if (e && e.state === "interdomain" && e.remoteDom === domid) t.events.close(t.root, e.port);
    },
    notify: (p) => t.notifyFromRoot(p),
    exists: (domid) => { const p = hv.partitionOfDomain(domid); return p !== undefined && p.state !== "deleted"; },
  };
  roots.set(hv, b);
  return b;
}

const frontends = new WeakMap<Partition, FrontendDomain>();

/** A Xen-enabled child as blkback sees a domU: its domid, grant table and port table. */
export function xenFrontend(p: Partition): FrontendDomain {
  let f = frontends.get(p);
  if (f) return f;
  const a = p.xenAdapter;
  if (!a) throw new HypervError("INVALID_PARAMETER", `partition ${p.id} "${p.name}" is not Xen-enabled (create it with pvh or xenAdapter): blkfront has no grant table or event channels there`);
  f = {
    get domid() { return p.domid; },
    get name() { return p.name; },
    gnttab: a.gnttab,
    evtchn: a.end.evtchn,
    get dying() { return p.state === "deleted"; },
    get isShutdown() { return p.shutdownReason !== undefined; },
  };
  frontends.set(p, f);
  return f;
}

/**
 * What libxl_device_disk_add does on Xen, done by the root for a Xen-enabled child: the image
 * opened, backend and frontend nodes in the root's XenStore, the backend at InitWait; the child's
 * xen-blkfront connects when it probes. `spec` is an xl disk spec.
 */
export function attachXenDisk(hv: HypervHost, q: Partition | number | string, spec: string | DiskSpec, opts: AttachOptions = {}): Vbd {
  const p = typeof q === "object" ? q : hv.partition(q);
  return attachBackendDisk(rootBackendHost(hv), xenFrontend(p), spec, opts);
}

/** The disks the root serves to Xen-enabled children (all, or one partition's). */
export function xenDisks(hv: HypervHost, q?: Partition | number | string): Vbd[] {
  const p = q === undefined ? undefined : typeof q === "object" ? q : hv.partition(q);
  return backendDisks(rootBackendHost(hv), p?.domid);
}
