/**
 * Event channels (xen/common/event_channel.c) with the 2-level ABI (event_2l.c): a per-domain
 * port table; the pending/mask bitmaps and the selector live in the domain's shared_info page.
 *
 * `EventChannels` owns every port transition, as event_channel.c does: alloc_unbound,
 * bind_interdomain, bind_virq, bind_ipi, the host's daemons binding their dom0 ends, and one
 * close path (evtchn_close) used by EVTCHNOP_close, by domain destruction and by the host's
 * services when they unbind. Sending goes through here too; delivery (setting the pending bit and
 * waking a vCPU) is the host's, reached through `EvtchnHost.setPending`.
 */
import { DomId, domId } from "../machine";
import { EVTCHN_2L_NR_CHANNELS, NR_VIRQS, VIRQ } from "./abi";
import { vcpuId, VcpuId } from "../platform";
import { Port, port as toPort, Virq, virq as toVirq } from "./types";

export type PortState = "closed" | "unbound" | "interdomain" | "virq" | "ipi";
export const PORT_STATES: readonly PortState[] = ["closed", "unbound", "interdomain", "virq", "ipi"];

export interface EvtchnPort {
  readonly port: Port;
  state: PortState;
  /** unbound: the domain allowed to bind; interdomain: the peer. */
  remoteDom: DomId;
  remotePort: Port;
  virq: Virq;
  /** vCPU notified (evtchn_bind_vcpu). */
  notifyVcpu: VcpuId;
  /**
   * A port served by the host itself on behalf of dom0 (xenstored, xenconsoled, a backend): the
   * callback runs when the peer sends, instead of raising an upcall in dom0.
   */
  service?: (port: Port) => void;
  /** Who bound it, for views ("xenstore", "console", "ping"...). */
  label?: string;
}

/** Per-vCPU VIRQs (event_channel.c virq_is_global: TIMER, DEBUG, XENOPROF, XENPMU are per vCPU). */
export const PER_VCPU_VIRQS: ReadonlySet<number> = new Set<number>([VIRQ.TIMER, VIRQ.DEBUG, VIRQ.XENOPROF, VIRQ.XENPMU]);

/** What a new port starts with; plain numbers are accepted (cells write `{ remoteDom: 0 }`). */
export type PortInit = Partial<Omit<EvtchnPort, "port" | "state" | "remoteDom" | "remotePort">> & { remoteDom?: number; remotePort?: number };

/** One domain's port table (struct domain's evtchn buckets). */
export class EventChannelTable {
  private readonly ports: (EvtchnPort | undefined)[] = [];
  constructor(readonly maxPorts = EVTCHN_2L_NR_CHANNELS) {}

  /** Allocates the lowest free port ≥ 1 (port 0 is reserved, as in Xen), or undefined when full. */
  alloc(state: PortState, init: PortInit = {}): EvtchnPort | undefined {
    for (let p = 1; p < this.maxPorts; p++) {
      const cur = this.ports[p];
      if (cur === undefined || cur.state === "closed") return this.allocAt(toPort(p), state, init);
    }
    return undefined;
  }

  /** Allocates a given free port (restoring a saved domain puts its ports back at their numbers). */
  allocAt(p: Port, state: PortState, init: PortInit = {}): EvtchnPort {
    if (!this.valid(p)) throw new RangeError(`event channel port ${p} is outside 1..${this.maxPorts - 1}`);
    if (this.get(p)) throw new RangeError(`event channel port ${p} is in use`);
    const remoteDom = init.remoteDom ?? 0, remotePort = init.remotePort ?? 0;
    if (!(Number.isInteger(remoteDom) && remoteDom >= 0 && remoteDom <= 0xffff)) throw new RangeError(`remoteDom ${remoteDom} is not a domid`);
    if (!(Number.isInteger(remotePort) && remotePort >= 0 && remotePort < this.maxPorts)) throw new RangeError(`remotePort ${remotePort} is not a port`);
    const e: EvtchnPort = { virq: toVirq(0), notifyVcpu: vcpuId(0), ...init, port: p, state, remoteDom: domId(remoteDom), remotePort: toPort(remotePort) };
    this.ports[p] = e;
    return e;
  }

  /** The open port numbered `port`, if any (any number may be asked: guests and cells pass raw values). */
  get(port: Port): EvtchnPort | undefined {
    const e = this.ports[port];
    return e && e.state !== "closed" ? e : undefined;
  }

  valid(port: number): port is Port {
    return Number.isInteger(port) && port > 0 && port < this.maxPorts;
  }

  /** Frees a port in this table only; the transitions that involve a peer are EventChannels'. */
  free(port: Port): void {
    const e = this.ports[port];
    if (e) { e.state = "closed"; e.service = undefined; e.label = undefined; }
  }

  /** Open ports, in port order. */
  list(): EvtchnPort[] {
    return this.ports.filter((e): e is EvtchnPort => e !== undefined && e.state !== "closed");
  }

  /** The port bound to a VIRQ on a vCPU, if any. */
  virqPort(virq: Virq, vcpu: VcpuId): Port | undefined {
    return this.list().find((e) => e.state === "virq" && e.virq === virq && e.notifyVcpu === vcpu)?.port;
  }
}

/** What event channels need of a domain. */
export interface EvtchnDomain {
  readonly domid: DomId;
  readonly evtchn: EventChannelTable;
  readonly vcpus: readonly unknown[];
  readonly sharedInfo: { clearPending(port: Port): void };
}

