/**
 * The VMBus server in the root (vmbus.sys on Longhorn) for one child partition: it answers the
 * child's channel messages posted with HvPostMessage on connection 1 (INITIATE_CONTACT,
 * REQUESTOFFERS, GPADL_HEADER/BODY, OPENCHANNEL, CLOSECHANNEL, GPADL_TEARDOWN, UNLOAD) by posting
 * replies into the child's SINT2 message slot, and serves open channels: the child's
 * HvSignalEvent on the offer's connection id makes the VSP drain the outbound ring; replies go to
 * the inbound ring and set the child's event flag `child_relid` in SINT2's flags.
 */
import { connectionId, type ConnectionId } from "./ids";
import type { BlockDevice } from "../vhd/block-device";
import { display, MimeBundle } from "../mime";
import type { HypervHost } from "./host";
import type { Partition } from "./partition";
import { VmbusRing } from "./ring";
import { StorageVsp } from "./storvsp";
import { HV_STATUS } from "./tlfs";
import {
  CHANNELMSG, CHANNELMSG_NAMES, GPA_RANGE, GPADL_CREATED, GPADL_HEADER, HV_SCSI_GUID, INITIATE_CONTACT, OFFER, OPEN_CHANNEL,
  OPEN_RESULT, VERSION_RESPONSE, VM_PKT, VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED, VMBUS_MESSAGE_CONNECTION_ID,
  VMBUS_MESSAGE_SINT, VMBUS_MESSAGE_TYPE, guidBytes,
} from "./vmbus-abi";

export interface Gpadl { handle: number; relid: number; pfns: number[]; expected: number; complete: boolean }

export interface Channel {
  relid: number;
  connectionId: ConnectionId;
  ifType: string;
  instance: string;
  vsp: StorageVsp;
  state: "offered" | "open" | "closed";
  gpadl?: number;
  outbound?: VmbusRing;
  inbound?: VmbusRing;
  /** Why the channel was closed by the host (a bad ring or data page). */
  error?: string;
}

/** Connection ids for channel events start here (one per offer). */
const CHANNEL_CONNECTION_BASE = 0x10;

export class VmbusServer {
  readonly channels: Channel[] = [];
  readonly gpadls = new Map<number, Gpadl>();
  version: number | undefined;
  /** Every channel message seen (direction, name) for views and tests. */
  readonly log: { dir: "in" | "out"; type: string }[] = [];
  /** The versions the child asked for in INITIATE_CONTACT, in order (vmbus_version_requested). */
  readonly requested: number[] = [];
  /** The accepted INITIATE_CONTACT's fields (guest-physical addresses of its pages). */
  contact: { version: number; targetVcpu: number; interruptPage: number; monitorPage1: number; monitorPage2: number } | undefined;

  constructor(readonly host: HypervHost, readonly child: Partition) {
    // The message connection is per child here: our host keeps one table, so we key it by partition.
    const prev = host.connections.get(VMBUS_MESSAGE_CONNECTION_ID);
    const servers: Map<Partition, VmbusServer> = (prev as unknown as { servers?: Map<Partition, VmbusServer> })?.servers ?? new Map();
    servers.set(child, this);
    if (!prev) {
      const conn = {
        id: VMBUS_MESSAGE_CONNECTION_ID, owner: "root vmbus", servers,
        onMessage: (from: Partition, type: number, payload: Uint8Array) => servers.get(from)?.onMessage(type, payload) ?? HV_STATUS.INVALID_CONNECTION_ID,
        allowed: (from: Partition) => servers.has(from),
      };
      host.registerConnection(conn);
    }
  }

  /** Offers a SCSI disk to the child (what attaching a VHD to a VM's synthetic controller does). */
  addStorage(disk: BlockDevice, label = "disk"): Channel {
    const relid = this.channels.length + 1;
    const connection = connectionId(CHANNEL_CONNECTION_BASE + this.child.id * 0x100 + relid);
    const ch: Channel = {
      relid, connectionId: connection, ifType: HV_SCSI_GUID, state: "offered", vsp: new StorageVsp(disk, label),
      instance: `${(0x12340000 + relid).toString(16)}-0000-0000-0000-${this.child.id.toString(16).padStart(12, "0")}`,
    };
    this.channels.push(ch);
    this.host.registerConnection({ id: connection, owner: `partition ${this.child.id}`, allowed: (p) => p === this.child, onEvent: () => this.serve(ch) });
    return ch;
  }

