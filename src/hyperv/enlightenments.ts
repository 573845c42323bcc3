/**
 * What a partition's guest has switched on of the hypervisor's interface (its "enlightenments"),
 * read from the state the guest set: the guest OS id it reported, the hypercall and reference TSC
 * overlay pages, the SynIC pages and unmasked SINTs, armed synthetic timers, the VMBus version it
 * negotiated, the Xen adapter. A plain query for views (`%hyperv partitions`) and tests.
 */
import { describeGuestOsId } from "./guest-os-id";
import type { Partition } from "./partition";
import { HV_SYNIC_SINT_COUNT, STIMER } from "./tlfs";

export interface Enlightenment {
  /** Short name (column text). */
  name: string;
  /** What exactly: addresses, vectors, versions. */
  detail: string;
}

const hex = (v: number) => `0x${v.toString(16)}`;

export function enlightenments(p: Partition): Enlightenment[] {
  const out: Enlightenment[] = [];
  if (p.guestOsId !== 0n) out.push({ name: "GuestOsId", detail: describeGuestOsId(p.guestOsId) });
  if (p.hypercallPageGpa !== undefined) out.push({ name: "hypercall page", detail: `at ${hex(p.hypercallPageGpa)}` });
  if (p.referenceCounterReads > 0) out.push({ name: "reference counter", detail: `${p.referenceCounterReads} reads` });
  if (p.referenceTscMsr & 1n) out.push({ name: "reference TSC page", detail: `at ${hex(Number(p.referenceTscMsr & ~0xfffn))}` });
  p.vps.forEach((vp) => {
    const s = vp.synic;
    if (s.enabled || s.simpEnabled) {
      const sints: string[] = [];
      for (let i = 0; i < HV_SYNIC_SINT_COUNT; i++) if (!s.masked(i)) sints.push(`SINT${i}→${hex(s.vector(i))}`);
      out.push({ name: `SynIC VP${vp.index}`, detail: `${s.enabled ? "on" : "off"}, SIMP ${s.simpEnabled ? hex(s.simpGpa) : "off"}, SIEFP ${s.siefpEnabled ? hex(s.siefpGpa) : "off"}${sints.length ? ", " + sints.join(" ") : ""}; ${s.counters.delivered} messages, ${s.counters.eoms} EOMs` });
    }
    vp.stimers.forEach((t, i) => {
      if (t.onFire) return; // the Xen adapter's timer, listed with the adapter
      if (t.fired > 0 || t.config & STIMER.ENABLE) out.push({ name: `stimer${i} VP${vp.index}`, detail: `${t.config & STIMER.PERIODIC ? "periodic" : "one-shot"} → SINT${Number((t.config >> 16n) & 0xfn)}, fired ${t.fired}` });
    });
  });
  const bus = p.host.vmbusOf(p);
  if (bus?.version !== undefined) out.push({ name: "VMBus", detail: `version ${bus.version >> 16}.${bus.version & 0xffff}, ${bus.channels.filter((c) => c.state === "open").length}/${bus.channels.length} channels open` });
  const xa = p.xenAdapter;
  if (xa) {
    const calls = [...xa.counts.values()].reduce((n, c) => n + c.calls, 0);
    out.push({ name: "Xen adapter", detail: `Xen hypercall page ${xa.hypercallPageGpa !== undefined ? hex(xa.hypercallPageGpa) : "not set"}, shared_info ${xa.sharedInfo ? "mapped" : "not mapped"}, ${xa.end.evtchn.list().length} event channels, ${calls} Xen calls translated` });
  }
  return out;
}
