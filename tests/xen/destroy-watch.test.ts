/** Destroying a domain that watches its own XenStore nodes must not deliver those watches into its freed memory. */
import { expect, it } from "vitest";
import { XenHost } from "../../src/xen";
import { watchEvent } from "../../src/xen/xenstore/wire";

it("destroy removes the domain's watches before its nodes, so nothing is written to its freed ring", () => {
  const host = new XenHost({ pcpus: 1, memoryMiB: 128 });
  const d = host.createLabDomain("watcher", Uint8Array.from([0xf4]), { paused: true });
  const delivered: string[] = [];
  // As xenstored does for the guest's XS_WATCH: events go into the guest's ring page.
  host.xenstore.watch(`/local/domain/${d.domid}/control`, "tok", d.domid, (path, token) => {
    delivered.push(path);
    d.storeRing!.queue(watchEvent(path, token));
    d.storeRing!.flush();
  });
  const before = delivered.length;
  expect(() => host.destroyDomain(d)).not.toThrow();
  expect(delivered.length).toBe(before);
  expect(host.findDomain("watcher")).toBeUndefined();
});
