/**
 * Event delivery with the 2-level ABI (xen/common/event_2l.c): a port's pending bit, its word's
 * selector bit, the vCPU's upcall_pending, the kick that wakes it; the HVM callback vector that
 * turns upcall_pending into an interrupt (hvm_vcpu_has_pending_irq / the per-vCPU
 * HVMOP_set_evtchn_upcall_vector); and the ports dom0's services (host code) serve, whose
 * notifications are recorded instead.
 */
import { Vector, vector as toVector } from "../abi/x86";
import { HVM_PARAM, HVM_PARAM_CALLBACK_IRQ_TYPE_SHIFT, HVM_PARAM_CALLBACK_TYPE_VECTOR } from "./abi";
import type { LocalApic } from "../platform";
import type { DomId } from "../machine";
import type { Domain } from "./domain";
import type { Port } from "./types";
import type { XenVcpu } from "./xen-vcpu";

/** A notification Xen delivered to a dom0 service (a backend served by host code). */
export interface ServiceDelivery {
  t: number;
  /** The sender: domain id and name, and its port. */
  fromDom: DomId;
  fromName: string;
  fromPort: Port;
  /** dom0's port and the service's label. */
  port: Port;
  label: string;
}

/**
 * The domain-wide callback vector, if HVM_PARAM_CALLBACK_IRQ asks for delivery by vector (type 2
 * in bits 63:56, the vector in bits 7:0; params.h). A per-vCPU upcall vector goes through the
 * local APIC instead.
 */
export function callbackVector(d: Domain): Vector | undefined {
  const cb = d.hvmParams[HVM_PARAM.CALLBACK_IRQ]!;
  if (Number(cb >> HVM_PARAM_CALLBACK_IRQ_TYPE_SHIFT) !== HVM_PARAM_CALLBACK_TYPE_VECTOR) return undefined;
  return toVector(Number(BigInt.asUintN(8, cb)));
}

/** What delivery needs from the hypervisor: the domains, virtual time, the scheduler's wake-ups. */
export interface DeliveryHost {
  readonly domains: ReadonlyMap<number, Domain>;
  readonly now: number;
  makeRunnable(v: XenVcpu, boost: boolean, at?: number): void;
  kick(v: XenVcpu, at?: number): void;
  /** The vCPUs' local APICs (a per-vCPU upcall vector is raised there). */
  readonly lapic: LocalApic;
}

/** Service notifications kept: past MAX, the oldest DROP are dropped. */
const DELIVERIES_MAX = 5000;
const DELIVERIES_DROP = 1000;

export class EventDelivery {
  /** Notifications delivered to dom0 services, oldest first (the last 5000). */
  private readonly deliveries: ServiceDelivery[] = [];

  constructor(private readonly host: DeliveryHost) {}

  /** evtchn_port_set_pending with the 2-level ABI (event_2l.c evtchn_2l_set_pending). */
  setPending(d: Domain, port: Port, at = this.host.now): void {
    const e = d.evtchn.get(port);
    if (!e) return;
    if (e.service) {
      const from = this.host.domains.get(e.remoteDom);
      this.deliveries.push(Object.freeze({ t: at, fromDom: e.remoteDom, fromName: from?.name ?? "", fromPort: e.remotePort, port: e.port, label: e.label ?? "" }));
      if (this.deliveries.length > DELIVERIES_MAX) this.deliveries.splice(0, DELIVERIES_DROP);
      e.service(e.port);
      return;
    }
    const si = d.sharedInfo;
    const v = d.vcpus[e.notifyVcpu];
    if (si.testAndSetPending(port)) return;
    if (v && v.runstate === "blocked" && v.blockedOn === "poll" && v.pollPorts.includes(port)) this.host.makeRunnable(v, true, at);
    if (!si.testMasked(port) && !si.testAndSetPendingSel(e.notifyVcpu, port >> 6) && v) this.markEventsPending(v, at);
  }

  /** vcpu_mark_events_pending: raise upcall_pending and kick the vCPU. */
  markEventsPending(v: XenVcpu, at = this.host.now): void {
    const si = v.domain.sharedInfo;
    if (si.upcallPending(v.id)) return;
    si.setUpcallPending(v.id, 1);
    // hvm_assert_evtchn_irq: a per-vCPU upcall vector is an edge into the vCPU's local APIC.
    if (v.upcallVector !== undefined && v.cpu) this.host.lapic.setIrq(v.platform, v.upcallVector);
    this.host.kick(v, at);
  }

  /** Injects the HVM callback vector if events are pending (hvm_vcpu_has_pending_irq). */
  deliverUpcall(v: XenVcpu): void {
    const d = v.domain;
    // A per-vCPU vector (HVMOP_set_evtchn_upcall_vector) goes through the local APIC instead,
    // raised when upcall_pending becomes set (markEventsPending).
    const vector = v.upcallVector === undefined ? callbackVector(d) : undefined;
    if (vector === undefined || !d.sharedInfo.hasVcpuInfo(v.id) || !d.sharedInfo.upcallPending(v.id)) return;
    const cpu = v.cpu!;
    // The callback vector bypasses the APIC (hvm_intack_vector, no EOI): queued even with IF=0,
    // it is delivered as soon as the guest enables interrupts (sti after a cli/block sequence).
    if (cpu.pendingInterrupts.includes(vector)) return;
    cpu.injectInterrupt(vector);
  }

  /** Notifications Xen delivered to dom0 services (backends served by host code): a frozen copy. */
  serviceDeliveries(): readonly ServiceDelivery[] {
    return Object.freeze([...this.deliveries]);
  }
}
