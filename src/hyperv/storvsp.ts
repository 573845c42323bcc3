/**
 * The storage VSP (the root's storvsp.sys): serves a BlockDevice (a VhdDisk) to a child's storvsc
 * over a VMBus channel with Linux's storvsc protocol (drivers/scsi/storvsc_drv.c): the
 * initialization handshake (BEGIN_INITIALIZATION, QUERY_PROTOCOL_VERSION, QUERY_PROPERTIES,
 * END_INITIALIZATION) and EXECUTE_SRB with SCSI READ(10)/WRITE(10)/READ CAPACITY(10)/TEST UNIT
 * READY, data moving through the GPA-direct page list of the request packet.
 */
import { GuestPhysical, PAGE_SIZE } from "../machine";
import type { BlockDevice } from "../vhd/block-device";
import type { RingPacket } from "./ring";
import { GPA_RANGE, SAM_STAT, SCSI, SRB_STATUS, VM_PKT, VMSCSI, VSTOR_OPERATION, VSTOR_PACKET, VSTOR_PACKET_SIZE } from "./vmbus-abi";

const SECTOR = 512;

export interface StorvspStats { requests: number; reads: number; writes: number; bytesRead: number; bytesWritten: number; errors: number }

export class StorageVsp {
  readonly stats: StorvspStats = { requests: 0, reads: 0, writes: 0, bytesRead: 0, bytesWritten: 0, errors: 0 };
  constructor(readonly disk: BlockDevice, readonly label: string) {}

  /** Handles one request packet; returns the completion payload (a vstor_packet). */
  handle(mem: GuestPhysical, pkt: RingPacket): Uint8Array {
    this.stats.requests++;
    const body = pkt.raw.slice(pkt.payloadOffset);
    const vp = new Uint8Array(VSTOR_PACKET_SIZE);
    vp.set(body.subarray(0, Math.min(body.length, VSTOR_PACKET_SIZE)));
    const d = new DataView(vp.buffer);
    const op = d.getUint32(VSTOR_PACKET.operation, true);
    d.setUint32(VSTOR_PACKET.operation, VSTOR_OPERATION.COMPLETE_IO, true);
    d.setUint32(VSTOR_PACKET.status, 0, true);
    switch (op) {
      case VSTOR_OPERATION.BEGIN_INITIALIZATION: case VSTOR_OPERATION.END_INITIALIZATION:
      case VSTOR_OPERATION.QUERY_PROTOCOL_VERSION: case VSTOR_OPERATION.QUERY_PROPERTIES:
        return vp;
      case VSTOR_OPERATION.EXECUTE_SRB:
        this.srb(mem, pkt, d);
        return vp;
      default:
        this.stats.errors++;
        d.setUint32(VSTOR_PACKET.status, 0xc0000010, true); // STATUS_INVALID_DEVICE_REQUEST
        return vp;
    }
  }

  /** The request's data pages (one gpa_range after the descriptor, vmdata_gpa_direct). */
  private range(pkt: RingPacket): { len: number; offset: number; pfns: number[] } | undefined {
    if (pkt.type !== VM_PKT.DATA_USING_GPA_DIRECT) return undefined;
    const d = new DataView(pkt.raw.buffer, pkt.raw.byteOffset, pkt.raw.length);
    if (d.getUint32(20, true) < 1) return undefined; // range_cnt
    const r = 24, len = d.getUint32(r + GPA_RANGE.byteCount, true), offset = d.getUint32(r + GPA_RANGE.byteOffset, true);
    const n = Math.ceil((offset + len) / PAGE_SIZE);
    if (r + GPA_RANGE.pfns + n * 8 > pkt.payloadOffset) return undefined;
    const pfns = Array.from({ length: n }, (_, i) => Number(d.getBigUint64(r + GPA_RANGE.pfns + i * 8, true)));
    return { len, offset, pfns };
  }

  private xfer(mem: GuestPhysical, r: { offset: number; pfns: number[] }, data: Uint8Array, toGuest: boolean): void {
    let done = 0;
    while (done < data.length) {
      const pos = r.offset + done;
      const n = Math.min(data.length - done, PAGE_SIZE - (pos % PAGE_SIZE));
      const gpa = r.pfns[Math.floor(pos / PAGE_SIZE)]! * PAGE_SIZE + (pos % PAGE_SIZE);
      if (toGuest) mem.write(gpa, data.subarray(done, done + n));
      else data.set(mem.read(gpa, n), done);
      done += n;
    }
  }

  private srb(mem: GuestPhysical, pkt: RingPacket, d: DataView): void {
    const s = VSTOR_PACKET.payload;
    const cdb = (i: number) => d.getUint8(s + VMSCSI.cdb + i);
    const be32 = (i: number) => ((cdb(i) << 24) | (cdb(i + 1) << 16) | (cdb(i + 2) << 8) | cdb(i + 3)) >>> 0;
    const fail = () => { this.stats.errors++; d.setUint8(s + VMSCSI.srbStatus, SRB_STATUS.ERROR); d.setUint8(s + VMSCSI.scsiStatus, SAM_STAT.CHECK_CONDITION); d.setUint32(s + VMSCSI.dataTransferLength, 0, true); };
    const ok = (n: number) => { d.setUint8(s + VMSCSI.srbStatus, SRB_STATUS.SUCCESS); d.setUint8(s + VMSCSI.scsiStatus, SAM_STAT.GOOD); d.setUint32(s + VMSCSI.dataTransferLength, n, true); };
    const r = this.range(pkt);
    const sectors = Math.floor(this.disk.size / SECTOR);
    switch (cdb(0)) {
      case SCSI.TEST_UNIT_READY: return ok(0);
      case SCSI.READ_CAPACITY_10: {
        if (!r || r.len < 8) return fail();
        const out = new Uint8Array(8);
        const v = new DataView(out.buffer);
        v.setUint32(0, Math.min(sectors - 1, 0xffffffff), false);
        v.setUint32(4, SECTOR, false);
        this.xfer(mem, r, out, true);
        return ok(8);
      }
      case SCSI.READ_10: case SCSI.WRITE_10: {
        const lba = be32(2), count = (cdb(7) << 8) | cdb(8);
        const bytes = count * SECTOR;
        if (!r || r.len < bytes || lba + count > sectors) return fail();
        const buf = new Uint8Array(bytes);
        if (cdb(0) === SCSI.READ_10) {
          this.disk.read(lba * SECTOR, buf);
          this.xfer(mem, r, buf, true);
          this.stats.reads++; this.stats.bytesRead += bytes;
        } else {
          if (this.disk.readOnly) return fail();
          this.xfer(mem, r, buf, false);
          this.disk.write(lba * SECTOR, buf);
          this.stats.writes++; this.stats.bytesWritten += bytes;
        }
        return ok(bytes);
      }
      default: return fail();
    }
  }
}
