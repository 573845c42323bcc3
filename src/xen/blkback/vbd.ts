/**
 * One virtual block device as dom0's blkback serves it (linux drivers/block/xen-blkback/xenbus.c
 * and blkback.c): the xenbus state machine driven by a watch on the frontend's `state`, the ring
 * and event channel the frontend offers, and the requests on that ring served from a BlockDevice.
 *
 * Normally requests are served as soon as the frontend notifies (inside its EVTCHNOP_send, like an
 * instant disk). With `autoServe = false` a notification only records the kick, and a notebook steps
 * the backend by hand — `take()` copies a request off the ring and maps its grants (the guest's
 * grant entries show GTF_reading/GTF_writing), `complete()` does the I/O, unmaps, responds and
 * notifies — so the ring view can show requests posted, in flight, and answered.
 */
import type { BlockDevice } from "../../vhd/block-device";
import type { DomId } from "../../machine";
import type { BackendHost, FrontendDomain } from "./backend-host";
import { grantRef, type Port } from "../types";
import { XsError } from "../xenstore/store";
import { display, MimeBundle } from "../../mime";
import {
  BLKIF_MAX_SEGMENTS_PER_REQUEST, BLKIF_OP, BLKIF_RSP_EOPNOTSUPP, BLKIF_RSP_ERROR, BLKIF_RSP_OKAY, BLKIF_SECTOR,
  SECTORS_PER_PAGE, VDISK_CDROM, VDISK_READONLY, XEN_IO_PROTO_ABI_X86_64, XenbusState, XENBUS_STATE_NAMES,
} from "./abi";
import { BlkifBackRing, BlkifRequest } from "./ring";
import { ForeignMapping, isFailure, mapGrant, unmapGrant } from "./grant-access";
import type { ResolvedDisk } from "./spec";
import { BlkbackError } from "./errors";
import { WriteJournal } from "./write-journal";

export interface VbdStats {
  /** Requests taken off the ring, and by operation. */
  requests: number;
  reads: number;
  writes: number;
  flushes: number;
  /** Responses with BLKIF_RSP_ERROR / BLKIF_RSP_EOPNOTSUPP. */
  errors: number;
  unsupported: number;
  bytesRead: number;
  bytesWritten: number;
  /** Notifications from the frontend (its EVTCHNOP_send reaching us). */
  kicks: number;
  /** Notifications we sent (only when rsp_event asked for one). */
  notifies: number;
  /** Grant pages mapped, and the map/unmap batches Linux's blkback would issue (one GNTTABOP each per request). */
  pagesMapped: number;
  mapBatches: number;
  unmapBatches: number;
}

export interface InflightRequest {
  req: BlkifRequest;
  mappings: ForeignMapping[];
  /** Set when validation or mapping already decided the answer. */
  status?: number;
  why?: string;
}

export interface CompletedRequest {
  req: BlkifRequest;
  status: number;
  why?: string;
}

const newStats = (): VbdStats => ({ requests: 0, reads: 0, writes: 0, flushes: 0, errors: 0, unsupported: 0, bytesRead: 0, bytesWritten: 0, kicks: 0, notifies: 0, pagesMapped: 0, mapBatches: 0, unmapBatches: 0 });

export class Vbd {
  /** The backend's xenbus state (also in XenStore at backendPath/state). */
  state: number = XenbusState.Initialising;
  ring: BlkifBackRing | undefined;
  private ringMapping: ForeignMapping | undefined;
  /** dom0's end of the event channel, and the frontend's port. */
  port: Port | undefined;
  frontendPort: number | undefined;
  ringRef: number | undefined;
  protocol: string | undefined;
  readonly inflight: InflightRequest[] = [];
  /** The last completed requests (newest last), for views. */
  readonly recent: CompletedRequest[] = [];
  recentLimit = 16;
  stats: VbdStats = newStats();
  /** Digests of what the frontend wrote, per sector: read-only evidence for checks. */
  readonly #journal = new WriteJournal();
  /** Serve on every notification (true) or only when stepped (take/complete/serve). */
  private auto = true;
  /** Kicks that arrived while not serving automatically. */
  pendingKick = false;
  lastError: string | undefined;
  /** Wall-clock ms spent serving the ring (for benchmarks; not shown in views, which stay deterministic). */
  wallMsServing = 0;
  /** Set once the toolstack removed the device (dirs gone, image closed). */
  removed = false;
  /** The toolstack asked for removal (online = 0); the device goes away once both ends are Closed. */
  removing = false;
  private reacting = false;
  private reactAgain = false;
  private readonly watchToken: string;

