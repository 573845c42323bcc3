/** %xl block-attach / block-list / block-detach as a notebook uses them, over the shared host. */
import { describe, expect, it } from "vitest";
import { xlMagic } from "../../src/magics/xl";
import { setCurrentHost, listDisks } from "../../src/xen";
import { MimeBundle } from "../../src/render/mime";
import { buildBlkfrontGuest, fnv64, makeImages, tmpDir } from "./blkback-helpers";
import { recordingContext } from "../support/magic-context";

const ctx = recordingContext;
const bundle = (v: unknown) => (v as { toMimeBundle(): MimeBundle }).toMimeBundle();

describe("%xl block-*", () => {
  it("attach to a paused guest shows the vbd; the guest reads it; block-list; block-detach removes it", () => {
    const host = setCurrentHost({ pcpus: 1, memoryMiB: 256 });
    const img = makeImages(tmpDir(), 1 << 20);
    xlMagic.run("create -p", `name = "mg"\ntype = "pvh"\nkernel = "${buildBlkfrontGuest()}"\nmemory = 16\ncmdline = "mode=ro then=wait"`, ctx().c);
    const shown = bundle(xlMagic.run(`block-attach mg format=vhd vdev=xvda access=ro target=${img.dynamic}`, undefined, ctx().c));
    expect(shown["text/plain"]).toMatch(/^vbd xvda \(51712\) of d\d+ mg: backend InitWait, frontend Initialising; qdisk vhd:/);
    xlMagic.run("unpause mg", undefined, ctx().c);
    const d = host.domain("mg");
    host.run({ ns: 300e6, until: () => d.consoleLog.includes("notifies sent") });
    expect(d.consoleLog).toContain(`read sectors 0-15: status 0 fnv ${fnv64(img.bytes.subarray(0, 8192))}`);
    const list = bundle(xlMagic.run("block-list mg", undefined, ctx().c))["text/plain"] as string;
    expect(list.split("\n")[1]).toMatch(/^51712 0   \d+\s+4     3      8        \/local\/domain\/0\/backend\/qdisk\/\d+\/51712/);
    const view = bundle(listDisks(host, "mg")[0]);
    expect(view["image/svg+xml"]).toContain("<svg");
    expect(view["text/plain"]).toContain("requests 7 (read 4, write 1, flush 1)");
    xlMagic.run("block-detach mg xvda", undefined, ctx().c);
    expect(listDisks(host, "mg")).toEqual([]);
    expect(d.consoleLog).toContain("blkfront: backend state 5, closed; device node removed");
    expect(() => xlMagic.run("block-detach mg xvda", undefined, ctx().c)).toThrow(/Device xvda not connected/);
  });
});
