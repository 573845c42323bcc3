/**
 * The hypervisor's own domain lifecycle and vCPU wake/block, as xen/common/domain.c and
 * sched/core.c own them: domain_kill (vCPUs descheduled, the one event-channel close path, grant
 * teardown, memory freed unless another domain still maps it), domain_pause/unpause,
 * domain_shutdown and domain_crash, vcpu_wake/vcpu_block/vcpu_kick. The toolstack (toolstack.ts)
 * decides when; this file does the state changes, so each has one owner.
 */
import { FrameUse } from "../machine";
import { RFLAGS_IF } from "../abi/x86";
import { SHUTDOWN, type ShutdownReason } from "./abi";
import type { Domain } from "./domain";
import { XenError } from "./errors";
import type { XenHost } from "./host";
import type { XenVcpu } from "./xen-vcpu";

export class DomainControl {
  constructor(private readonly host: XenHost) {}

  /**
   * The hypervisor's domain_kill: vCPUs descheduled, event channels closed, grant mappings torn
   * down, memory freed (frames another domain still maps stay until unmapped), the domain gone.
   */
  killDomain(d: Domain): void {
    d.dying = true;
    for (const v of d.vcpus) {
      this.host.sched.remove(v);
      v.setRunstate("offline", this.host.now);
    }
    // Its event channels go through the one close path (peers see their ports become unbound).
    this.host.events.closeAll(d);
    // Its own mappings go first (displaced pages return to its P2M); frames others still map stay.
    const stillMapped = d.gnttab.teardown();
    const p2m = this.host.machine.p2m(d.domid);
    // Its page tables and M2P entries go with its frames (domain_relinquish_resources).
    this.host.pageTypes.release(p2m.entries().map((e) => e.mfn));
    for (const e of p2m.entries()) {
      const info = this.host.machine.memory.info(e.mfn);
      if (info.owner === d.domid && e.mfn !== d.sharedInfoMfn && info.use !== FrameUse.Free && !stillMapped.has(e.mfn)) this.host.machine.memory.free(e.mfn);
      p2m.remove(e.gfn);
    }
    this.host.machine.memory.free(d.sharedInfoMfn);
    this.host.domains.delete(d.domid);
  }

  pause(d: Domain): void {
    if (d.domid === 0) throw new XenError("EINVAL", "cannot pause Domain-0");
    d.pauseCount++;
    for (const v of d.vcpus) {
      const p = this.host.pcpus[v.pcpu];
      if (p?.current === v) { p.current = undefined; }
      this.host.sched.remove(v);
      if (v.runstate === "running") v.setRunstate("runnable", this.host.now);
    }
  }

  unpause(d: Domain): void {
    if (d.pauseCount === 0) throw new XenError("EINVAL", `domain ${d.name} is not paused`);
    d.pauseCount--;
    if (d.pauseCount === 0 && !d.isShutdown) for (const v of d.vcpus) if (v.runstate === "runnable") this.makeRunnable(v, false);
  }

  /** The hypervisor's domain_shutdown: vCPUs stop; the toolstack then applies on_* actions. */
  shutdownDomain(d: Domain, reason: ShutdownReason, why?: string): void {
    if (d.isShutdown) return;
    d.shutdownReason = reason;
    d.shutdownCode = SHUTDOWN[reason];
    if (reason === "crash") d.crashReason = why ?? d.crashReason ?? "crashed";
    for (const v of d.vcpus) {
      this.host.sched.remove(v);
      if (v.runstate !== "offline") v.setRunstate("offline", this.host.now);
    }
    this.host.log(`d${d.domid}: shutdown: ${reason}${why ? ` (${why})` : ""}`);
    this.host.xenstore.fire("@releaseDomain", false);
    this.host.toolstack.noticeShutdown(d);
  }

  /** domain_crash with a reason (shown by xl list -l, views and dmesg). */
  crashDomain(d: Domain, reason: string): void {
    this.host.log(`domain_crash called from the model: d${d.domid} ${reason}`);
    this.shutdownDomain(d, "crash", reason);
  }

  /** A vCPU becomes runnable (woken, unpaused, brought up). */
  makeRunnable(v: XenVcpu, boost: boolean, at = this.host.now): void {
    if (v.domain.paused || v.domain.isShutdown || v.domain.dying) {
      if (v.runstate === "blocked") v.setRunstate("runnable", at);
      return;
    }
    v.blockedOn = undefined;
    v.pollPorts = [];
    v.pollDeadline = undefined;
    if (v.runstate !== "runnable") v.setRunstate("runnable", Math.max(at, v.stateEntry));
    v.readyAt = at;
    this.host.sched.wake(v, boost);
  }

  /** Blocks a vCPU (SCHEDOP_block, hlt, poll). */
  block(v: XenVcpu, on: "block" | "hlt" | "poll", at: number): void {
    v.blockedOn = on;
    v.setRunstate("blocked", at);
    const p = this.host.pcpus[v.pcpu];
    if (p?.current === v) p.current = undefined;
  }

  /** vcpu_kick/vcpu_unblock: wakes a blocked vCPU. */
  kick(v: XenVcpu, at = this.host.now): void {
    if (v.runstate === "blocked" && v.blockedOn !== undefined && !(v.blockedOn === "hlt" && v.cpu && !(v.cpu.getFlags() & RFLAGS_IF))) {
      this.makeRunnable(v, true, at);
    }
  }
}
