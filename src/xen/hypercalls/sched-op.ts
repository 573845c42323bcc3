/** HYPERVISOR_sched_op (common/sched/core.c do_sched_op; public sched.h). */
import type { Port } from "../types";
import { LAYOUT, SCHEDOP, SHUTDOWN, SHUTDOWN_NAMES, ShutdownReason } from "../abi";
import { Handler, err, num, domainArg } from "./context";

const P = LAYOUT.sched_poll.f;

export const schedOp: Handler = (c, a) => {
  const cmd = num(a[0]!), arg = num(a[1]!);
  const { host, v, dom } = c;
  switch (cmd) {
    case SCHEDOP.yield: {
      const p = host.pcpus[v.pcpu];
      if (p?.current === v) p.current = undefined; // the run loop puts it behind its peers
      return 0;
    }
    case SCHEDOP.block: {
      // local_event_delivery_enable(), then sleep unless events are already pending.
      if (dom.sharedInfo.hasVcpuInfo(v.id)) {
        dom.sharedInfo.setUpcallMask(v.id, 0);
        if (dom.sharedInfo.upcallPending(v.id)) return 0;
      }
      host.block(v, "block", host.now);
      return 0;
    }
    case SCHEDOP.poll: {
      const ports = num(c.mem.u64(arg + P.ports)), n = c.mem.u32(arg + P.nr_ports), timeout = c.mem.u64(arg + P.timeout);
      if (n > 128) return err("EINVAL");
      const list: Port[] = [];
      for (let i = 0; i < n; i++) {
        const port = c.mem.u32(ports + i * 4);
        if (!dom.evtchn.valid(port)) return err("EINVAL");
        list.push(port);
      }
      if (list.some((p) => dom.sharedInfo.testPending(p))) return 0;
      if (timeout !== 0n && Number(timeout) <= host.now) return 0;
      v.pollPorts = list;
      v.pollDeadline = timeout === 0n ? undefined : Number(timeout);
      host.block(v, "poll", host.now);
      return 0;
    }
    case SCHEDOP.shutdown: {
      const reason = c.mem.u32(arg);
      if (reason > SHUTDOWN.soft_reset) return err("EINVAL");
      const name = SHUTDOWN_NAMES[reason]! as ShutdownReason;
      if (name === "crash") host.crashDomain(dom, `guest requested crash (SCHEDOP_shutdown, vCPU ${v.id} rip 0x${v.cpu!.getReg("rip").toString(16)})`);
      else host.shutdownDomain(dom, name);
      return 0;
    }
    case SCHEDOP.shutdown_code: {
      const reason = c.mem.u32(arg);
      if (reason > SHUTDOWN.soft_reset) return err("EINVAL");
      dom.shutdownCode = reason;
      return 0;
    }
    case SCHEDOP.remote_shutdown: {
      const target = domainArg(c, c.mem.u16(arg + LAYOUT.sched_remote_shutdown.f.domain_id));
      const reason = c.mem.u32(arg + LAYOUT.sched_remote_shutdown.f.reason);
      if (!target) return err("ESRCH");
      if (dom.domid !== 0) return err("EPERM");
      if (reason > SHUTDOWN.soft_reset) return err("EINVAL");
      host.shutdownDomain(target, SHUTDOWN_NAMES[reason]! as ShutdownReason);
      return 0;
    }
    default: return err("ENOSYS");
  }
};