  constructor(readonly host: BackendHost, readonly domain: FrontendDomain, readonly disk: ResolvedDisk, readonly device: BlockDevice,
    private readonly onRemoved: (v: Vbd) => void) {
    this.watchToken = `blkback/${domain.domid}/${disk.devid}`;
  }

  get devid(): number { return this.disk.devid; }
  get domid(): DomId { return this.domain.domid; }
  get backendPath(): string { return `/local/domain/0/backend/${this.disk.kind}/${this.domid}/${this.devid}`; }
  get frontendPath(): string { return `/local/domain/${this.domid}/device/vbd/${this.devid}`; }
  get sectors(): number { return Math.floor(this.device.size / BLKIF_SECTOR); }
  get readOnly(): boolean { return this.disk.readOnly || this.device.readOnly; }
  get stateName(): string { return XENBUS_STATE_NAMES[this.state] ?? String(this.state); }
  get frontendState(): number {
    try { return Number(this.host.xenstore.read(`${this.frontendPath}/state`)); } catch { return XenbusState.Unknown; }
  }
  get connected(): boolean { return this.state === XenbusState.Connected && this.ring !== undefined; }

  get autoServe(): boolean { return this.auto; }
  set autoServe(on: boolean) {
    this.auto = on;
    if (on) { this.complete(Infinity); if (this.pendingKick || this.ring) this.serve(); }
  }

  // =========================================================================================
  // Toolstack: the nodes libxl writes (libxl_disk.c device_disk_add, libxl_device.c generic_add)
  // =========================================================================================

  /** Writes both directories at Initialising, watches the frontend, and probes (→ InitWait). */
  start(): void {
    const xs = this.host.xenstore, be = this.backendPath, fe = this.frontendPath, d = this.disk, id = this.domid;
    xs.mkdirs(be, 0);
    xs.setPerms(be, [{ perm: "n", id: 0 }, { perm: "r", id }]);
    const back: [string, string][] = [
      ["frontend", fe], ["frontend-id", String(id)], ["online", "1"], ["removable", "0"], ["bootable", "1"],
      ["state", String(XenbusState.Initialising)], ["dev", d.vdev], ["type", d.type], ["mode", this.readOnly ? "r" : "w"],
      ["device-type", d.cdrom ? "cdrom" : "disk"], ["params", d.params],
    ];
    for (const [k, v] of back) xs.write(`${be}/${k}`, v);
    xs.mkdirs(fe, id);
    xs.setPerms(fe, [{ perm: "n", id }, { perm: "r", id: 0 }]);
    const front: [string, string][] = [
      ["backend", be], ["backend-id", "0"], ["state", String(XenbusState.Initialising)], ["virtual-device", String(this.devid)],
      ["device-type", d.cdrom ? "cdrom" : "disk"], ["trusted", "1"],
    ];
    for (const [k, v] of front) xs.write(`${fe}/${k}`, v);
    const lp = `/libxl/${id}/device/vbd/${this.devid}`;
    xs.write(`${lp}/frontend`, fe);
    xs.write(`${lp}/backend`, be);
    xs.write(`${lp}/params`, d.path);
    xs.write(`${lp}/vdev`, d.vdev);
    xs.write(`${lp}/access`, d.spec.access);
    xs.write(`${lp}/format`, d.format);
    // xen_blkbk_probe: no indirect segments, no multi-page rings or queues are offered, so the
    // frontend uses one ring page and direct requests of up to 11 segments.
    this.switchState(XenbusState.InitWait);
    xs.watch(`${fe}/state`, this.watchToken, -1, () => this.frontendChanged());
  }

