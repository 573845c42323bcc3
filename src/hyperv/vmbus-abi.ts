/**
 * VMBus layouts from Linux's include/linux/hyperv.h (all __packed) and drivers/hv/hyperv_vmbus.h.
 * Offsets are byte offsets in the channel message payload (which starts with
 * vmbus_channel_message_header {u32 msgtype; u32 padding}).
 */
import { connectionId } from "./ids";
export const CHANNELMSG = {
  OFFERCHANNEL: 1, RESCIND_CHANNELOFFER: 2, REQUESTOFFERS: 3, ALLOFFERS_DELIVERED: 4, OPENCHANNEL: 5,
  OPENCHANNEL_RESULT: 6, CLOSECHANNEL: 7, GPADL_HEADER: 8, GPADL_BODY: 9, GPADL_CREATED: 10,
  GPADL_TEARDOWN: 11, GPADL_TORNDOWN: 12, RELID_RELEASED: 13, INITIATE_CONTACT: 14, VERSION_RESPONSE: 15, UNLOAD: 16,
} as const;
export const CHANNELMSG_NAMES: Record<number, string> = Object.fromEntries(Object.entries(CHANNELMSG).map(([k, v]) => [v, k]));

/**
 * VMBus protocol versions (include/linux/hyperv.h VERSION_*; major << 16 | minor). Windows Server
 * 2008 (Longhorn) speaks 0.13; 2008 R2 (Windows 7) added 1.1; Windows Server 2012 (Windows 8)
 * added 2.4. Linux listed WS2008 and WIN7 until 5.16; from 5.17 drivers/hv/connection.c's
 * vmbus_versions[] ends at VERSION_WIN8 ("VERSION_WIN7 and VERSION_WS2008 are no longer supported
 * in Linux guests and are not listed"), so Debian 12's 6.1 cannot talk to a 2008 host.
 */
export const VMBUS_VERSION = { WS2008: (0 << 16) | 13, WIN7: (1 << 16) | 1, WIN8: (2 << 16) | 4 } as const;
export type VmbusVersion = (typeof VMBUS_VERSION)[keyof typeof VMBUS_VERSION];
/** What the Longhorn host offers by default: the 2008 host's versions (0.13) and 2008 R2's (1.1). */
export const LONGHORN_VMBUS_VERSIONS: readonly VmbusVersion[] = [VMBUS_VERSION.WS2008, VMBUS_VERSION.WIN7];
export function vmbusVersionName(v: number): string { return `${v >>> 16}.${v & 0xffff}`; }
/**
 * Connection id a WS2008 guest signals every channel on (hyperv_vmbus.h VMBUS_EVENT_CONNECTION_ID);
 * from WIN7 on it signals the offer's connection_id (channel_mgmt.c vmbus_setup_channel_state).
 */
export const VMBUS_EVENT_CONNECTION_ID = connectionId(2);
/** Connection id of the VMBus message port before protocol 5.0 (hyperv_vmbus.h VMBUS_MESSAGE_CONNECTION_ID). */
export const VMBUS_MESSAGE_CONNECTION_ID = connectionId(1);
/** SINT the guest's VMBus driver listens on (hyperv_vmbus.h VMBUS_MESSAGE_SINT). */
export const VMBUS_MESSAGE_SINT = 2;
/** The message type VMBus uses with HvPostMessage (vmbus_post_msg passes 1). */
export const VMBUS_MESSAGE_TYPE = 1;

export const INITIATE_CONTACT = { version: 8, targetVcpu: 12, interruptPage: 16, monitor1: 24, monitor2: 32, size: 40 } as const;
export const VERSION_RESPONSE = { supported: 8, connectionState: 9, msgConnId: 12, size: 16 } as const;
/** vmbus_channel_offer_channel: header, vmbus_channel_offer (176 bytes) @8, child_relid @184 ... */
export const OFFER = {
  ifType: 8, ifInstance: 24, chnFlags: 56, mmioMegabytes: 58, userDefined: 60, subChannelIndex: 180,
  childRelid: 184, monitorId: 188, flags: 189, isDedicatedInterrupt: 190, connectionId: 192, size: 196,
} as const;
export const GPADL_HEADER = { childRelid: 8, gpadl: 12, rangeBufLen: 16, rangeCount: 18, range: 20 } as const;
/** struct gpa_range: byte_count u32, byte_offset u32, pfn_array u64[] */
export const GPA_RANGE = { byteCount: 0, byteOffset: 4, pfns: 8 } as const;
export const GPADL_CREATED = { childRelid: 8, gpadl: 12, status: 16, size: 20 } as const;
export const OPEN_CHANNEL = { childRelid: 8, openId: 12, gpadl: 16, targetVp: 20, downstreamPageOffset: 24, userData: 28, size: 148 } as const;
export const OPEN_RESULT = { childRelid: 8, openId: 12, status: 16, size: 20 } as const;

