/**
 * HYPERVISOR_domctl and HYPERVISOR_sysctl: the control-domain operations a toolstack uses
 * (xen/common/domctl.c, sysctl.c; public domctl.h, sysctl.h — an unstable ABI, so the caller's
 * interface_version must match XEN_DOMCTL/SYSCTL_INTERFACE_VERSION or the call fails with -EACCES).
 * Only privileged domains (dom0, or a lab domain created privileged) may call them.
 */
import {
  DOMINF, LAYOUT, SHUTDOWN_NAMES, XEN_DOMCTL, XEN_DOMCTL_INTERFACE_VERSION, XEN_DOMCTL_SCHEDOP_getinfo, XEN_DOMCTL_SCHEDOP_putinfo,
  XEN_DOMINF_shutdownshift, XEN_SCHEDULER_CREDIT, XEN_SYSCTL, XEN_SYSCTL_INTERFACE_VERSION,
} from "../abi";
import type { Domain } from "../domain";
import { domId } from "../../machine";
import { XenError } from "../errors";
import { Handler, HcCtx, err, num } from "./context";

const D = LAYOUT.xen_domctl.f, GI = LAYOUT.xen_domctl_getdomaininfo.f, SO = LAYOUT.xen_domctl_scheduler_op.f;
const S = LAYOUT.xen_sysctl.f, PI = LAYOUT.xen_sysctl_physinfo.f;

/** getdomaininfo's flags word (domctl.c getdomaininfo). */
export function dominfoFlags(d: Domain): number {
  let f = 0;
  if (d.dying) f |= 1 << DOMINF.dying;
  if (d.kind !== "dom0") f |= (1 << DOMINF.hvm_guest) | (1 << DOMINF.hap);
  if (d.isShutdown) f |= (1 << DOMINF.shutdown) | (SHUTDOWN_NAMES.indexOf(d.shutdownReason as (typeof SHUTDOWN_NAMES)[number]) << XEN_DOMINF_shutdownshift);
  if (d.paused) f |= 1 << DOMINF.paused;
  const { running, blocked } = d.runFlags();
  if (running) f |= 1 << DOMINF.running;
  if (blocked) f |= 1 << DOMINF.blocked;
  return f >>> 0;
}

function writeDominfo(c: HcCtx, at: number, d: Domain): void {
  const m = c.mem;
  m.write(at, new Uint8Array(LAYOUT.xen_domctl_getdomaininfo.size));
  m.setU16(at + GI.domain, d.domid);
  m.setU32(at + GI.flags, dominfoFlags(d));
  m.setU64(at + GI.tot_pages, d.totPages);
  m.setU64(at + GI.max_pages, d.maxPages);
  m.setU64(at + GI.shared_info_frame, d.sharedInfoGfn ?? d.sharedInfoMfn);
  m.setU64(at + GI.cpu_time, Math.floor(d.cpuTime()));
  m.setU32(at + GI.nr_online_vcpus, d.vcpus.filter((v) => v.online).length);
  m.setU32(at + GI.max_vcpu_id, d.vcpus.length - 1);
  m.write(at + GI.handle, Uint8Array.from(Buffer.from(d.uuid.replace(/-/g, ""), "hex")));
}

function act(f: () => void): number {
  try { f(); return 0; } catch (e) { if (e instanceof XenError) return e.code; throw e; }
}