  private switchState(s: number): void {
    if (this.state === s) return;
    this.state = s;
    try { this.host.xenstore.write(`${this.backendPath}/state`, String(s)); } catch { /* dir removed */ }
  }

  /** xenbus_dev_fatal: records the error where the toolstack looks and closes the device. */
  private fatal(err: string, msg: string): void {
    this.lastError = `${err} ${msg}`;
    try { this.host.xenstore.write(`/local/domain/0/error${this.backendPath}/error`, this.lastError); } catch { /* ignore */ }
    this.host.log(`blkback d${this.domid} ${this.devid}: ${msg}`);
    this.switchState(XenbusState.Closing);
  }

  private frontendChanged(): void {
    if (this.removed) return;
    if (this.reacting) { this.reactAgain = true; return; }
    this.reacting = true;
    try {
      do { this.reactAgain = false; this.react(); } while (this.reactAgain && !this.removed);
    } finally {
      this.reacting = false;
    }
  }

  /** xen-blkback/xenbus.c frontend_changed. */
  private react(): void {
    const fs = this.frontendState;
    switch (fs) {
      case XenbusState.Initialising:
        if (this.state === XenbusState.Closed) this.switchState(XenbusState.InitWait); // prepare for reconnect
        return;
      case XenbusState.Initialised:
      case XenbusState.Connected:
        // Two watch firings may hide the intermediate value: connect once.
        if (this.state === XenbusState.Connected || this.state === XenbusState.Closing) return;
        if (this.state === XenbusState.Closed) this.switchState(XenbusState.InitWait);
        if (this.connectRing()) this.connect();
        return;
      case XenbusState.Closing:
        this.switchState(XenbusState.Closing);
        return;
      case XenbusState.Closed:
      case XenbusState.Unknown:
        this.disconnect();
        this.switchState(XenbusState.Closed);
        if (this.removing || fs === XenbusState.Unknown) this.remove();
        return;
      default:
        this.fatal("EINVAL", `saw state ${fs} at frontend`);
    }
  }

  /** connect_ring: ring-ref, event-channel and protocol from the frontend; map and bind. */
  private connectRing(): boolean {
    const xs = this.host.xenstore, fe = this.frontendPath;
    const rd = (k: string) => { try { return xs.read(`${fe}/${k}`); } catch { return undefined; } };
    const ringRef = rd("ring-ref"), evtchn = rd("event-channel");
    if (ringRef === undefined || evtchn === undefined || !/^\d+$/.test(ringRef) || !/^\d+$/.test(evtchn)) {
      this.fatal("ENOENT", `reading ${fe}/ring-ref and event-channel: got ${ringRef ?? "nothing"} and ${evtchn ?? "nothing"}`);
      return false;
    }
    const order = rd("ring-page-order");
    if (order !== undefined && order !== "0") { this.fatal("EINVAL", `ring-page-order ${order} was not offered (max-ring-page-order is absent)`); return false; }
    const proto = rd("protocol") ?? XEN_IO_PROTO_ABI_X86_64;
    if (proto !== XEN_IO_PROTO_ABI_X86_64) { this.fatal("ENOSYS", `unsupported protocol ${proto} (this backend serves ${XEN_IO_PROTO_ABI_X86_64})`); return false; }
    if (Number(ringRef) > 0xffff_ffff) { this.fatal("EINVAL", `ring-ref ${ringRef} is not a grant_ref_t (uint32)`); return false; }
    const m = mapGrant(this.host, this.domain, grantRef(Number(ringRef)), true);
    if (isFailure(m)) { this.fatal("ENOMEM", `mapping ring-ref ${ringRef}: ${m.reason}`); return false; }
    const port = Number(evtchn);
    const e = this.domain.evtchn.valid(port) ? this.domain.evtchn.get(port) : undefined;
    if (!e || e.state !== "unbound" || e.remoteDom !== this.host.backendDomid) {
      unmapGrant(m);
      this.fatal("EINVAL", `binding event channel ${port}: it is ${e ? `${e.state}${e.state === "unbound" ? ` for d${e.remoteDom}` : ""}` : "closed"}, not unbound for d${this.host.backendDomid}`);
      return false;
    }
    this.ringMapping = m;
    this.ring = new BlkifBackRing(() => m.view, () => this.host.invalidateFrame(m.mfn));
    this.ringRef = Number(ringRef);
    this.protocol = proto;
    this.frontendPort = port;
    this.port = this.host.bindService(this.domid, e.port, `vbd ${this.devid}`, () => this.kicked());
    return true;
  }

