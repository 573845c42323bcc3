/**
 * The adapter's transport (issue 12 item 3): Xen's own event-channel code (src/xen/event-channels.ts,
 * which owns every port transition on the Xen host too) serving the Xen-enabled partitions of a
 * Longhorn host, with Hyper-V underneath. Each Xen domain here is a partition (`XenEnd`): the
 * root is domain 0 (xenstored and xenconsoled bind their ends there as services, as on Xen), each
 * Xen-enabled child the domain numbered like its memory (Partition.domid).
 *
 * Raising a port (Xen's evtchn_port_set_pending) is HvSignalEvent on the port's connection: every
 * domain has one SynIC event connection in the root (ours: "EV" << 16 | partition id) whose flag
 * number is the port. A guest's EVTCHNOP_send signals it from the guest's VP (the call shows in
 * the guest's hypercall trace); a service in the root signals from the root. What Xen itself marks
 * pending (a fresh interdomain binding, a VIRQ when its timer fires) is the hypervisor's own doing:
 * delivered directly, as Hyper-V sets a SynIC event flag when a synthetic timer expires.
 */
import { HVCALL, HV_STATUS } from "./tlfs";
import { EventChannels, EventChannelTable, type EvtchnDomain, type EvtchnHost } from "../xen/event-channels";
import type { DomId } from "../machine";
import type { Port } from "../xen/types";
import { connectionId, type ConnectionId } from "./ids";

/** Connection id of a Xen domain's event connection: "EV" << 16 | partition id (ours). */
export const XEN_EVENT_CONNECTION = (partitionId: number): ConnectionId => connectionId((0x45560000 | (partitionId & 0xffff)) >>> 0);

/** What the transport needs of a partition. */
export interface TransportPartition {
  readonly id: number;
  readonly domid: DomId;
  readonly vps: readonly unknown[];
}

/** What a guest end does with a port raised on it: Xen's 2-level set-pending in its shared_info. */
export interface PortSink {
  raise(port: Port): void;
  clearPending(port: Port): void;
}

/** A Xen domain on the Longhorn host: a Xen-enabled partition, or the root as domain 0. */
export class XenEnd implements EvtchnDomain {
  readonly evtchn = new EventChannelTable();
  readonly sharedInfo: { clearPending(port: Port): void };
  constructor(readonly partition: TransportPartition, readonly sink: PortSink | undefined) {
    this.sharedInfo = { clearPending: (p) => sink?.clearPending(p) };
  }
  get domid(): DomId { return this.partition.domid; }
  get vcpus(): readonly unknown[] { return this.partition.vps; }
  get connectionId(): ConnectionId { return XEN_EVENT_CONNECTION(this.partition.id); }
}

/** What the transport needs of the host: connections and the root's hypercalls. */
export interface TransportHost<P extends TransportPartition> {
  readonly root: P;
  registerConnection(c: { id: ConnectionId; owner: string; onEvent: (from: P, flag: number) => number }): void;
  rootCall(code: number, input: Uint8Array): { status: number };
}

/** A guest VP sending: signals through its own partition's hypercall path, returning the HV status. */
export type Signaller = (connectionId: ConnectionId, flag: number) => number;

export class XenTransport<P extends TransportPartition> implements EvtchnHost<XenEnd> {
  readonly events = new EventChannels<XenEnd>(this);
  readonly root: XenEnd;
  private readonly ends = new Map<number, XenEnd>();
  /** While a guest's EVTCHNOP_send runs: its signaller, and what the send became. */
  private sender: { signal: Signaller; notes: string[] } | "root" | undefined;
  /** HvSignalEvent calls made for sends, by the guest and by the root's services. */
  signals = 0;

  constructor(private readonly host: TransportHost<P>) {
    this.root = this.add(host.root, undefined);
  }

  /** The end of a partition (created by the adapter when the partition gets one). */
  add(p: P, sink: PortSink | undefined): XenEnd {
    const e = new XenEnd(p, sink);
    this.ends.set(p.domid, e);
    this.host.registerConnection({ id: e.connectionId, owner: `xen event channels of domain ${p.domid}`, onEvent: (from, flag) => this.signalled(e, from, flag) });
    return e;
  }

  domainById(id: DomId): XenEnd | undefined {
    return this.ends.get(id);
  }

  /**
   * EVTCHNOP_send from a guest, its raise done as HvSignalEvent by `signal`; returns Xen's result
   * and what it became on the Hyper-V side.
   */
  send(from: XenEnd, port: Port, signal: Signaller): { result: 0 | "EINVAL"; hyperv: string[] } {
    const notes: string[] = [];
    this.sender = { signal, notes };
    try { return { result: this.events.send(from, port), hyperv: notes }; } finally { this.sender = undefined; }
  }

  /** A service in the root (xenstored, xenconsoled) notifies its peer: the root's HvSignalEvent. */
  notifyFromRoot(rootPort: Port): void {
    const s = this.sender;
    this.sender = "root";
    try { this.events.send(this.root, rootPort); } finally { this.sender = s; }
  }

  /** evtchn_port_set_pending: HvSignalEvent on the domain's connection, by whoever sends now. */
  setPending(d: XenEnd, port: Port): void {
    const s = this.sender;
    if (s && s !== "root") {
      this.signals++;
      const st = s.signal(d.connectionId, port);
      s.notes.push(`HvSignalEvent(conn 0x${d.connectionId.toString(16)}, flag ${port}) = ${st}`);
      return;
    }
    if (s === "root") {
      // The root's own signal, through its hypercall path (memory input: ConnectionId, FlagNumber).
      const input = new Uint8Array(8);
      const dv = new DataView(input.buffer);
      dv.setUint32(0, d.connectionId, true);
      dv.setUint16(4, port, true);
      this.signals++;
      this.host.rootCall(HVCALL.SIGNAL_EVENT, input);
      return;
    }
    this.deliver(d, port);
  }

  /**
   * A signal arrived on `d`'s connection from partition `from`. Only a partition holding the other
   * end of the port may signal it (its HvConnectPort), or the domain itself (an IPI port).
   */
  private signalled(d: XenEnd, from: P, flag: number): number {
    const e = d.evtchn.valid(flag) ? d.evtchn.get(flag) : undefined;
    if (!e) return HV_STATUS.INVALID_PORT_ID;
    const ok = from === d.partition ? e.state === "ipi" : e.state === "interdomain" && e.remoteDom === from.domid;
    if (!ok) return HV_STATUS.ACCESS_DENIED;
    this.deliver(d, e.port);
    return HV_STATUS.SUCCESS;
  }

  /** The port goes pending: a root service runs (signalling back as the root), or the guest's shared_info. */
  deliver(d: XenEnd, port: Port): void {
    const e = d.evtchn.get(port);
    if (!e) return;
    if (e.service) {
      const s = this.sender;
      this.sender = undefined;
      try { e.service(port); } finally { this.sender = s; }
      return;
    }
    d.sink?.raise(port);
  }
}
