/**
 * Constants of the Virtual Hard Disk Image Format Specification v1.0 (Microsoft, Oct 2006,
 * "Hard Disk Footer Format", "Dynamic Disk Header Format"), cross-checked against qemu
 * block/vpc.c and xapi-project/blktap include/vhd.h.
 */
export const SECTOR = 512;
export const FOOTER_SIZE = 512;
export const HEADER_SIZE = 1024;

export const FOOTER_COOKIE = "conectix";
export const HEADER_COOKIE = "cxsparse";

/** Footer "Features": bit 1 is reserved and must always be set (spec). Bit 0: temporary disk. */
export const FEATURE_TEMPORARY = 0x1;
export const FEATURE_RESERVED = 0x2;
/** Footer "File Format Version" and header "Header Version" (major 1, minor 0). */
export const FORMAT_VERSION = 0x00010000;
export const HEADER_VERSION = 0x00010000;

/** Footer "Disk Type" values (spec table; 1, 5, 6 are deprecated/reserved). */
export enum DiskType {
  None = 0,
  Fixed = 2,
  Dynamic = 3,
  Differencing = 4,
}

/** Fixed disks: "Data Offset" is unused; tools write all 64 bits set (qemu vpc.c: MS tools expect it). */
export const FIXED_DATA_OFFSET = 0xffffffffffffffffn;
/** Dynamic header "Data Offset": unused, all bits set. */
export const HEADER_DATA_OFFSET = 0xffffffffffffffffn;
/** BAT entry of an unallocated block. */
export const BAT_UNUSED = 0xffffffff;

/** VHD timestamps count seconds from 2000-01-01T00:00:00Z. */
export const VHD_EPOCH_UNIX = 946684800;

/** Creator host OS codes ("Wi2k", "Mac "). */
export const HOST_OS_WINDOWS = 0x5769326b;
export const HOST_OS_MAC = 0x4d616320;

/** What XenLab writes as creator application and version (major.minor, like qemu's 5.3). */
export const XENLAB_CREATOR_APP = "xlab";
export const XENLAB_CREATOR_VERSION = 0x00010000;

/** The CHS geometry limit 65535/16/255; qemu writes it with force_size to mean "use current size". */
export const MAX_CHS_SECTORS = 65535 * 16 * 255;
/** Largest VHD: 2040 GiB (spec: "maximum size is 2040 GB"; qemu VHD_MAX_SECTORS). */
export const MAX_VHD_SIZE = 2040 * 1024 * 1024 * 1024;
export const DEFAULT_BLOCK_SIZE = 2 * 1024 * 1024;

/** Parent locator platform codes (spec "Parent Locator Entry"). */
export const PLATFORM = {
  None: 0,
  Wi2r: 0x57693272, // deprecated: relative path, single-byte
  Wi2k: 0x5769326b, // deprecated: absolute path, single-byte
  W2ru: 0x57327275, // relative path, UTF-16 (LE in practice)
  W2ku: 0x57326b75, // absolute path, UTF-16 (LE in practice)
  Mac: 0x4d616320, // Mac OS alias blob
  MacX: 0x4d616358, // file:// URL, UTF-8
} as const;
export const PARENT_LOCATOR_COUNT = 8;
export const PARENT_NAME_BYTES = 512;

/** Longest parent chain we follow before calling it a loop. */
export const MAX_CHAIN_DEPTH = 64;