  /** connect(): what the frontend needs to size the disk, then Connected. */
  private connect(): void {
    const xs = this.host.xenstore, be = this.backendPath;
    const info = (this.readOnly ? VDISK_READONLY : 0) | (this.disk.cdrom ? VDISK_CDROM : 0);
    const tx = xs.transactionStart(0);
    xs.write(`${be}/feature-flush-cache`, "1", 0, tx);
    xs.write(`${be}/feature-persistent`, "0", 0, tx);
    xs.write(`${be}/sectors`, String(this.sectors), 0, tx);
    xs.write(`${be}/info`, String(info), 0, tx);
    xs.write(`${be}/sector-size`, String(BLKIF_SECTOR), 0, tx);
    xs.write(`${be}/physical-sector-size`, String(BLKIF_SECTOR), 0, tx);
    xs.transactionEnd(tx, true, 0);
    this.switchState(XenbusState.Connected);
    // Like bind_interdomain marking our new port pending: look at the ring once.
    if (this.auto) this.serve();
  }

  /** xen_blkif_disconnect: finish what is in flight, unbind, unmap the ring. */
  private disconnect(): void {
    if (this.domain.dying || !this.host.exists(this.domid)) {
      // The guest is gone: in-flight requests are dropped, not answered. Their pages outlived it
      // only because we map them (grant-table.ts teardown); unmapping frees them.
      for (const f of this.inflight) for (const m of f.mappings) unmapGrant(m);
      this.inflight.length = 0;
    } else if (this.inflight.length) this.complete(Infinity, false);
    // evtchn_close from dom0's side: the frontend's port goes back to unbound.
    if (this.port !== undefined) this.host.unbindService(this.port, this.domid);
    if (this.ringMapping) unmapGrant(this.ringMapping);
    this.ringMapping = undefined;
    this.ring = undefined;
    this.port = undefined;
  }

  /** Toolstack removal (libxl__initiate_device_generic_remove): online = 0, backend Closing. */
  requestRemoval(): void {
    if (this.removed) return;
    this.removing = true;
    try { this.host.xenstore.write(`${this.backendPath}/online`, "0"); } catch { /* gone */ }
    const fs = this.frontendState;
    // A frontend that never connected (or is gone) will not answer: finish at once.
    if (fs === XenbusState.Unknown || fs === XenbusState.Initialising || fs === XenbusState.Closed || this.domain.dying || this.domain.isShutdown) {
      this.forceRemove();
      return;
    }
    this.switchState(XenbusState.Closing);
  }

  /** Removes the device now, whatever the frontend is doing (xl block-detach --force, domain death). */
  forceRemove(): void {
    if (this.removed) return;
    this.disconnect();
    this.switchState(XenbusState.Closed);
    this.remove();
  }

  /** libxl__device_destroy: both directories and the libxl node go (with empty parents, as libxl__xs_path_cleanup); the image is closed. */
  private remove(): void {
    if (this.removed) return;
    this.removed = true;
    const xs = this.host.xenstore;
    try {
      try { xs.unwatch(`${this.frontendPath}/state`, this.watchToken, -1); } catch { /* already */ }
      // A domain being destroyed keeps its watches until destroyDomain drops them, but its store
      // ring is gone already: drop them now so removing our nodes does not write to a dead ring.
      if (this.domain.dying || !this.host.exists(this.domid)) xs.removeWatchesOf(this.domid);
      const stops = new Set([`/local/domain/0/backend`, `/local/domain/${this.domid}/device`, `/libxl/${this.domid}`]);
      for (const p of [this.frontendPath, this.backendPath, `/libxl/${this.domid}/device/vbd/${this.devid}`]) {
        try { xs.rm(p); } catch (e) { if (!(e instanceof XsError)) throw e; }
        for (let up = p.slice(0, p.lastIndexOf("/")); !stops.has(up) && up.split("/").length > 3; up = up.slice(0, up.lastIndexOf("/"))) {
          try { if (xs.directory(up).length) break; xs.rm(up); } catch (e) { if (!(e instanceof XsError)) throw e; break; }
        }
      }
      try { this.device.flush(); } catch { /* read-only or gone */ }
      this.device.close();
    } finally {
      this.onRemoved(this);
    }
  }