/** What event channels need of the host. */
export interface EvtchnHost<D extends EvtchnDomain> {
  domainById(id: DomId): D | undefined;
  /** evtchn_port_set_pending: raise the port in `d` (and wake or upcall its vCPU). */
  setPending(d: D, port: Port): void;
}

/** Xen errno names the operations return (the hypercall layer turns them into -errno). */
export type EvtchnError = "EINVAL" | "ESRCH" | "ENOSPC" | "ENOENT" | "EEXIST";

export class EventChannels<D extends EvtchnDomain> {
  constructor(private readonly host: EvtchnHost<D>) {}

  /** EVTCHNOP_alloc_unbound: a port in `d` that `remote` may bind. */
  allocUnbound(d: D, remote: DomId, label?: string): EvtchnPort | EvtchnError {
    return d.evtchn.alloc("unbound", { remoteDom: remote, label }) ?? "ENOSPC";
  }

  /**
   * EVTCHNOP_bind_interdomain: binds a new port of `d` to `rd`'s unbound port `rport`, which
   * must be open for `d`. Like Xen, the new port is marked pending on `d`'s side so nothing sent
   * before binding is lost.
   */
  bindInterdomain(d: D, rd: D, rport: number): EvtchnPort | EvtchnError {
    if (!rd.evtchn.valid(rport)) return "EINVAL";
    const re = rd.evtchn.get(rport);
    if (!re) return "EINVAL";
    if (re.state !== "unbound" || re.remoteDom !== d.domid) return "EINVAL";
    const le = d.evtchn.alloc("interdomain", { remoteDom: rd.domid, remotePort: re.port });
    if (!le) return "ENOSPC";
    re.state = "interdomain";
    re.remoteDom = d.domid;
    re.remotePort = le.port;
    this.host.setPending(d, le.port);
    return le;
  }

  /**
   * A host daemon (xenstored, xenconsoled, a backend) binds dom0's end to `d`'s unbound port
   * `remotePort`: the dom0 port is served by `service` instead of an upcall.
   */
  bindService(dom0: D, d: D, remotePort: Port, label: string, service: () => void): Port {
    const r = d.evtchn.get(remotePort);
    if (!r || r.state !== "unbound" || r.remoteDom !== dom0.domid) throw new RangeError(`d${d.domid} port ${remotePort} is not unbound for d${dom0.domid}`);
    const local = dom0.evtchn.alloc("interdomain", { remoteDom: d.domid, remotePort, label: `${label} d${d.domid}`, service });
    if (!local) throw new RangeError(`d${dom0.domid} has no free event channel port`);
    r.state = "interdomain";
    r.remoteDom = dom0.domid;
    r.remotePort = local.port;
    return local.port;
  }

  /** EVTCHNOP_bind_virq. */
  bindVirq(d: D, virq: Virq, vcpu: VcpuId): EvtchnPort | EvtchnError {
    if (!(Number.isInteger(virq) && virq >= 0 && virq < NR_VIRQS)) return "EINVAL";
    if (!(vcpu >= 0 && vcpu < d.vcpus.length)) return "ENOENT";
    if (!PER_VCPU_VIRQS.has(virq) && vcpu !== 0) return "EINVAL";
    if (d.evtchn.virqPort(virq, vcpu) !== undefined) return "EEXIST";
    return d.evtchn.alloc("virq", { virq, notifyVcpu: vcpu }) ?? "ENOSPC";
  }

  /** EVTCHNOP_bind_ipi. */
  bindIpi(d: D, vcpu: VcpuId): EvtchnPort | EvtchnError {
    if (!(vcpu >= 0 && vcpu < d.vcpus.length)) return "ENOENT";
    return d.evtchn.alloc("ipi", { notifyVcpu: vcpu }) ?? "ENOSPC";
  }

  /**
   * evtchn_close, the one close path: the port is freed and its pending bit cleared; an
   * interdomain peer goes back to unbound for this domain (ECS_UNBOUND, remote_domid = us), so
   * it can be bound again; a peer served by a host daemon is unbound by that daemon too.
   */
  close(d: D, port: Port): void {
    const e = d.evtchn.get(port);
    if (!e) return;
    if (e.state === "interdomain") {
      const rd = this.host.domainById(e.remoteDom);
      const re = rd?.evtchn.get(e.remotePort);
      if (rd && re && re.state === "interdomain" && re.remoteDom === d.domid && re.remotePort === port) {
        if (re.service) {
          rd.evtchn.free(re.port);
          rd.sharedInfo.clearPending(re.port);
        } else {
          re.state = "unbound";
          re.remoteDom = d.domid;
          re.remotePort = toPort(0);
        }
      }
    }
    d.evtchn.free(port);
    d.sharedInfo.clearPending(port);
  }

  /** Domain destruction (evtchn_destroy): every port goes through the close path. */
  closeAll(d: D): void {
    for (const e of d.evtchn.list()) this.close(d, e.port);
  }

  /** EVTCHNOP_send: raises the peer's port (interdomain) or our own (ipi). */
  send(d: D, port: Port): 0 | "EINVAL" {
    const e = d.evtchn.get(port);
    if (!e) return "EINVAL";
    switch (e.state) {
      case "interdomain": {
        const rd = this.host.domainById(e.remoteDom);
        if (rd) this.host.setPending(rd, e.remotePort);
        return 0;
      }
      case "ipi": this.host.setPending(d, e.port); return 0;
      case "unbound": return 0;
      default: return "EINVAL";
    }
  }
}
