/**
 * Event channels (xen/common/event_channel.c) with the 2-level ABI (event_2l.c): per-domain port
 * table; the pending/mask bitmaps and the selector live in the domain's shared_info page.
 */
import { EVTCHN_2L_NR_CHANNELS } from "./abi";

export type PortState = "closed" | "unbound" | "interdomain" | "virq" | "ipi";

export interface EvtchnPort {
  port: number;
  state: PortState;
  /** unbound: the domain allowed to bind; interdomain: the peer. */
  remoteDom: number;
  remotePort: number;
  virq: number;
  /** vCPU notified (evtchn_bind_vcpu). */
  notifyVcpu: number;
  /**
   * A port served by the host itself on behalf of dom0 (xenstored, xenconsoled, a backend): the
   * callback runs when the peer sends, instead of raising an upcall in dom0.
   */
  service?: (port: number) => void;
  /** Who bound it, for views ("xenstore", "console", "ping"...). */
  label?: string;
}

export class EventChannelTable {
  private readonly ports: (EvtchnPort | undefined)[] = [];
  constructor(readonly maxPorts = EVTCHN_2L_NR_CHANNELS) {}

  /** Allocates the lowest free port ≥ 1 (port 0 is reserved, as in Xen), or -1 when full. */
  alloc(state: PortState, init: Partial<EvtchnPort> = {}): EvtchnPort | undefined {
    for (let p = 1; p < this.maxPorts; p++) {
      const cur = this.ports[p];
      if (cur === undefined || cur.state === "closed") {
        const e: EvtchnPort = { port: p, state, remoteDom: 0, remotePort: 0, virq: 0, notifyVcpu: 0, ...init };
        this.ports[p] = e;
        return e;
      }
    }
    return undefined;
  }

  get(port: number): EvtchnPort | undefined {
    const e = this.ports[port];
    return e && e.state !== "closed" ? e : undefined;
  }

  valid(port: number): boolean {
    return Number.isInteger(port) && port > 0 && port < this.maxPorts;
  }

  close(port: number): void {
    const e = this.ports[port];
    if (e) { e.state = "closed"; e.service = undefined; e.label = undefined; }
  }

  /** Open ports, in port order. */
  list(): EvtchnPort[] {
    return this.ports.filter((e): e is EvtchnPort => e !== undefined && e.state !== "closed");
  }

  /** The port bound to a VIRQ on a vCPU, if any. */
  virqPort(virq: number, vcpu: number): number | undefined {
    return this.list().find((e) => e.state === "virq" && e.virq === virq && e.notifyVcpu === vcpu)?.port;
  }
}
