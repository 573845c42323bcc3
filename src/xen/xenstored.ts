/**
 * dom0's xenstored (tools/xenstored): the XenStore tree, and each domain's store ring served
 * through dom0's end of its store event channel. A request batch is answered in order; watch
 * events raised while it is handled are queued behind the replies (withDeferredEvents), and the
 * guest is notified once its ring holds output (xenstored's domain_can_write / xenevtchn_notify).
 */
import type { Machine } from "../machine";
import type { Domain } from "./domain";
import type { Port } from "./types";
import { XenStore } from "./xenstore/store";
import { XenStoreRing } from "./xenstore/ring";
import { handleRequest, watchEvent, withDeferredEvents } from "./xenstore/wire";

/** What xenstored needs from the hypervisor: the domains, their memory, event channels. */
export interface XenstoredHost {
  readonly machine: Machine;
  readonly domains: ReadonlyMap<number, Domain>;
  setPending(d: Domain, port: Port): void;
  bindService(d: Domain, remotePort: Port, label: string, service: () => void): Port;
}

export class Xenstored {
  /** The tree (dom0's view: the host reads and writes it with dom0's rights). */
  readonly store = new XenStore();

  constructor(private readonly host: XenstoredHost) {}

  /**
   * XS_INTRODUCE: serve `d`'s store ring (its page at d.storeGfn) through dom0's end of the
   * domain's unbound store port.
   */
  introduce(d: Domain, storePort: Port): void {
    d.storeRing = new XenStoreRing(() => this.host.machine.memory.view(this.host.machine.p2m(d.domid).lookup(d.storeGfn)!.mfn));
    this.host.bindService(d, storePort, "xenstore", () => this.service(d));
  }

  private service(d: Domain): void {
    const ring = d.storeRing;
    if (!ring || !this.host.domains.has(d.domid)) return;
    const send = (path: string, token: string) => { ring.queue(watchEvent(path, token)); this.flush(d); };
    const msgs = ring.takeRequests();
    withDeferredEvents(() => {
      for (const m of msgs) {
        const r = handleRequest(this.store, d.domid, m, send, { domainPath: (id) => `/local/domain/${id}`, isIntroduced: (id) => this.host.domains.has(id) });
        ring.queue(r);
      }
      this.flush(d);
    });
    this.flush(d);
  }

  private flush(d: Domain): void {
    if (d.storeRing?.flush()) {
      const e = d.evtchn.get(d.storePort);
      if (e && e.state === "interdomain") this.host.setPending(d, d.storePort);
    }
  }
}
