/** HYPERVISOR_event_channel_op (common/event_channel.c; public event_channel.h). */
import { DOMID_SELF, EVTCHNOP, EVTCHNSTAT, LAYOUT, NR_VIRQS, VIRQ } from "../abi";
import { Handler, err, num, domainArg, privilegedOrSelf } from "./context";

const AU = LAYOUT.evtchn_alloc_unbound.f, BI = LAYOUT.evtchn_bind_interdomain.f, BV = LAYOUT.evtchn_bind_virq.f;
const BP = LAYOUT.evtchn_bind_ipi.f, ST = LAYOUT.evtchn_status.f;

/** Per-vCPU VIRQs (xen/common/event_channel.c virq_is_global: TIMER, DEBUG, XENOPROF, XENPMU are per vCPU). */
const PER_VCPU_VIRQS = new Set<number>([VIRQ.TIMER, VIRQ.DEBUG, VIRQ.XENOPROF, 13]);

export const eventChannelOp: Handler = (c, a) => {
  const cmd = num(a[0]!), arg = num(a[1]!);
  const { host, dom, mem } = c;
  switch (cmd) {
    case EVTCHNOP.alloc_unbound: {
      const d = domainArg(c, mem.u16(arg + AU.dom));
      if (!d) return err("ESRCH");
      if (!privilegedOrSelf(c, d)) return err("EPERM");
      let remote = mem.u16(arg + AU.remote_dom);
      if (remote === DOMID_SELF) remote = c.dom.domid;
      const e = d.evtchn.alloc("unbound", { remoteDom: remote });
      if (!e) return err("ENOSPC");
      mem.setU32(arg + AU.port, e.port);
      return 0;
    }
    case EVTCHNOP.bind_interdomain: {
      let rid = mem.u16(arg + BI.remote_dom);
      if (rid === DOMID_SELF) rid = dom.domid;
      const rd = host.domains.get(rid);
      if (!rd) return err("ESRCH");
      const rport = mem.u32(arg + BI.remote_port);
      const re = rd.evtchn.get(rport);
      if (!rd.evtchn.valid(rport) || !re) return err("EINVAL");
      if (re.state !== "unbound" || re.remoteDom !== dom.domid) return err("EINVAL");
      const le = dom.evtchn.alloc("interdomain", { remoteDom: rd.domid, remotePort: rport });
      if (!le) return err("ENOSPC");
      re.state = "interdomain";
      re.remoteDom = dom.domid;
      re.remotePort = le.port;
      mem.setU32(arg + BI.local_port, le.port);
      // Like Xen, a freshly bound channel is marked pending on our side (evtchn_bind_interdomain
      // calls evtchn_port_set_pending so no notification sent before binding is lost).
      host.setPending(dom, le.port);
      return 0;
    }
    case EVTCHNOP.bind_virq: {
      const virq = mem.u32(arg + BV.virq), vcpu = mem.u32(arg + BV.vcpu);
      if (virq >= NR_VIRQS) return err("EINVAL");
      if (vcpu >= dom.vcpus.length) return err("ENOENT");
      if (!PER_VCPU_VIRQS.has(virq) && vcpu !== 0) return err("EINVAL");
      if (dom.evtchn.virqPort(virq, vcpu) !== undefined) return err("EEXIST");
      const e = dom.evtchn.alloc("virq", { virq, notifyVcpu: vcpu });
      if (!e) return err("ENOSPC");
      mem.setU32(arg + BV.port, e.port);
      return 0;
    }
    case EVTCHNOP.bind_ipi: {
      const vcpu = mem.u32(arg + BP.vcpu);
      if (vcpu >= dom.vcpus.length) return err("ENOENT");
      const e = dom.evtchn.alloc("ipi", { notifyVcpu: vcpu });
      if (!e) return err("ENOSPC");
      mem.setU32(arg + BP.port, e.port);
      return 0;
    }
    case EVTCHNOP.close: {
      const port = mem.u32(arg);
      const e = dom.evtchn.get(port);
      if (!dom.evtchn.valid(port)) return err("EINVAL");
      if (!e) return 0;
      if (e.state === "interdomain") {
        const rd = host.domains.get(e.remoteDom);
        const re = rd?.evtchn.get(e.remotePort);
        if (re && rd!.domid === 0 && re.service) rd!.evtchn.close(e.remotePort);
        else if (re) { re.state = "unbound"; re.remoteDom = dom.domid; re.remotePort = 0; }
      }
      dom.evtchn.close(port);
      dom.sharedInfo.clearPending(port);
      return 0;
    }
    case EVTCHNOP.send: {
      const port = mem.u32(arg);
      return host.evtchnSend(dom, port);
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
      const e = dom.evtchn.get(port);
      if (!e) return err("EINVAL");
      if (vcpu >= dom.vcpus.length) return err("ENOENT");
      if (e.state === "virq" && PER_VCPU_VIRQS.has(e.virq)) return err("EINVAL");
      e.notifyVcpu = vcpu;
      return 0;
    }
    default: return err("ENOSYS");
  }
};
