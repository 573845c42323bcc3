/**
 * HYPERVISOR_event_channel_op through the adapter: the guest's structs (public event_channel.h,
 * the layouts the header test checks) read and written as Xen's handler does
 * (src/xen/hypercalls/event-channel-op.ts), every port transition made by Xen's EventChannels on
 * the transport's domains (xen-transport.ts), and what each became on the Hyper-V side recorded.
 */
import { DOMID_SELF, EVTCHNOP, EVTCHNSTAT, LAYOUT, XEN_ERRNO, type XenErrnoName } from "../xen/abi";
import { PER_VCPU_VIRQS } from "../xen/event-channels";
import { virq as toVirq } from "../xen/types";
import { domId, type Vcpu } from "../machine";
import { vcpuId } from "../platform";
import type { TransportPartition, XenEnd, XenTransport, Signaller } from "./xen-transport";

const AU = LAYOUT.evtchn_alloc_unbound.f, BI = LAYOUT.evtchn_bind_interdomain.f, BV = LAYOUT.evtchn_bind_virq.f;
const BP = LAYOUT.evtchn_bind_ipi.f, ST = LAYOUT.evtchn_status.f, BC = LAYOUT.evtchn_bind_vcpu.f;

export interface EvtchnCall<P extends TransportPartition> {
  transport: XenTransport<P>;
  end: XenEnd;
  cpu: Vcpu;
  /** HvSignalEvent from the calling VP. */
  signal: Signaller;
  /** EVTCHNOP_unmask re-raising a pending port: the upcall of the port's vCPU. */
  markEventsPending(vcpu: number): void;
  testAndClearMask(port: number): boolean;
  testPending(port: number): boolean;
  testAndSetPendingSel(vcpu: number, word: number): boolean;
}

const NAMES = new Map<number, string>(Object.entries(EVTCHNOP).map(([k, v]) => [v as number, k]));
const err = (e: XenErrnoName) => -XEN_ERRNO[e];

/** One EVTCHNOP; returns Xen's result, the call's name and its Hyper-V side. */
export function eventChannelOp<P extends TransportPartition>(c: EvtchnCall<P>, cmd: number, arg: bigint): { result: number; name: string; hyperv: string[] } {
  const { transport: t, end: d, cpu } = c;
  const name = `event_channel_op(${NAMES.get(cmd) ?? cmd})`;
  const out = (result: number, hyperv: string[] = []) => ({ result, name, hyperv });
  const u16 = (o: number) => cpu.readVirt(arg + BigInt(o), 2).reduce((a, b, i) => a | (b << (8 * i)), 0);
  const u32 = (o: number) => cpu.readVirtU32(arg + BigInt(o));
  const put32 = (o: number, v: number) => cpu.writeVirtU32(arg + BigInt(o), v);
  const self = (id: number) => (id === DOMID_SELF ? d : t.domainById(domId(id)));
  switch (cmd) {
    case EVTCHNOP.alloc_unbound: {
      const dom = self(u16(AU.dom));
      if (!dom) return out(err("ESRCH"));
      if (dom !== d) return out(err("EPERM")); // only dom0 (the root) allocates for others
      const remote = u16(AU.remote_dom);
      const e = t.events.allocUnbound(d, remote === DOMID_SELF ? d.domid : domId(remote));
      if (typeof e === "string") return out(err(e));
      put32(AU.port, e.port);
      return out(0, [`root: HvCreatePort(partition ${d.partition.id}, event, flag ${e.port}) on connection 0x${d.connectionId.toString(16)}`]);
    }
    case EVTCHNOP.bind_interdomain: {
      const rd = self(u16(BI.remote_dom));
      if (!rd) return out(err("ESRCH"));
      const rport = u32(BI.remote_port);
      const e = t.events.bindInterdomain(d, rd, rport);
      if (typeof e === "string") return out(err(e));
      put32(BI.local_port, e.port);
      return out(0, [`root: HvConnectPort(${d.partition.id}:${e.port} <-> ${rd.partition.id}:${rport})`]);
    }
    case EVTCHNOP.bind_virq: {
      const v = u32(BV.virq), vcpu = u32(BV.vcpu);
      const e = t.events.bindVirq(d, toVirq(v), vcpuId(vcpu));
      if (typeof e === "string") return out(err(e));
      put32(BV.port, e.port);
      return out(0, [`VIRQ ${v} of VP ${vcpu}: raised by the hypervisor (a synthetic timer's expiry for VIRQ_TIMER)`]);
    }
    case EVTCHNOP.bind_ipi: {
      const vcpu = u32(BP.vcpu);
      const e = t.events.bindIpi(d, vcpuId(vcpu));
      if (typeof e === "string") return out(err(e));
      put32(BP.port, e.port);
      return out(0, [`root: HvCreatePort(partition ${d.partition.id}, event, flag ${e.port}) for VP ${vcpu}`]);
    }
    case EVTCHNOP.close: {
      const p = u32(LAYOUT.evtchn_close.f.port);
      if (!d.evtchn.valid(p)) return out(err("EINVAL"));
      t.events.close(d, p);
      return out(0, [`root: HvDeletePort(partition ${d.partition.id}, flag ${p})`]);
    }
    case EVTCHNOP.send: {
      const p = u32(LAYOUT.evtchn_send.f.port);
      if (!d.evtchn.valid(p)) return out(err("EINVAL"));
      const r = t.send(d, p, c.signal);
      return out(r.result === 0 ? 0 : err(r.result), r.hyperv);
    }
    case EVTCHNOP.status: {
      const dom = self(u16(ST.dom));
      if (!dom) return out(err("ESRCH"));
      if (dom !== d) return out(err("EPERM"));
      const port = u32(ST.port);
      if (!d.evtchn.valid(port)) return out(err("EINVAL"));
      const e = d.evtchn.get(port);
      put32(ST.status, e ? EVTCHNSTAT[e.state] : EVTCHNSTAT.closed);
      put32(ST.vcpu, e?.notifyVcpu ?? 0);
      cpu.writeVirt(arg + BigInt(ST.u), new Uint8Array(8));
      if (e?.state === "unbound") put32(ST.u, e.remoteDom);
      else if (e?.state === "interdomain") { put32(ST.u, e.remoteDom); put32(ST.u + 4, e.remotePort); }
      else if (e?.state === "virq") put32(ST.u, e.virq);
      return out(0);
    }
    case EVTCHNOP.unmask: {
      const port = u32(LAYOUT.evtchn_unmask.f.port);
      if (!d.evtchn.valid(port)) return out(err("EINVAL"));
      // evtchn_2l_unmask: if the mask bit was set and the port is pending, re-raise.
      const vcpu = d.evtchn.get(port)?.notifyVcpu ?? 0;
      if (c.testAndClearMask(port) && c.testPending(port) && !c.testAndSetPendingSel(vcpu, port >> 6)) c.markEventsPending(vcpu);
      return out(0);
    }
    case EVTCHNOP.bind_vcpu: {
      const port = u32(BC.port), vcpu = u32(BC.vcpu);
      const e = d.evtchn.valid(port) ? d.evtchn.get(port) : undefined;
      if (!e) return out(err("EINVAL"));
      if (vcpu >= d.vcpus.length) return out(err("ENOENT"));
      if (e.state === "virq" && PER_VCPU_VIRQS.has(e.virq)) return out(err("EINVAL"));
      e.notifyVcpu = vcpuId(vcpu);
      return out(0);
    }
    default:
      return out(err("ENOSYS"));
  }
}