  // =========================================================================================
  // The data path (xen-blkback/blkback.c)
  // =========================================================================================

  private kicked(): void {
    this.stats.kicks++;
    if (!this.ring) return;
    if (this.auto) this.serve();
    else this.pendingKick = true;
  }

  /** do_block_io_op: everything on the ring, then RING_FINAL_CHECK_FOR_REQUESTS, until quiet. */
  serve(): number {
    const ring = this.ring;
    if (!ring) return 0;
    this.pendingKick = false;
    let n = 0;
    const t0 = performance.now();
    for (;;) {
      while (ring.unconsumedRequests()) {
        const f = this.begin(ring.takeRequest());
        this.finish(f);
        n++;
      }
      if (!ring.finalCheckForRequests()) break;
    }
    this.wallMsServing += performance.now() - t0;
    return n;
  }

  /** Steps: copies up to `n` requests off the ring and maps their grants (in flight). */
  take(n = 1): InflightRequest[] {
    const out: InflightRequest[] = [];
    const ring = this.ring;
    if (!ring) throw new BlkbackError("state", `vbd ${this.devid} of d${this.domid} is not connected (backend ${this.stateName})`);
    while (out.length < n && ring.unconsumedRequests()) {
      const f = this.begin(ring.takeRequest());
      this.inflight.push(f);
      out.push(f);
    }
    // Drained: arm req_event as blkback does after its loop (RING_FINAL_CHECK_FOR_REQUESTS), so the
    // frontend's next push notifies us; work that slipped in meanwhile counts as a pending kick.
    if (!ring.unconsumedRequests()) this.pendingKick = ring.finalCheckForRequests();
    return out;
  }

  /** Steps: completes up to `n` in-flight requests, oldest first; returns their statuses. */
  complete(n = 1, notify = true): number[] {
    const out: number[] = [];
    while (out.length < n && this.inflight.length) out.push(this.finish(this.inflight.shift()!, notify));
    return out;
  }

  /** Validates and maps (dispatch_rw_block_io up to the grant map). */
  private begin(req: BlkifRequest): InflightRequest {
    const s = this.stats;
    s.requests++;
    const f: InflightRequest = { req, mappings: [] };
    const bad = (status: number, why: string) => { f.status = status; f.why = why; return f; };
    switch (req.operation) {
      case BLKIF_OP.READ: s.reads++; break;
      case BLKIF_OP.WRITE: s.writes++; break;
      case BLKIF_OP.FLUSH_DISKCACHE:
        s.flushes++;
        // A flush is a write (REQ_PREFLUSH): refused on a read-only vbd like any write.
        if (this.readOnly) return bad(BLKIF_RSP_ERROR, "flush on a read-only device");
        return f;
      case BLKIF_OP.WRITE_BARRIER: case BLKIF_OP.DISCARD:
        return bad(BLKIF_RSP_EOPNOTSUPP, `${req.operation === BLKIF_OP.DISCARD ? "discard" : "write barrier"} was not offered`);
      default:
        return bad(BLKIF_RSP_ERROR, `unknown operation ${req.operation}`);
    }
    if (req.nrSegments === 0 || req.nrSegments > BLKIF_MAX_SEGMENTS_PER_REQUEST) return bad(BLKIF_RSP_ERROR, `nr_segments ${req.nrSegments} not in 1..${BLKIF_MAX_SEGMENTS_PER_REQUEST}`);
    let nsect = 0;
    for (const g of req.segments) {
      if (g.lastSect >= SECTORS_PER_PAGE || g.lastSect < g.firstSect) return bad(BLKIF_RSP_ERROR, `segment sectors ${g.firstSect}..${g.lastSect} not within 0..7`);
      nsect += g.lastSect - g.firstSect + 1;
    }
    // xen_vbd_translate: the whole range inside the disk, and no writes to a read-only one.
    if (req.operation === BLKIF_OP.WRITE && this.readOnly) return bad(BLKIF_RSP_ERROR, "write to a read-only device");
    const end = req.sector + BigInt(nsect);
    if (end > BigInt(this.sectors)) return bad(BLKIF_RSP_ERROR, `sectors ${req.sector}..${end - 1n} beyond the disk's ${this.sectors}`);
    // xen_blkbk_map: reads write into the guest's pages (writable map), writes only read them.
    const writable = req.operation === BLKIF_OP.READ;
    s.mapBatches++;
    for (const g of req.segments) {
      const m = mapGrant(this.host, this.domain, g.gref, writable);
      if (isFailure(m)) return bad(BLKIF_RSP_ERROR, m.reason);
      f.mappings.push(m);
      s.pagesMapped++;
    }
    return f;
  }

