/**
 * A blkif ring as the backend sees it, as plain data: the shared and private indices and what
 * each of the 32 slots holds now (a request posted and not taken yet, one in flight, a response
 * published). Views draw it (src/render/xen-blkring.ts); tests read it.
 */
import { BLKIF_OP_NAMES, BLKIF_RING_SIZE } from "./abi";
import type { Vbd } from "./vbd";
import type { BlkifRequest } from "./ring";

export type SlotState = "empty" | "posted" | "in flight" | "answered" | "done (unpublished)";

export interface RingSlot {
  slot: number;
  /** Free-running ring index last used in this slot. */
  index?: number;
  state: SlotState;
  op?: string;
  id?: bigint;
  sector?: bigint;
  sectors?: number;
}

export interface RingSnapshot {
  reqProd: number; reqEvent: number; rspProd: number; rspEvent: number;
  reqCons: number; rspProdPvt: number;
  slots: RingSlot[];
}

const u32 = (x: number) => x >>> 0;

export function sectorsOf(r: Pick<BlkifRequest, "segments">): number {
  return r.segments.reduce((a, g) => a + Math.max(0, g.lastSect - g.firstSect + 1), 0);
}

/** Reads the shared page now and classifies each slot. */
export function ringSnapshot(v: Vbd): RingSnapshot | undefined {
  const ring = v.ring;
  if (!ring) return undefined;
  const s = ring.sring;
  const inflight = new Set(v.inflight.map((f) => f.req.index));
  const slots: RingSlot[] = [];
  for (let k = 0; k < BLKIF_RING_SIZE; k++) {
    // The newest index below req_prod that lands in slot k.
    const back = u32((s.reqProd - 1 - k) & (BLKIF_RING_SIZE - 1));
    const index = u32(s.reqProd - 1 - back);
    const used = s.reqProd >= BLKIF_RING_SIZE || back < s.reqProd;
    if (!used) { slots.push({ slot: k, state: "empty" }); continue; }
    let state: SlotState;
    if (inflight.has(index)) state = "in flight";
    else if (u32(index - ring.reqCons) < u32(s.reqProd - ring.reqCons)) state = "posted";
    else if (u32(s.rspProd - index) > 0 && u32(s.rspProd - index) <= BLKIF_RING_SIZE) state = "answered";
    else state = "done (unpublished)";
    const slot: RingSlot = { slot: k, index, state };
    if (state === "posted" || state === "in flight") {
      const r = ring.peekRequest(index);
      Object.assign(slot, { op: BLKIF_OP_NAMES[r.operation] ?? `op ${r.operation}`, id: r.id, sector: r.sector, sectors: sectorsOf(r) });
    }
    slots.push(slot);
  }
  return { ...s, reqCons: ring.reqCons, rspProdPvt: ring.rspProdPvt, slots };
}