  private send(type: number, size: number, fill: (d: DataView) => void): void {
    const b = new Uint8Array(size);
    const d = new DataView(b.buffer);
    d.setUint32(0, type, true);
    fill(d);
    this.log.push({ dir: "out", type: CHANNELMSG_NAMES[type] ?? String(type) });
    this.child.vp(0).synic.post(VMBUS_MESSAGE_SINT, { type: VMBUS_MESSAGE_TYPE, origin: 0n, payload: b });
  }

  onMessage(type: number, payload: Uint8Array): number {
    if (type !== VMBUS_MESSAGE_TYPE || payload.length < 8) return HV_STATUS.INVALID_PARAMETER;
    const d = new DataView(payload.buffer, payload.byteOffset, payload.length);
    const msg = d.getUint32(0, true);
    const u32 = (o: number) => (o + 4 <= payload.length ? d.getUint32(o, true) : 0);
    this.log.push({ dir: "in", type: CHANNELMSG_NAMES[msg] ?? String(msg) });
    switch (msg) {
      case CHANNELMSG.INITIATE_CONTACT: {
        const want = u32(INITIATE_CONTACT.version);
        this.requested.push(want);
        // Accepted only if the host offers exactly that version (vmbus.sys answers per request;
        // the guest walks its list newest first, connection.c vmbus_connect).
        const ok = (this.host.vmbusVersions as readonly number[]).includes(want);
        if (ok) {
          this.version = want;
          const u64 = (o: number) => (o + 8 <= payload.length ? Number(d.getBigUint64(o, true)) : 0);
          // Below 5.0 the union holds the interrupt page (hyperv.h vmbus_channel_initiate_contact):
          // its second half is the guest's send_int_page, where vmbus_send_interrupt sets the bit
          // of a channel without a dedicated interrupt before HvSignalEvent.
          this.contact = {
            version: want, targetVcpu: u32(INITIATE_CONTACT.targetVcpu), interruptPage: u64(INITIATE_CONTACT.interruptPage),
            monitorPage1: u64(INITIATE_CONTACT.monitor1), monitorPage2: u64(INITIATE_CONTACT.monitor2),
          };
        }
        this.send(CHANNELMSG.VERSION_RESPONSE, VERSION_RESPONSE.size, (o) => {
          o.setUint8(VERSION_RESPONSE.supported, ok ? 1 : 0);
          o.setUint32(VERSION_RESPONSE.msgConnId, VMBUS_MESSAGE_CONNECTION_ID, true);
        });
        return HV_STATUS.SUCCESS;
      }
      case CHANNELMSG.REQUESTOFFERS:
        if (this.version === undefined) return HV_STATUS.SUCCESS; // no contact yet: ignored, as vmbus.sys does
        for (const ch of this.channels) {
          this.send(CHANNELMSG.OFFERCHANNEL, OFFER.size, (o) => {
            new Uint8Array(o.buffer).set(guidBytes(ch.ifType), OFFER.ifType);
            new Uint8Array(o.buffer).set(guidBytes(ch.instance), OFFER.ifInstance);
            o.setUint32(OFFER.childRelid, ch.relid, true);
            // No monitor id allocated (flags bit 0 clear): the guest's vmbus_setevent then signals
            // with HvSignalEvent on connection_id instead of the monitor page's trigger bits, and
            // without a dedicated interrupt it also sets relid's bit in its send_int_page.
            o.setUint8(OFFER.flags, 0);
            o.setUint16(OFFER.isDedicatedInterrupt, 0, true);
            o.setUint32(OFFER.connectionId, ch.connectionId, true);
          });
        }
        this.send(CHANNELMSG.ALLOFFERS_DELIVERED, 8, () => {});
        return HV_STATUS.SUCCESS;
      case CHANNELMSG.GPADL_HEADER: {
        const relid = u32(GPADL_HEADER.childRelid), handle = u32(GPADL_HEADER.gpadl);
        const rangeCount = d.getUint16(GPADL_HEADER.rangeCount, true);
        const r = GPADL_HEADER.range;
        const byteCount = u32(r + GPA_RANGE.byteCount), byteOffset = u32(r + GPA_RANGE.byteOffset);
        const expected = Math.ceil((byteOffset + byteCount) / 4096);
        const pfns: number[] = [];
        for (let o = r + GPA_RANGE.pfns; o + 8 <= payload.length && pfns.length < expected; o += 8) pfns.push(Number(d.getBigUint64(o, true)));
        const g: Gpadl = { handle, relid, pfns, expected, complete: pfns.length === expected };
        if (rangeCount !== 1 || this.gpadls.has(handle)) {
          this.send(CHANNELMSG.GPADL_CREATED, GPADL_CREATED.size, (o) => { o.setUint32(GPADL_CREATED.childRelid, relid, true); o.setUint32(GPADL_CREATED.gpadl, handle, true); o.setUint32(GPADL_CREATED.status, 1, true); });
          return HV_STATUS.SUCCESS;
        }
        this.gpadls.set(handle, g);
        if (g.complete) this.gpadlCreated(g);
        return HV_STATUS.SUCCESS;
      }
      case CHANNELMSG.GPADL_BODY: {
        const g = this.gpadls.get(u32(12));
        if (!g || g.complete) return HV_STATUS.SUCCESS;
        for (let o = 16; o + 8 <= payload.length && g.pfns.length < g.expected; o += 8) g.pfns.push(Number(d.getBigUint64(o, true)));
        if (g.pfns.length === g.expected) { g.complete = true; this.gpadlCreated(g); }
        return HV_STATUS.SUCCESS;
      }
      case CHANNELMSG.OPENCHANNEL: {
        const relid = u32(OPEN_CHANNEL.childRelid), openId = u32(OPEN_CHANNEL.openId);
        const ch = this.channels.find((c) => c.relid === relid);
        const g = this.gpadls.get(u32(OPEN_CHANNEL.gpadl));
        const split = u32(OPEN_CHANNEL.downstreamPageOffset);
        let status = 0;
        if (!ch || !g || !g.complete || split < 2 || g.pfns.length - split < 2 || ch.state === "open") status = 0xc000000d; // STATUS_INVALID_PARAMETER
        else {
          // The child's outbound (send) ring comes first, then its inbound ring (hyperv.h).
          ch.outbound = new VmbusRing(this.child.memory, g.pfns.slice(0, split));
          ch.inbound = new VmbusRing(this.child.memory, g.pfns.slice(split));
          ch.gpadl = g.handle;
          ch.state = "open";
        }
        this.send(CHANNELMSG.OPENCHANNEL_RESULT, OPEN_RESULT.size, (o) => { o.setUint32(OPEN_RESULT.childRelid, relid, true); o.setUint32(OPEN_RESULT.openId, openId, true); o.setUint32(OPEN_RESULT.status, status, true); });
        return HV_STATUS.SUCCESS;
      }
      case CHANNELMSG.CLOSECHANNEL: {
        const ch = this.channels.find((c) => c.relid === u32(8));
        if (ch) { ch.state = "closed"; ch.outbound = ch.inbound = undefined; }
        return HV_STATUS.SUCCESS;
      }
      case CHANNELMSG.GPADL_TEARDOWN: {
        const handle = u32(12);
        this.gpadls.delete(handle);
        this.send(CHANNELMSG.GPADL_TORNDOWN, 12, (o) => o.setUint32(8, handle, true));
        return HV_STATUS.SUCCESS;
      }
      case CHANNELMSG.UNLOAD:
        this.version = undefined;
        this.contact = undefined;
        return HV_STATUS.SUCCESS;
      default:
        return HV_STATUS.SUCCESS; // unknown channel messages are dropped, as vmbus.sys does
    }
  }

