/**
 * A VMBus ring buffer (Linux drivers/hv/ring_buffer.c) over GPADL pages in a child's memory: the
 * first page holds the indices, the data area follows and wraps. Each packet is a
 * vmpacket_descriptor, its payload padded to 8 bytes, and a u64 trailer ((u64)write_index << 32).
 */
import { GuestPhysical, PAGE_SIZE } from "../machine";
import { RING, VMPACKET } from "./vmbus-abi";

export interface RingPacket {
  type: number;
  flags: number;
  transId: bigint;
  /** Bytes from the descriptor start to len8*8 (the descriptor included). */
  raw: Uint8Array;
  /** offset8*8: where the payload starts inside raw. */
  payloadOffset: number;
}

export class VmbusRing {
  packetsRead = 0;
  packetsWritten = 0;
  bytesWritten = 0;
  signals = 0;

  constructor(private readonly mem: GuestPhysical, readonly pfns: number[]) {
    if (pfns.length < 2) throw new RangeError("a ring needs a header page and at least one data page");
  }

  get dataSize(): number { return (this.pfns.length - 1) * PAGE_SIZE; }
  private hdr(off: number): number { return this.pfns[0]! * PAGE_SIZE + off; }
  get writeIndex(): number { return this.mem.u32(this.hdr(RING.writeIndex)); }
  get readIndex(): number { return this.mem.u32(this.hdr(RING.readIndex)); }
  get interruptMask(): number { return this.mem.u32(this.hdr(RING.interruptMask)); }

  private dataAddr(pos: number): number {
    const p = pos % this.dataSize;
    return this.pfns[1 + Math.floor(p / PAGE_SIZE)]! * PAGE_SIZE + (p % PAGE_SIZE);
  }

  private copyOut(pos: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    let done = 0;
    while (done < len) {
      const p = (pos + done) % this.dataSize;
      const n = Math.min(len - done, PAGE_SIZE - (p % PAGE_SIZE));
      out.set(this.mem.read(this.dataAddr(p), n), done);
      done += n;
    }
    return out;
  }

  private copyIn(pos: number, data: Uint8Array): void {
    let done = 0;
    while (done < data.length) {
      const p = (pos + done) % this.dataSize;
      const n = Math.min(data.length - done, PAGE_SIZE - (p % PAGE_SIZE));
      this.mem.write(this.dataAddr(p), data.subarray(done, done + n));
      done += n;
    }
  }

  /** Bytes waiting to be read. */
  get available(): number {
    const w = this.writeIndex, r = this.readIndex;
    return w >= r ? w - r : this.dataSize - r + w;
  }

  /** Reads the next packet (consumer side); undefined when empty or malformed. */
  read(): RingPacket | undefined {
    const size = this.dataSize;
    const r = this.readIndex, w = this.writeIndex;
    if (r === w || r >= size || w >= size) return undefined;
    const d = new DataView(this.copyOut(r, VMPACKET.size).buffer);
    const len = d.getUint16(VMPACKET.len8, true) * 8, off = d.getUint16(VMPACKET.offset8, true) * 8;
    if (len < VMPACKET.size || off < VMPACKET.size || off > len || len + 8 > this.available) return undefined;
    const raw = this.copyOut(r, len);
    this.mem.setU32(this.hdr(RING.readIndex), (r + len + 8) % size);
    this.packetsRead++;
    return { type: d.getUint16(VMPACKET.type, true), flags: d.getUint16(VMPACKET.flags, true), transId: d.getBigUint64(VMPACKET.transId, true), raw, payloadOffset: off };
  }

  /**
   * Writes a packet (producer side). Returns false if it does not fit (the ring is never filled
   * completely, so that write == read means empty); `signal` tells whether the consumer needs an
   * interrupt: the ring was empty and its interrupt_mask is clear (hv_need_to_signal).
   */
  write(type: number, flags: number, transId: bigint, payload: Uint8Array): { ok: boolean; signal: boolean } {
    const size = this.dataSize;
    const padded = (payload.length + 7) & ~7;
    const total = VMPACKET.size + padded + 8;
    const r = this.readIndex, w = this.writeIndex;
    const free = r > w ? r - w : size - w + r;
    if (total >= free) return { ok: false, signal: false };
    const pkt = new Uint8Array(VMPACKET.size + padded + 8);
    const d = new DataView(pkt.buffer);
    d.setUint16(VMPACKET.type, type, true);
    d.setUint16(VMPACKET.offset8, VMPACKET.size / 8, true);
    d.setUint16(VMPACKET.len8, (VMPACKET.size + padded) / 8, true);
    d.setUint16(VMPACKET.flags, flags, true);
    d.setBigUint64(VMPACKET.transId, transId, true);
    pkt.set(payload, VMPACKET.size);
    d.setBigUint64(VMPACKET.size + padded, BigInt(w) << 32n, true);
    this.copyIn(w, pkt);
    this.mem.setU32(this.hdr(RING.writeIndex), (w + total) % size);
    this.packetsWritten++;
    this.bytesWritten += total;
    const signal = r === w && this.interruptMask === 0;
    if (signal) this.signals++;
    return { ok: true, signal };
  }
}
