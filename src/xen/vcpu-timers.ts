/**
 * Xen's per-vCPU timers as one of the platform's timer sources: the singleshot timer
 * (VCPUOP_set_singleshot_timer, SCHEDOP_set_timer_op), the periodic timer
 * (VCPUOP_set_periodic_timer) -- both raise VIRQ_TIMER (xen/common/sched/core.c vcpu_singleshot_timer_fn,
 * vcpu_periodic_timer_fn, send_timer_event) -- and SCHEDOP_poll's timeout, which wakes the poller.
 */
import type { TimerSource } from "../platform";
import { VIRQ } from "./abi";
import type { XenHost } from "./host";

export function xenVcpuTimers(host: XenHost): TimerSource {
  return { name: "xen vcpu timers", next: () => nextTimer(host), fire: (t) => fireTimers(host, t) };
}

/** Next timer deadline of any vCPU (or Infinity). */
function nextTimer(host: XenHost): number {
  let t = Infinity;
  for (const d of host.domains.values()) for (const v of d.vcpus) {
    if (v.singleshot !== undefined && v.singleshot < t) t = v.singleshot;
    if (v.periodicNext !== undefined && v.periodicNext < t) t = v.periodicNext;
    if (v.pollDeadline !== undefined && v.pollDeadline < t) t = v.pollDeadline;
  }
  return t;
}

/** Fires expired timers: VIRQ_TIMER to the vCPU (send_timer_event) and poll timeouts. */
function fireTimers(host: XenHost, now: number): void {
  for (const d of [...host.domains.values()]) for (const v of d.vcpus) {
    if (v.singleshot !== undefined && v.singleshot <= now) {
      const at = v.singleshot;
      v.singleshot = undefined;
      host.sendVirq(v, VIRQ.TIMER, at);
    }
    if (v.periodicNext !== undefined && v.periodicNext <= now) {
      const at = v.periodicNext;
      while (v.periodicNext <= now) v.periodicNext += v.periodicNs;
      host.sendVirq(v, VIRQ.TIMER, at);
    }
    if (v.pollDeadline !== undefined && v.pollDeadline <= now && v.runstate === "blocked" && v.blockedOn === "poll") {
      const at = v.pollDeadline;
      host.makeRunnable(v, true, at);
    }
  }
}