/** struct hv_ring_buffer: indices in the first page, data from 4096 on. */
export const RING = { writeIndex: 0, readIndex: 4, interruptMask: 8, pendingSendSz: 12, featureBits: 64, data: 4096 } as const;
/** struct vmpacket_descriptor (16 bytes) and packet types (enum vmbus_packet_type). */
export const VMPACKET = { type: 0, offset8: 2, len8: 4, flags: 6, transId: 8, size: 16 } as const;
export const VM_PKT = { DATA_INBAND: 6, DATA_USING_GPA_DIRECT: 9, COMP: 0xb } as const;
export const VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED = 1;

/** Device class GUIDs (hyperv.h HV_SCSI_GUID, HV_IDE_GUID). */
export const HV_SCSI_GUID = "ba6163d9-04a1-4d29-b605-72e2ffb1dc7f";
export const HV_IDE_GUID = "32412632-86cb-44a2-9b5c-50d1417354f5";

/** GUIDs are stored as in Windows: Data1..3 little-endian, Data4 as bytes. */
export function guidBytes(g: string): Uint8Array {
  const h = g.replace(/-/g, "");
  if (!/^[0-9a-fA-F]{32}$/.test(h)) throw new RangeError(`bad GUID ${g}`);
  const b = Buffer.from(h, "hex");
  const out = Buffer.alloc(16);
  out.writeUInt32LE(b.readUInt32BE(0), 0);
  out.writeUInt16LE(b.readUInt16BE(4), 4);
  out.writeUInt16LE(b.readUInt16BE(6), 6);
  b.copy(out, 8, 8, 16);
  return new Uint8Array(out);
}
export function guidString(b: Uint8Array): string {
  const x = Buffer.from(b);
  const h = (n: number, w: number) => n.toString(16).padStart(w, "0");
  return `${h(x.readUInt32LE(0), 8)}-${h(x.readUInt16LE(4), 4)}-${h(x.readUInt16LE(6), 4)}-${x.subarray(8, 10).toString("hex")}-${x.subarray(10, 16).toString("hex")}`;
}

/** storvsc protocol (drivers/scsi/storvsc_drv.c): struct vstor_packet and vmscsi_request (packed). */
export const VSTOR_OPERATION = {
  COMPLETE_IO: 1, REMOVE_DEVICE: 2, EXECUTE_SRB: 3, RESET_LUN: 4, RESET_ADAPTER: 5, RESET_BUS: 6,
  BEGIN_INITIALIZATION: 7, END_INITIALIZATION: 8, QUERY_PROTOCOL_VERSION: 9, QUERY_PROPERTIES: 10,
} as const;
export const VSTOR_PACKET = { operation: 0, flags: 4, status: 8, payload: 12 } as const;
export const VMSCSI = {
  length: 0, srbStatus: 2, scsiStatus: 3, portNumber: 4, pathId: 5, targetId: 6, lun: 7, cdbLength: 8,
  senseInfoLength: 9, dataIn: 10, dataTransferLength: 12, cdb: 16, size: 36,
} as const;
export const SRB_STATUS = { SUCCESS: 0x01, ERROR: 0x04, INVALID_REQUEST: 0x06 } as const;
/** Size of the pre-Win8 vstor_packet (12-byte header + 36-byte vmscsi_request). */
export const VSTOR_PACKET_SIZE = VSTOR_PACKET.payload + VMSCSI.size;
export const SCSI = { TEST_UNIT_READY: 0x00, INQUIRY: 0x12, READ_CAPACITY_10: 0x25, READ_10: 0x28, WRITE_10: 0x2a } as const;
export const SAM_STAT = { GOOD: 0, CHECK_CONDITION: 2 } as const;