  /** The I/O, the unmap, the response and (if rsp_event asks) the notification. */
  private finish(f: InflightRequest, notify = true): number {
    const { req } = f;
    let status = f.status ?? BLKIF_RSP_OKAY;
    let why = f.why;
    if (f.status === undefined) {
      try {
        if (req.operation === BLKIF_OP.FLUSH_DISKCACHE) this.device.flush();
        else this.transfer(f);
      } catch (e) {
        status = BLKIF_RSP_ERROR;
        why = (e as Error).message;
      }
    }
    if (f.mappings.length) {
      for (const m of f.mappings) unmapGrant(m);
      this.stats.unmapBatches++;
      f.mappings.length = 0;
    }
    if (status === BLKIF_RSP_ERROR) this.stats.errors++;
    if (status === BLKIF_RSP_EOPNOTSUPP) this.stats.unsupported++;
    if (why && status !== BLKIF_RSP_OKAY) this.lastError = why;
    this.recent.push({ req, status, why });
    if (this.recent.length > this.recentLimit) this.recent.splice(0, this.recent.length - this.recentLimit);
    const ring = this.ring;
    if (ring) {
      ring.putResponse({ id: req.id, operation: req.operation, status });
      if (ring.pushResponsesAndCheckNotify() && notify && this.port !== undefined) {
        this.stats.notifies++;
        this.host.notify(this.port);
      }
    }
    return status;
  }

  /**
   * Moves the data straight between the disk and the granted pages, one segment at a time (as
   * blkback builds one bio_vec per segment); the segments are contiguous on disk.
   */
  private transfer(f: InflightRequest): void {
    const { req } = f;
    let offset = Number(req.sector) * BLKIF_SECTOR;
    const read = req.operation === BLKIF_OP.READ;
    req.segments.forEach((g, i) => {
      const n = (g.lastSect - g.firstSect + 1) * BLKIF_SECTOR, v = f.mappings[i]!.view;
      const page = new Uint8Array(v.buffer, v.byteOffset + g.firstSect * BLKIF_SECTOR, n);
      if (read) { this.device.read(offset, page); this.stats.bytesRead += n; }
      else { this.device.write(offset, page); this.stats.bytesWritten += n; this.#journal.record(offset, page); }
      offset += n;
    });
  }

  resetStats(): void { this.stats = newStats(); }

  /**
   * True when the image's `bytes` at byte `offset` (whole sectors) are exactly what this device's
   * frontend last wrote there through the ring (write-journal.ts), not bytes put there another way.
   */
  frontendWrote(offset: number, bytes: Uint8Array): boolean {
    return this.#journal.frontendWrote(offset, bytes);
  }

  toMimeBundle(): MimeBundle {
    return display(this);
  }
}
