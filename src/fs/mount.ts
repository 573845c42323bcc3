import { BlockDevice } from "../vhd/block-device";
import { ImageFormat, openImage } from "../vhd/image";
import { display, MimeBundle } from "../mime";
import { FsError } from "./errors";
import { ExtFileSystem } from "./ext/ext-fs";
import { looksLikeExt, SUPERBLOCK_OFFSET } from "./ext/superblock";
import { looksLikeFat } from "./fat/boot-sector";
import { FatFileSystem } from "./fat/fat-fs";
import { FileStat, FileSystem, FsOptions, FsTree, TreeOptions } from "./filesystem";
import { Partition, readAt } from "./partition";
import { PartitionEntry } from "./partition-entry";
import { looksLikeGpt, PartitionTable, readPartitionTable } from "./partition-table";

/**
 * Opens the filesystem that starts at byte 0 of `dev`, or returns undefined when there is none we
 * know. Recognised: ext2/3/4 (magic 0xEF53 at byte 1080) and FAT12/16/32 (a boot sector whose BPB
 * makes sense). A recognised but broken filesystem throws its FsError.
 */
export function openFileSystem(dev: BlockDevice, options: FsOptions = {}): FileSystem | undefined {
  if (dev.size >= SUPERBLOCK_OFFSET + 1024 && looksLikeExt(readAt(dev, SUPERBLOCK_OFFSET, 1024, "ext.superblock"))) return ExtFileSystem.open(dev);
  if (dev.size >= 512 && looksLikeFat(readAt(dev, 0, 512, "fat.boot_sector"))) return FatFileSystem.open(dev, options);
  return undefined;
}

/** One place a filesystem may live: the whole disk or one partition. */
export interface Volume {
  partition?: PartitionEntry;
  device: BlockDevice;
  fs?: FileSystem;
  /** Why the filesystem could not be opened (corrupt, unsupported). */
  error?: FsError;
}

/** A disk looked inside: its partition table (if any) and the filesystems found on it. */
export class MountedDisk {
  constructor(
    readonly device: BlockDevice,
    readonly table: PartitionTable | undefined,
    readonly volumes: Volume[],
  ) {}

  /** The filesystem on partition `index`, or (without an index) the first one found. */
  fs(index?: number): FileSystem {
    const v = index === undefined ? this.volumes.find((q) => q.fs) : this.volumes.find((q) => q.partition?.index === index);
    if (!v) throw new FsError("ENOENT", index === undefined ? "no filesystem on this disk" : `no partition ${index}`);
    if (!v.fs) throw v.error ?? new FsError("ENOFS", `no filesystem recognised on partition ${index}`);
    return v.fs;
  }

  get filesystems(): FileSystem[] {
    return this.volumes.flatMap((v) => (v.fs ? [v.fs] : []));
  }

  // The verbs of the first filesystem, so a one-filesystem disk reads like the filesystem itself.
  ls(path = "/"): FileStat[] {
    return this.fs().ls(path);
  }
  tree(path = "/", options?: TreeOptions): FsTree {
    return this.fs().tree(path, options);
  }
  stat(path: string): FileStat {
    return this.fs().stat(path);
  }
  cat(path: string): Uint8Array;
  cat(path: string, encoding: BufferEncoding): string;
  cat(path: string, encoding?: BufferEncoding): Uint8Array | string {
    return encoding ? this.fs().cat(path, encoding) : this.fs().cat(path);
  }
  copyOut(path: string, hostPath: string): number {
    return this.fs().copyOut(path, hostPath);
  }
  copyIn(hostPath: string, path: string): number {
    return this.fs().copyIn(hostPath, path);
  }

  /** Flushes and closes the underlying disk. */
  close(): void {
    this.device.flush();
    this.device.close();
  }

  toMimeBundle(): MimeBundle {
    return display(this);
  }
}

/**
 * Looks inside a disk: a filesystem written straight on it, or a partition table (MBR with its
 * logical partitions, or GPT) and then a filesystem per partition. Partitions whose filesystem is
 * broken or unknown are listed with the reason; ENOFS only when nothing at all is recognised.
 */
export function mountDisk(device: BlockDevice, options: FsOptions = {}): MountedDisk {
  // A GPT is unambiguous; an MBR is not (a FAT boot sector also ends in 55 AA and its "partition
  // table" bytes are boot code), so without a GPT a filesystem at byte 0 is looked for first.
  if (!looksLikeGpt(device)) {
    const whole = openFileSystem(device, options);
    if (whole) return new MountedDisk(device, undefined, [{ device, fs: whole }]);
  }
  const table = readPartitionTable(device);
  if (!table) throw new FsError("ENOFS", `no filesystem or partition table recognised on the disk (${device.size} bytes)`);
  const volumes: Volume[] = table.dataPartitions.map((p) => {
    const dev = new Partition(device, p.start, p.size, `partition ${p.index}`);
    try {
      const fs = openFileSystem(dev, options);
      return fs ? { partition: p, device: dev, fs } : { partition: p, device: dev };
    } catch (e) {
      if (!(e instanceof FsError)) throw e;
      return { partition: p, device: dev, error: e };
    }
  });
  return new MountedDisk(device, table, volumes);
}

/**
 * Opens an image file (a VHD, fixed/dynamic/differencing, or a raw image: probed by the VHD
 * footer cookie) and looks inside it. The disk stays open for copyIn; `close()` it when done.
 */
export function mountImage(path: string, options: FsOptions & { readOnly?: boolean; format?: ImageFormat | "auto" } = {}): MountedDisk {
  const dev = openImage(path, options.format ?? "auto", { readOnly: options.readOnly ?? true });
  try {
    return mountDisk(dev, options);
  } catch (e) {
    dev.close();
    throw e;
  }
}
