/**
 * Event channels have one close path (xen/common/event_channel.c evtchn_close), used by
 * EVTCHNOP_close, by domain destruction and by dom0's services, with Xen's outcome every time:
 * the closer's port is freed and its pending bit cleared; an interdomain peer becomes unbound
 * *for the closer* (so the closer could bind it again); a peer served by a host daemon is unbound
 * by that daemon. EVTCHNOP_status (the guest's own view) reports the result.
 */
import { vcpuId } from "../../src/platform";
import { VIRQ } from "../../src/xen/abi";
import { port, virq } from "../../src/xen/types";
import { describe, expect, it } from "vitest";
import { XenHost } from "../../src/xen/host";
import { labCode } from "./helpers";
import type { Domain } from "../../src/xen/domain";

const idle = () => labCode("l: sti\n hlt\n jmp l");

function pair() {
  const host = new XenHost({ pcpus: 1, memoryMiB: 256 });
  const a = host.createLabDomain("a", idle());
  const b = host.createLabDomain("b", idle());
  const u = host.events.allocUnbound(b, a.domid);
  if (typeof u === "string") throw new Error(u);
  const l = host.events.bindInterdomain(a, b, u.port);
  if (typeof l === "string") throw new Error(l);
  return { host, a, b, aPort: l.port, bPort: u.port };
}

const state = (d: Domain, p: number) => { const e = d.evtchn.get(port(p)); return e && { state: e.state, remoteDom: e.remoteDom, remotePort: e.remotePort }; };

describe("the one event-channel close path", () => {
  it("bind_interdomain links both ends and marks the binder's port pending (no lost notification)", () => {
    const { a, b, aPort, bPort } = pair();
    expect(state(a, aPort)).toEqual({ state: "interdomain", remoteDom: b.domid, remotePort: bPort });
    expect(state(b, bPort)).toEqual({ state: "interdomain", remoteDom: a.domid, remotePort: aPort });
    expect(a.sharedInfo.testPending(aPort)).toBe(true);
  });

  it("EVTCHNOP_close: the peer becomes unbound for the closer, and can be bound again by it", () => {
    const { host, a, b, aPort, bPort } = pair();
    host.events.close(a, aPort);
    expect(a.evtchn.get(aPort)).toBeUndefined();
    expect(a.sharedInfo.testPending(aPort)).toBe(false);
    expect(state(b, bPort)).toEqual({ state: "unbound", remoteDom: a.domid, remotePort: 0 });
    const again = host.events.bindInterdomain(a, b, bPort);
    expect(typeof again).not.toBe("string");
  });

  it("domain destruction closes every port the same way: the survivor's port is unbound for the dead domain", () => {
    const { host, a, b, bPort } = pair();
    const dom0Ports = host.dom0.evtchn.list().length;
    host.destroyDomain(a);
    expect(state(b, bPort)).toEqual({ state: "unbound", remoteDom: a.domid, remotePort: 0 });
    // a's xenstore and console ends in dom0 were unbound by the daemons.
    expect(host.dom0.evtchn.list().length).toBe(dom0Ports - 2);
    expect(host.dom0.evtchn.list().some((e) => e.remoteDom === a.domid)).toBe(false);
  });

  it("a domU closing its xenstore port frees xenstored's end in dom0", () => {
    const { host, a } = pair();
    const dom0End = a.evtchn.get(a.storePort)!.remotePort;
    expect(host.dom0.evtchn.get(dom0End)?.label).toBe(`xenstore d${a.domid}`);
    host.events.close(a, a.storePort);
    expect(host.dom0.evtchn.get(dom0End)).toBeUndefined();
  });

  it("bind_virq: per-vCPU VIRQs on any vCPU, global ones only on vCPU 0, one binding each (event_channel.c)", () => {
    const { host, a } = pair();
    expect(typeof host.events.bindVirq(a, VIRQ.TIMER, vcpuId(0))).toBe("object");
    expect(host.events.bindVirq(a, VIRQ.TIMER, vcpuId(0))).toBe("EEXIST");
    expect(host.events.bindVirq(a, VIRQ.CONSOLE, vcpuId(1))).toBe("ENOENT"); // a has one vCPU
    expect(host.events.bindVirq(a, virq(24), vcpuId(0))).toBe("EINVAL"); // NR_VIRQS
  });
});
