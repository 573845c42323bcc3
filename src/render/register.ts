/**
 * Every view registered with the MIME layer (src/mime.ts), one display function per model
 * class. Importing this module (src/index.ts, the kernel and the magics do) is what makes
 * `toMimeBundle()` draw; models never import src/render.
 */
import { registerDisplay } from "../mime";
import { Vcpu } from "../machine/vcpu";
import { Listing } from "../machine/listing";
import { PageWalk } from "../machine/page-walk";
import { Domain } from "../xen/domain";
import { XenHost } from "../xen/host";
import { EventChannelListing, GrantTableListing, HypercallTrace, SchedTimeline, XenstoreSubtree } from "../xen/queries";
import { Vbd } from "../xen/blkback/vbd";
import { Migration } from "../xen/migrate";
import { renderMigration } from "./xen-migration";
import { HypervHost } from "../hyperv/host";
import { Partition } from "../hyperv/partition";
import { VmbusServer } from "../hyperv/vmbus";
import { XenAdapter } from "../hyperv/xen-adapter";
import { VhdDisk } from "../vhd/vhd-disk";
import { FileSystem, FsTree } from "../fs/filesystem";
import { MountedDisk } from "../fs/mount";
import { PartitionTable } from "../fs/partition-table";
import { renderVcpu } from "./registers";
import { renderListing } from "./disasm";
import { renderWalk } from "./pagewalk";
import { renderDomain, renderDomainList } from "./xen-domains";
import { SchedTimelineView } from "./xen-timeline";
import { EventChannelView } from "./xen-evtchn";
import { GrantTableView } from "./xen-gnttab";
import { XenstoreTreeView } from "./xen-xenstore";
import { HypercallTraceView } from "./xen-trace";
import { renderBlkRing } from "./xen-blkring";
import { renderHost, renderPartition } from "./hyperv-partitions";
import { renderVmbus } from "./hyperv-vmbus";
import { renderXenTranslation } from "./hyperv-xen";
import { renderVhdBundle } from "./vhd";
import { renderFileSystem, renderMountedDisk, renderPartitionTable, renderTree } from "./fs";

registerDisplay(Vcpu, renderVcpu);
registerDisplay(Listing, (l) => renderListing(l.lines, l.current, l.title));
registerDisplay(PageWalk, renderWalk);
registerDisplay(XenHost, renderDomainList);
registerDisplay(Domain, renderDomain);
registerDisplay(SchedTimeline, (q) => new SchedTimelineView(q.host, q.segments, q.from, q.to).toMimeBundle());
registerDisplay(EventChannelListing, (q) => new EventChannelView(q.host, q.domids).toMimeBundle());
registerDisplay(GrantTableListing, (q) => new GrantTableView(q.host, q.domid).toMimeBundle());
registerDisplay(XenstoreSubtree, (q) => new XenstoreTreeView(q.store, q.path).toMimeBundle());
registerDisplay(HypercallTrace, (q) => new HypercallTraceView(q.records).toMimeBundle());
registerDisplay(Vbd, renderBlkRing);
registerDisplay(Migration, renderMigration);
registerDisplay(HypervHost, renderHost);
registerDisplay(Partition, renderPartition);
registerDisplay(VmbusServer, renderVmbus);
registerDisplay(XenAdapter, renderXenTranslation);
registerDisplay(VhdDisk, renderVhdBundle);
registerDisplay(FileSystem, renderFileSystem);
registerDisplay(FsTree, renderTree);
registerDisplay(MountedDisk, renderMountedDisk);
registerDisplay(PartitionTable, renderPartitionTable);