export const domctl: Handler = (c, a) => {
  if (!c.dom.privileged) return err("EPERM");
  const op = num(a[0]!), m = c.mem;
  if (m.u32(op + D.interface_version) !== XEN_DOMCTL_INTERFACE_VERSION) return err("EACCES");
  const cmd = m.u32(op + D.cmd), id = m.u16(op + D.domain), u = op + D.u;
  if (cmd === XEN_DOMCTL.getdomaininfo) {
    // Returns the first domain with id >= the one asked for (how xc_domain_getinfo iterates).
    const d = [...c.host.domains.values()].filter((x) => x.domid >= id).sort((x, y) => x.domid - y.domid)[0];
    if (!d) return err("ESRCH");
    m.setU16(op + D.domain, d.domid);
    writeDominfo(c, u, d);
    return 0;
  }
  const d = c.host.domains.get(domId(id));
  if (!d) return err("ESRCH");
  switch (cmd) {
    case XEN_DOMCTL.pausedomain: return d === c.dom ? err("EINVAL") : act(() => c.host.pause(d));
    case XEN_DOMCTL.unpausedomain: return act(() => c.host.unpause(d));
    case XEN_DOMCTL.destroydomain: return d === c.dom ? err("EINVAL") : act(() => c.host.destroyDomain(d));
    case XEN_DOMCTL.max_mem: d.maxPages = Math.floor(Number(m.u64(u)) / 4); return 0;
    case XEN_DOMCTL.scheduler_op: {
      if (m.u32(u + SO.sched_id) !== XEN_SCHEDULER_CREDIT) return err("EINVAL");
      const sub = m.u32(u + SO.cmd);
      if (sub === XEN_DOMCTL_SCHEDOP_getinfo) {
        m.setU16(u + SO["u.credit.weight"], d.config.cpuWeight);
        m.setU16(u + SO["u.credit.cap"], d.config.cap);
        return 0;
      }
      if (sub === XEN_DOMCTL_SCHEDOP_putinfo) {
        const w = m.u16(u + SO["u.credit.weight"]), cap = m.u16(u + SO["u.credit.cap"]);
        // credit.c csched_dom_cntl: weight 0 means "leave it"; cap above 100 * online CPUs is invalid.
        if (cap > 100 * c.host.pcpus.length) return err("EINVAL");
        if (w) d.config.cpuWeight = w;
        d.config.cap = cap;
        return 0;
      }
      return err("EINVAL");
    }
    default: return err("ENOSYS");
  }
};

export const sysctl: Handler = (c, a) => {
  if (!c.dom.privileged) return err("EPERM");
  const op = num(a[0]!), m = c.mem;
  if (m.u32(op + S.interface_version) !== XEN_SYSCTL_INTERFACE_VERSION) return err("EACCES");
  const cmd = m.u32(op + S.cmd), u = op + S.u;
  const host = c.host;
  switch (cmd) {
    case XEN_SYSCTL.physinfo: {
      m.write(u, new Uint8Array(LAYOUT.xen_sysctl_physinfo.size));
      m.setU32(u + PI.threads_per_core, 1);
      m.setU32(u + PI.cores_per_socket, host.pcpus.length);
      m.setU32(u + PI.nr_cpus, host.pcpus.length);
      m.setU32(u + PI.max_cpu_id, host.pcpus.length - 1);
      m.setU32(u + PI.nr_nodes, 1);
      m.setU32(u + PI.cpu_khz, host.cpuMHz * 1000);
      m.setU64(u + PI.total_pages, host.machine.memory.frameCount);
      m.setU64(u + PI.free_pages, host.machine.memory.frameCount - host.machine.memory.allocatedFrames);
      m.setU64(u + PI.max_mfn, host.machine.memory.frameCount - 1);
      return 0;
    }
    case XEN_SYSCTL.sched_id: m.setU32(u, XEN_SCHEDULER_CREDIT); return 0;
    case XEN_SYSCTL.readconsole: {
      const RC = LAYOUT.xen_sysctl_readconsole.f;
      const buf = num(m.u64(u + RC.buffer)), count = m.u32(u + RC.count);
      const text = Buffer.from(host.dmesg.join("\n") + "\n", "latin1");
      const n = Math.min(count, text.length);
      m.write(buf, new Uint8Array(text.subarray(text.length - n)));
      m.setU32(u + RC.count, n);
      if (m.u8(u + RC.clear)) host.clearDmesg();
      return 0;
    }
    default: return err("ENOSYS");
  }
};
