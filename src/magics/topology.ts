/** %topology: the host's domains, vCPUs, block devices and the event channels between them. */
import { TopologyView } from "../render/xen-topology";
import { currentHost } from "../xen";
import { listDisks } from "../xen/blkback/blkback";
import { Magic, UsageError } from "./magic";

export const topologyMagic: Magic = {
  name: "topology",
  kind: "line",
  summary: "Draw the host: domains with their vCPUs and disks, and the event channels linking them.",
  help: [
    "%topology",
    "",
    "Draws every domain of the current host with its vCPUs (coloured by run state) and block",
    "devices, and the event channels between domains as labelled links (xenstore, console, block",
    "devices, your own). The text fallback lists the same.",
  ].join("\n"),
  run(args) {
    if (args) throw new UsageError("%topology takes no arguments");
    const host = currentHost();
    const devices = listDisks(host).map((v) => ({ domid: v.domid, text: `${v.disk.vdev}: ${v.disk.path.split("/").pop()}${v.readOnly ? " (ro)" : ""}` }));
    return new TopologyView(host, devices);
  },
};