  private gpadlCreated(g: Gpadl): void {
    this.send(CHANNELMSG.GPADL_CREATED, GPADL_CREATED.size, (o) => { o.setUint32(GPADL_CREATED.childRelid, g.relid, true); o.setUint32(GPADL_CREATED.gpadl, g.handle, true); });
  }

  /** The child signalled the channel: drain its outbound ring, complete each request. */
  serve(ch: Channel): number {
    if (ch.state !== "open" || !ch.outbound || !ch.inbound) return HV_STATUS.SUCCESS;
    // Rings and data pages are guest memory: a GPADL naming unmapped pages breaks the channel
    // (as vmbus.sys would close it), never the host.
    try { return this.serveUnchecked(ch as Channel & { outbound: VmbusRing; inbound: VmbusRing }); } catch (e) {
      ch.state = "closed";
      ch.error = e instanceof Error ? e.message : String(e);
      ch.outbound = ch.inbound = undefined;
      return HV_STATUS.SUCCESS;
    }
  }

  private serveUnchecked(ch: Channel & { outbound: VmbusRing; inbound: VmbusRing }): number {
    let signal = false;
    for (let pkt = ch.outbound.read(); pkt; pkt = ch.outbound.read()) {
      const reply = ch.vsp.handle(this.child.memory, pkt);
      if (pkt.flags & VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED || pkt.type === VM_PKT.DATA_USING_GPA_DIRECT) {
        const w = ch.inbound.write(VM_PKT.COMP, 0, pkt.transId, reply);
        signal ||= w.signal;
      }
    }
    if (signal) this.child.vp(0).synic.signal(VMBUS_MESSAGE_SINT, ch.relid);
    return HV_STATUS.SUCCESS;
  }

  toMimeBundle(): MimeBundle {
    return display(this);
  }
}
