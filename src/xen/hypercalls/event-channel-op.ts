/** HYPERVISOR_event_channel_op (common/event_channel.c; public event_channel.h). */
import { vcpuId } from "../../platform";
import { virq } from "../types";
import { EVTCHNOP, EVTCHNSTAT, LAYOUT } from "../abi";
import { PER_VCPU_VIRQS } from "../event-channels";
import { Handler, err, num, domainArg, domidArg, privilegedOrSelf } from "./context";

const AU = LAYOUT.evtchn_alloc_unbound.f, BI = LAYOUT.evtchn_bind_interdomain.f, BV = LAYOUT.evtchn_bind_virq.f;
const BP = LAYOUT.evtchn_bind_ipi.f, ST = LAYOUT.evtchn_status.f;


export const eventChannelOp: Handler = (c, a) => {
  const cmd = num(a[0]!), arg = num(a[1]!);
  const { host, dom, mem } = c;
  switch (cmd) {
    case EVTCHNOP.alloc_unbound: {
      const d = domainArg(c, mem.u16(arg + AU.dom));
      if (!d) return err("ESRCH");
      if (!privilegedOrSelf(c, d)) return err("EPERM");
      const remote = mem.u16(arg + AU.remote_dom);
      const e = host.events.allocUnbound(d, domidArg(c, remote));
      if (typeof e === "string") return err(e);
      mem.setU32(arg + AU.port, e.port);
      return 0;
    }
    case EVTCHNOP.bind_interdomain: {
      const rid = mem.u16(arg + BI.remote_dom);
      const rd = domainArg(c, rid);
      if (!rd) return err("ESRCH");
      const le = host.events.bindInterdomain(dom, rd, mem.u32(arg + BI.remote_port));
      if (typeof le === "string") return err(le);
      mem.setU32(arg + BI.local_port, le.port);
      return 0;
    }
    case EVTCHNOP.bind_virq: {
      const e = host.events.bindVirq(dom, virq(mem.u32(arg + BV.virq)), vcpuId(mem.u32(arg + BV.vcpu)));
      if (typeof e === "string") return err(e);
      mem.setU32(arg + BV.port, e.port);
      return 0;
    }
    case EVTCHNOP.bind_ipi: {
      const e = host.events.bindIpi(dom, vcpuId(mem.u32(arg + BP.vcpu)));
      if (typeof e === "string") return err(e);
      mem.setU32(arg + BP.port, e.port);
      return 0;
    }
    case EVTCHNOP.close: {
      const p = mem.u32(arg + LAYOUT.evtchn_close.f.port);
      if (!dom.evtchn.valid(p)) return err("EINVAL");
      host.events.close(dom, p);
      return 0;
    }
    case EVTCHNOP.send: {
      const p = mem.u32(arg + LAYOUT.evtchn_send.f.port);
      return dom.evtchn.valid(p) ? host.evtchnSend(dom, p) : err("EINVAL");
    }
    case EVTCHNOP.status: {
      const d = domainArg(c, mem.u16(arg + ST.dom));
      if (!d) return err("ESRCH");
      if (!privilegedOrSelf(c, d)) return err("EPERM");
      const port = mem.u32(arg + ST.port);
      if (!d.evtchn.valid(port)) return err("EINVAL");
      const e = d.evtchn.get(port);
      const status = e ? EVTCHNSTAT[e.state] : EVTCHNSTAT.closed;
      mem.setU32(arg + ST.status, status);
      mem.setU32(arg + ST.vcpu, e?.notifyVcpu ?? 0);
      mem.write(arg + ST.u, new Uint8Array(8));
      if (e?.state === "unbound") mem.setU16(arg + ST.u, e.remoteDom);
      else if (e?.state === "interdomain") { mem.setU16(arg + ST.u, e.remoteDom); mem.setU32(arg + ST.u + 4, e.remotePort); }
      else if (e?.state === "virq") mem.setU32(arg + ST.u, e.virq);
      return 0;
    }
    case EVTCHNOP.unmask: {
      const port = mem.u32(arg);
      if (!dom.evtchn.valid(port)) return err("EINVAL");
      const e = dom.evtchn.get(port);
      const si = dom.sharedInfo;
      // evtchn_2l_unmask: if the mask bit was set and the port is pending, re-raise.
      if (si.testAndClearMask(port) && si.testPending(port)) {
        const v = dom.vcpus[e?.notifyVcpu ?? 0]!;
        if (!si.testAndSetPendingSel(v.id, port >> 6)) host.markEventsPending(v);
      }
      return 0;
    }
    case EVTCHNOP.bind_vcpu: {
      const port = mem.u32(arg + LAYOUT.evtchn_bind_vcpu.f.port), vcpu = mem.u32(arg + LAYOUT.evtchn_bind_vcpu.f.vcpu);
      const e = dom.evtchn.valid(port) ? dom.evtchn.get(port) : undefined;
      if (!e) return err("EINVAL");
      if (vcpu >= dom.vcpus.length) return err("ENOENT");
      if (e.state === "virq" && PER_VCPU_VIRQS.has(e.virq)) return err("EINVAL");
      e.notifyVcpu = vcpuId(vcpu);
      return 0;
    }
    default: return err("ENOSYS");
  }
};
