/**
 * The back end of a blkif shared ring (public io/ring.h, BACK_RING_* macros) over the granted
 * ring page. The backend's private indices (req_cons, rsp_prod_pvt) live here; the shared ones
 * (req_prod, req_event, rsp_prod, rsp_event) are read and written in the guest's page, so the
 * notification rules are exactly the header's:
 *   - RING_PUSH_RESPONSES_AND_CHECK_NOTIFY: notify iff (u32)(new − rsp_event) < (u32)(new − old);
 *   - RING_FINAL_CHECK_FOR_REQUESTS: with nothing to do, set req_event = req_cons + 1 and look again
 *     (so a request pushed meanwhile is not missed, and the next one will notify us).
 */
import { grantRef, type GrantRef } from "../types";
import { BLKIF_ENTRY_SIZE, BLKIF_MAX_SEGMENTS_PER_REQUEST, BLKIF_RING_SIZE, REQ, RSP, SEG, SRING } from "./abi";

/** A request as the backend copied it out of the ring (blkback copies before validating). */
export interface BlkifRequest {
  /** Ring index it was taken from (free-running). */
  index: number;
  operation: number;
  nrSegments: number;
  handle: number;
  id: bigint;
  sector: bigint;
  segments: { gref: GrantRef; firstSect: number; lastSect: number }[];
}

export interface BlkifResponse {
  id: bigint;
  operation: number;
  status: number;
}

const u32 = (x: number) => x >>> 0;

export class BlkifBackRing {
  reqCons = 0;
  rspProdPvt = 0;
  readonly size = BLKIF_RING_SIZE;

  /** `page` returns the ring page's current view (the machine frame behind the grant). */
  constructor(private readonly page: () => DataView, private readonly onWrite: () => void = () => {}) {}

  get sring(): { reqProd: number; reqEvent: number; rspProd: number; rspEvent: number } {
    const v = this.page();
    return {
      reqProd: v.getUint32(SRING.req_prod, true), reqEvent: v.getUint32(SRING.req_event, true),
      rspProd: v.getUint32(SRING.rsp_prod, true), rspEvent: v.getUint32(SRING.rsp_event, true),
    };
  }

  /** XEN_RING_NR_UNCONSUMED_REQUESTS: bounded by the free response slots (a buggy frontend cannot overrun us). */
  unconsumedRequests(): number {
    const req = u32(this.page().getUint32(SRING.req_prod, true) - this.reqCons);
    const rsp = u32(this.size - u32(this.reqCons - this.rspProdPvt));
    return Math.min(req, rsp);
  }

  /** RING_GET_REQUEST + a copy (RING_COPY_REQUEST): later guest writes cannot change what we validated. */
  takeRequest(): BlkifRequest {
    const v = this.page();
    const index = this.reqCons;
    const o = SRING.ring + (index & (this.size - 1)) * BLKIF_ENTRY_SIZE;
    const nr = v.getUint8(o + REQ.nr_segments);
    const segments = [];
    for (let i = 0; i < Math.min(nr, BLKIF_MAX_SEGMENTS_PER_REQUEST); i++) {
      const s = o + REQ.seg + i * SEG.size;
      segments.push({ gref: grantRef(v.getUint32(s + SEG.gref, true)), firstSect: v.getUint8(s + SEG.first_sect), lastSect: v.getUint8(s + SEG.last_sect) });
    }
    this.reqCons = u32(this.reqCons + 1);
    return {
      index, operation: v.getUint8(o + REQ.operation), nrSegments: nr, handle: v.getUint16(o + REQ.handle, true),
      id: v.getBigUint64(o + REQ.id, true), sector: v.getBigUint64(o + REQ.sector_number, true), segments,
    };
  }

  /** Reads the request in a slot without consuming it (for views). */
  peekRequest(index: number): Omit<BlkifRequest, "index"> {
    const v = this.page();
    const o = SRING.ring + (index & (this.size - 1)) * BLKIF_ENTRY_SIZE;
    const nr = v.getUint8(o + REQ.nr_segments);
    const segments = [];
    for (let i = 0; i < Math.min(nr, BLKIF_MAX_SEGMENTS_PER_REQUEST); i++) {
      const s = o + REQ.seg + i * SEG.size;
      segments.push({ gref: grantRef(v.getUint32(s + SEG.gref, true)), firstSect: v.getUint8(s + SEG.first_sect), lastSect: v.getUint8(s + SEG.last_sect) });
    }
    return { operation: v.getUint8(o + REQ.operation), nrSegments: nr, handle: v.getUint16(o + REQ.handle, true), id: v.getBigUint64(o + REQ.id, true), sector: v.getBigUint64(o + REQ.sector_number, true), segments };
  }

  /** Writes a response at rsp_prod_pvt (RING_GET_RESPONSE) without publishing it. */
  putResponse(r: BlkifResponse): void {
    const v = this.page();
    const o = SRING.ring + (this.rspProdPvt & (this.size - 1)) * BLKIF_ENTRY_SIZE;
    v.setBigUint64(o + RSP.id, r.id, true);
    v.setUint8(o + RSP.operation, r.operation);
    v.setInt16(o + RSP.status, r.status, true);
    this.rspProdPvt = u32(this.rspProdPvt + 1);
    this.onWrite();
  }

  /** RING_PUSH_RESPONSES_AND_CHECK_NOTIFY: publishes rsp_prod; true if the frontend asked to be told. */
  pushResponsesAndCheckNotify(): boolean {
    const v = this.page();
    const old = v.getUint32(SRING.rsp_prod, true);
    const nu = this.rspProdPvt;
    v.setUint32(SRING.rsp_prod, nu, true);
    this.onWrite();
    const event = v.getUint32(SRING.rsp_event, true);
    return u32(nu - event) < u32(nu - old);
  }

  /** RING_FINAL_CHECK_FOR_REQUESTS: true if there is work; otherwise arms req_event. */
  finalCheckForRequests(): boolean {
    if (this.unconsumedRequests()) return true;
    this.page().setUint32(SRING.req_event, u32(this.reqCons + 1), true);
    this.onWrite();
    return this.unconsumedRequests() > 0;
  }
}
