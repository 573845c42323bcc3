/**
 * HV_X64_MSR_GUEST_OS_ID, the identity a guest reports before it may enable the hypercall page
 * (TLFS 6.0 §2.6 "Reporting the Guest OS Identity", §3.13). Two encodings, told apart by bit 63:
 * - proprietary (bit 63 clear): vendor id 62:48 (Microsoft = 0x0001), OS id 47:40 (Windows NT and
 *   derivatives = 4), major version 39:32, minor 31:24, service version 23:16, build number 15:0;
 * - open source (bit 63 set): OS type 62:56 (Linux 1, FreeBSD 2, Xen 3, Illumos 4), OS id 55:48,
 *   version 47:16, build 15:0. Linux writes it as HV_LINUX_VENDOR_ID 0x8100 << 48 | kernel version
 *   << 16 (include/asm-generic/mshyperv.h hv_generate_guest_id).
 */

/** Vendor ids of the proprietary encoding (TLFS §2.6). */
export const GUEST_OS_VENDOR = { MICROSOFT: 0x0001, HPE: 0x0002, LANCOM: 0x0200 } as const;
/** OS ids of Microsoft's proprietary encoding (TLFS §2.6). */
export const MICROSOFT_OS_ID = { UNDEFINED: 0, MSDOS: 1, WINDOWS_3X: 2, WINDOWS_9X: 3, WINDOWS_NT: 4, WINDOWS_CE: 5 } as const;
/** OS types of the open-source encoding (TLFS §2.6). */
export const OPEN_SOURCE_OS_TYPE = { UNDEFINED: 0, LINUX: 1, FREEBSD: 2, XEN: 3, ILLUMOS: 4 } as const;
/** Linux's vendor field: bit 63 (open source) | OS type Linux (asm-generic/hyperv-tlfs.h HV_LINUX_VENDOR_ID). */
export const HV_LINUX_VENDOR_ID = 0x8100;

export interface ProprietaryGuestOsId {
  vendor: number;
  osId: number;
  major: number;
  minor: number;
  servicePack: number;
  build: number;
}

/** The proprietary encoding (what Windows writes). */
export function proprietaryGuestOsId(v: ProprietaryGuestOsId): bigint {
  return (BigInt(v.vendor & 0x7fff) << 48n) | (BigInt(v.osId & 0xff) << 40n) | (BigInt(v.major & 0xff) << 32n) |
    (BigInt(v.minor & 0xff) << 24n) | (BigInt(v.servicePack & 0xff) << 16n) | BigInt(v.build & 0xffff);
}

/** Windows Server 2008 SP1 (NT 6.0 build 6001), the Longhorn release, as its guest OS id. */
export const WINDOWS_SERVER_2008_GUEST_OS_ID = proprietaryGuestOsId({
  vendor: GUEST_OS_VENDOR.MICROSOFT, osId: MICROSOFT_OS_ID.WINDOWS_NT, major: 6, minor: 0, servicePack: 1, build: 6001,
});

export type DecodedGuestOsId =
  | { kind: "none" }
  | ({ kind: "proprietary"; vendorName: string; osName: string } & ProprietaryGuestOsId)
  | { kind: "open-source"; osType: number; osTypeName: string; osId: number; version: number; build: number };

const name = (table: Record<string, number>, v: number) =>
  Object.entries(table).find(([, x]) => x === v)?.[0] ?? `0x${v.toString(16)}`;

export function decodeGuestOsId(id: bigint): DecodedGuestOsId {
  if (id === 0n) return { kind: "none" };
  const f = (hi: bigint, lo: bigint) => Number((id >> lo) & ((1n << (hi - lo + 1n)) - 1n));
  if (id >> 63n) {
    const osType = f(62n, 56n);
    return { kind: "open-source", osType, osTypeName: name(OPEN_SOURCE_OS_TYPE, osType), osId: f(55n, 48n), version: f(47n, 16n), build: f(15n, 0n) };
  }
  const vendor = f(62n, 48n), osId = f(47n, 40n);
  return {
    kind: "proprietary", vendor, vendorName: name(GUEST_OS_VENDOR, vendor), osId, osName: name(MICROSOFT_OS_ID, osId),
    major: f(39n, 32n), minor: f(31n, 24n), servicePack: f(23n, 16n), build: f(15n, 0n),
  };
}

/** One line for views: "MICROSOFT WINDOWS_NT 6.0 SP1 build 6001", "open source LINUX version 0x20600". */
export function describeGuestOsId(id: bigint): string {
  const d = decodeGuestOsId(id);
  switch (d.kind) {
    case "none": return "not set";
    case "proprietary": return `${d.vendorName} ${d.osName} ${d.major}.${d.minor} SP${d.servicePack} build ${d.build}`;
    case "open-source": {
      // Linux puts its kernel version in 47:16 as major << 16 | minor << 8 | sublevel.
      const v = d.osType === OPEN_SOURCE_OS_TYPE.LINUX ? `${d.version >> 16}.${(d.version >> 8) & 0xff}.${d.version & 0xff}` : `0x${d.version.toString(16)}`;
      return `open source ${d.osTypeName} ${v}`;
    }
  }
}
