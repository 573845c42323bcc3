/**
 * Plain queries a notebook asks of the Xen host (host.timeline(), host.eventChannels(), ...):
 * data only, no drawing. Each class has one display function registered by src/render/register.ts
 * with the MIME layer, so `toMimeBundle()` (and Jupyter) draw it without this file knowing how.
 */
import { display, MimeBundle } from "../mime";
import type { XenHost, TraceRecord } from "./host";
import type { XenStore } from "./xenstore/store";
import type { DomId } from "../machine";

/** One stretch of virtual time a vCPU ran on a pCPU. */
export interface SchedSegment {
  pcpu: number;
  domid: DomId;
  vcpu: number;
  start: number;
  end: number;
}

/** What each pCPU ran between two virtual times. */
export class SchedTimeline {
  constructor(readonly host: XenHost, readonly segments: readonly SchedSegment[], readonly from: number, readonly to: number) {}
  toMimeBundle(): MimeBundle { return display(this); }
}

/** The event channels of some domains (all when `domids` is undefined). */
export class EventChannelListing {
  constructor(readonly host: XenHost, readonly domids?: DomId[]) {}
  toMimeBundle(): MimeBundle { return display(this); }
}

/** Grant tables in use (one domain's, or every domain's). */
export class GrantTableListing {
  constructor(readonly host: XenHost, readonly domid?: number) {}
  toMimeBundle(): MimeBundle { return display(this); }
}

/** The XenStore tree under a path. */
export class XenstoreSubtree {
  constructor(readonly store: XenStore, readonly path: string) {}
  toMimeBundle(): MimeBundle { return display(this); }
}

/** Some hypercall trace records, oldest first. */
export class HypercallTrace {
  constructor(readonly records: readonly TraceRecord[]) {}
  toMimeBundle(): MimeBundle { return display(this); }
}
