/**
 * The xenstore ring page (io/xs_wire.h struct xenstore_domain_interface): the guest produces
 * requests into req[1024], xenstored (here: the host, acting for dom0) consumes them and produces
 * replies and watch events into rsp[1024]. Indices are free-running u32 masked by the ring size.
 */
import { LAYOUT, XENSTORE_RING_SIZE } from "../abi";
import { XsMessage, decodeMessages, encodeMessage } from "./wire";

const F = LAYOUT.xenstore_domain_interface.f;
const MASK = XENSTORE_RING_SIZE - 1;

export class XenStoreRing {
  private inBuf = new Uint8Array(0);
  private outQueue: Uint8Array[] = [];
  /** Bytes consumed from req / produced to rsp (for views). */
  bytesIn = 0;
  bytesOut = 0;
  broken: string | undefined;

  constructor(private readonly page: () => DataView) {}

  /** Consumes whole messages the guest has produced. */
  takeRequests(): XsMessage[] {
    const v = this.page();
    let cons = v.getUint32(F.req_cons, true);
    const prod = v.getUint32(F.req_prod, true);
    const avail = (prod - cons) >>> 0;
    if (avail > XENSTORE_RING_SIZE) { this.broken = `req_prod ${prod} - req_cons ${cons} exceeds the ring`; return []; }
    if (avail) {
      const chunk = new Uint8Array(avail);
      for (let i = 0; i < avail; i++) chunk[i] = v.getUint8(F.req + ((cons + i) & MASK));
      cons = (cons + avail) >>> 0;
      v.setUint32(F.req_cons, cons, true);
      this.bytesIn += avail;
      const b = new Uint8Array(this.inBuf.length + avail);
      b.set(this.inBuf);
      b.set(chunk, this.inBuf.length);
      this.inBuf = b;
    }
    const { messages, used, error } = decodeMessages(this.inBuf);
    if (error) this.broken = error;
    this.inBuf = this.inBuf.slice(used);
    return messages;
  }

  queue(m: XsMessage): void {
    this.outQueue.push(encodeMessage(m));
  }

  /** Copies queued replies into rsp as space allows; returns true if anything was produced. */
  flush(): boolean {
    const v = this.page();
    const cons = v.getUint32(F.rsp_cons, true);
    let prod = v.getUint32(F.rsp_prod, true);
    let wrote = false;
    while (this.outQueue.length) {
      const head = this.outQueue[0]!;
      const space = XENSTORE_RING_SIZE - ((prod - cons) >>> 0);
      if (space <= 0) break;
      const n = Math.min(space, head.length);
      for (let i = 0; i < n; i++) v.setUint8(F.rsp + ((prod + i) & MASK), head[i]!);
      prod = (prod + n) >>> 0;
      this.bytesOut += n;
      wrote = true;
      if (n === head.length) this.outQueue.shift();
      else this.outQueue[0] = head.subarray(n);
    }
    if (wrote) v.setUint32(F.rsp_prod, prod, true);
    return wrote;
  }

  get pendingOutput(): number {
    return this.outQueue.reduce((a, b) => a + b.length, 0);
  }
}
