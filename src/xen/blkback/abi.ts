/**
 * The blkif ABI: the shared ring (public io/ring.h), block requests and responses (io/blkif.h),
 * xenbus states (io/xenbus.h). Offsets are the x86_64 layout ("x86_64-abi"), checked against
 * Debian's libxen-dev headers with offsetof in tests/xen/blkback.test.ts.
 */

/** io/blkif.h operations. */
export const BLKIF_OP = {
  READ: 0, WRITE: 1, WRITE_BARRIER: 2, FLUSH_DISKCACHE: 3, RESERVED_1: 4, DISCARD: 5, INDIRECT: 6,
} as const;
export const BLKIF_OP_NAMES: Record<number, string> = Object.fromEntries(Object.entries(BLKIF_OP).map(([k, v]) => [v, k]));
/** io/blkif.h: segments in one direct request. */
export const BLKIF_MAX_SEGMENTS_PER_REQUEST = 11;
/** io/blkif.h status codes. */
export const BLKIF_RSP_OKAY = 0, BLKIF_RSP_ERROR = -1, BLKIF_RSP_EOPNOTSUPP = -2;
/** io/blkif.h `info` bits. */
export const VDISK_CDROM = 0x1, VDISK_REMOVABLE = 0x2, VDISK_READONLY = 0x4;
/** blkif sector numbers and first_sect/last_sect are always in 512-byte units (blkif.h). */
export const BLKIF_SECTOR = 512;
/** Sectors in one granted 4 KiB frame: first_sect/last_sect are 0..7. */
export const SECTORS_PER_PAGE = 4096 / BLKIF_SECTOR;

/** io/ring.h shared ring header (struct blkif_sring) and entries from offset 64. */
export const SRING = { req_prod: 0, req_event: 4, rsp_prod: 8, rsp_event: 12, ring: 64 } as const;
/** union blkif_sring_entry: sizeof(struct blkif_request) = 112. */
export const BLKIF_ENTRY_SIZE = 112;
/** __RING_SIZE: the largest power of two ≤ (4096 − 64) / 112 = 36 → 32. */
export const BLKIF_RING_SIZE = 1 << Math.floor(Math.log2((4096 - SRING.ring) / BLKIF_ENTRY_SIZE));

/** struct blkif_request (112 bytes) and struct blkif_request_segment (8 bytes). */
export const REQ = { operation: 0, nr_segments: 1, handle: 2, id: 8, sector_number: 16, seg: 24, size: 112 } as const;
export const SEG = { gref: 0, first_sect: 4, last_sect: 5, size: 8 } as const;
/** struct blkif_response (16 bytes). */
export const RSP = { id: 0, operation: 8, status: 10, size: 16 } as const;

/** io/xenbus.h enum xenbus_state. */
export const XenbusState = {
  Unknown: 0, Initialising: 1, InitWait: 2, Initialised: 3, Connected: 4, Closing: 5, Closed: 6, Reconfiguring: 7, Reconfigured: 8,
} as const;
export type XenbusStateName = keyof typeof XenbusState;
export const XENBUS_STATE_NAMES: Record<number, XenbusStateName> = Object.fromEntries(Object.entries(XenbusState).map(([k, v]) => [v, k])) as Record<number, XenbusStateName>;

/** The protocol string a 64-bit x86 frontend writes (io/protocols.h XEN_IO_PROTO_ABI_X86_64). */
export const XEN_IO_PROTO_ABI_X86_64 = "x86_64-abi";
