/**
 * Virtual device names → blkif device ids, as libxl__device_disk_dev_number does it
 * (docs/man/xen-vbd-interface.7.pandoc): xvdX(N) is 202<<8 | disk<<4 | part for disks 0..15 and
 * partitions 0..15, else the extended form 1<<28 | disk<<8 | part; sdX is 8<<8 | disk<<4 | part;
 * hda/hdb are 3<<8 | disk<<6 | part and hdc/hdd 22<<8 | (disk−2)<<6 | part. A plain decimal is a
 * device id already.
 */
import { BlkbackError } from "./errors";

/** A blkif virtual device id (the <devid> in device/vbd/<devid>). */
export type DevId = number & { readonly __brand: "DevId" };

const XEN_EXTENDED = 1 << 28;

/** Disk letters: a..z, then aa..zz... (bijective base 26, as in Linux's sd naming). */
function diskIndex(letters: string): number {
  let n = 0;
  for (const ch of letters) n = n * 26 + (ch.charCodeAt(0) - 96);
  return n - 1;
}

export interface ParsedVdev {
  devid: DevId;
  /** The disk and partition the name names (partition 0 = the whole disk). */
  disk: number;
  partition: number;
}

/** Parses a vdev ("xvda", "xvdb3", "hdc", "sda1", "51712", "d0p0"); throws BlkbackError naming the problem. */
export function parseVdev(vdev: string): ParsedVdev {
  if (/^\d+$/.test(vdev)) {
    const n = Number(vdev);
    if (n <= 0 || n >= 2 ** 31) throw new BlkbackError("vdev", `device number ${vdev} is out of range`);
    return { devid: n as DevId, ...split(n) };
  }
  let m = /^d(\d+)(?:p(\d+))?$/.exec(vdev);
  let kind: string, disk: number, part: number;
  if (m) { kind = "xvd"; disk = Number(m[1]); part = Number(m[2] ?? 0); }
  else {
    m = /^(xvd|hd|sd)([a-z]+)(\d*)$/.exec(vdev);
    if (!m) throw new BlkbackError("vdev", `"${vdev}" is not a virtual device name (xvda, hdc, sda1, d0p1 or a number)`);
    kind = m[1]!; disk = diskIndex(m[2]!); part = m[3] ? Number(m[3]) : 0;
  }
  let devid: number;
  if (kind === "xvd") {
    if (disk < 16 && part < 16) devid = (202 << 8) | (disk << 4) | part;
    else if (disk < 1 << 20 && part < 256) devid = XEN_EXTENDED | (disk << 8) | part;
    else throw new BlkbackError("vdev", `${vdev}: disk ${disk} partition ${part} beyond the extended xvd range (disk < 2^20, partition < 256)`);
  } else if (kind === "sd") {
    if (disk >= 16 || part >= 16) throw new BlkbackError("vdev", `${vdev}: sd disks are a..p with partitions 0..15`);
    devid = (8 << 8) | (disk << 4) | part;
  } else {
    if (disk >= 4 || part >= 64) throw new BlkbackError("vdev", `${vdev}: hd disks are a..d with partitions 0..63`);
    devid = disk < 2 ? (3 << 8) | (disk << 6) | part : (22 << 8) | ((disk - 2) << 6) | part;
  }
  return { devid: devid as DevId, disk, partition: part };
}

function split(n: number): { disk: number; partition: number } {
  if (n & XEN_EXTENDED) return { disk: (n >> 8) & 0xfffff, partition: n & 0xff };
  const major = n >> 8;
  if (major === 202 || major === 8) return { disk: (n >> 4) & 0xf, partition: n & 0xf };
  if (major === 3) return { disk: (n >> 6) & 3, partition: n & 63 };
  if (major === 22) return { disk: 2 + ((n >> 6) & 3), partition: n & 63 };
  return { disk: 0, partition: 0 };
}
