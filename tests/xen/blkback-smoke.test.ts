import { it, expect } from "vitest";
import { XenHost } from "/work/main/src/xen/host";
import { attachDisk } from "/work/main/src/xen/blkback";
import { buildBlkfrontGuest, makeImages, tmpDir, fnv64 } from "/work/main/tests/xen/blkback-helpers";
it("smoke", () => {
  const dir = tmpDir();
  const img = makeImages(dir, 4 << 20);
  const host = new XenHost({ pcpus: 2, memoryMiB: 256 });
  const t0 = Date.now();
  const d = host.createDomain(`name="g"\ntype="pvh"\nkernel="${buildBlkfrontGuest()}"\nmemory=16\ncmdline="mode=check write=77"`, { paused: true });
  const vbd = attachDisk(host, d, `format=vhd, vdev=xvda, access=rw, target=${img.dynamic}`);
  host.unpause(d);
  const r = host.run({ ns: 200e6 });
  console.log(r, Date.now() - t0, "ms");
  console.log(d.consoleLog, host.dmesg.slice(-10).join("\n"));
  console.log(vbd.toMimeBundle()["text/plain"]);
  console.log(fnv64(img.bytes.subarray(0, 8192)), fnv64(img.bytes.subarray(3*512, 4*512)));
});
