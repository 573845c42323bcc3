import { BlockDevice } from "../vhd/block-device";
import { FsError } from "./errors";
import { GptTable, hasGptSignature, readGpt } from "./gpt";
import { hasMbrSignature, MBR_SECTOR, MBR_TYPE_GPT_PROTECTIVE, mbrEntriesLookValid, parseMbrEntries, readMbr } from "./mbr";
import { Partition, readAt } from "./partition";
import { PartitionEntry } from "./partition-entry";
import { display, MimeBundle } from "../mime";

/** What was found at the start of a disk: an MBR (with EBR chain) or a GPT behind a protective MBR. */
export class PartitionTable {
  constructor(
    readonly scheme: "mbr" | "gpt",
    readonly diskSize: number,
    readonly sectorSize: number,
    readonly partitions: PartitionEntry[],
    /** MBR disk signature ("0x1234abcd") or the GPT disk GUID. */
    readonly diskId: string,
    /** GPT details (headers, whether the backup was used); undefined for MBR. */
    readonly gpt?: GptTable,
    /** GPT: whether sector 0 holds a protective MBR (type 0xEE). */
    readonly protectiveMbr = false,
  ) {}

  /** The partitions that can hold a filesystem (the MBR extended container excluded). */
  get dataPartitions(): PartitionEntry[] {
    return this.partitions.filter((p) => !p.extended);
  }

  open(dev: BlockDevice, index: number): Partition {
    const p = this.partitions.find((q) => q.index === index);
    if (!p) throw new FsError("ENOENT", `no partition ${index} (have ${this.partitions.map((q) => q.index).join(", ") || "none"})`);
    return new Partition(dev, p.start, p.size, `partition ${index}`);
  }

  toMimeBundle(): MimeBundle {
    return display(this);
  }
}

/** A GPT (or its protective MBR) at the start of the disk: it wins over any filesystem guess. */
export function looksLikeGpt(dev: BlockDevice): boolean {
  if (dev.size < 2 * MBR_SECTOR) return false;
  const sector0 = readAt(dev, 0, MBR_SECTOR, "mbr");
  const protective = hasMbrSignature(sector0) && parseMbrEntries(sector0).some((e) => e.type === MBR_TYPE_GPT_PROTECTIVE);
  return protective || hasGptSignature(dev, 512) || hasGptSignature(dev, 4096);
}

/**
 * Reads the partition table of a disk, or returns undefined when sector 0 holds none (e.g. a
 * filesystem written straight onto the disk: a FAT boot sector also ends in 55 AA, so the caller
 * checks for filesystems first). A GPT is looked for at LBA 1 with 512- and 4096-byte sectors.
 */
export function readPartitionTable(dev: BlockDevice): PartitionTable | undefined {
  if (dev.size < MBR_SECTOR) return undefined;
  const sector0 = readAt(dev, 0, MBR_SECTOR, "mbr");
  const protective = hasMbrSignature(sector0) && parseMbrEntries(sector0).some((e) => e.type === MBR_TYPE_GPT_PROTECTIVE);
  const at512 = hasGptSignature(dev, 512);
  const at4k = !at512 && hasGptSignature(dev, 4096);
  // A protective MBR whose primary header is gone still gets the backup header tried.
  if (at512 || at4k || protective) {
    const sectorSize = at4k ? 4096 : 512;
    const gpt = readGpt(dev, sectorSize);
    return new PartitionTable("gpt", dev.size, sectorSize, gpt.partitions, gpt.header.diskGuid, gpt, protective);
  }
  if (!hasMbrSignature(sector0) || !mbrEntriesLookValid(sector0)) return undefined;
  const mbr = readMbr(dev);
  return new PartitionTable("mbr", dev.size, MBR_SECTOR, mbr.partitions, mbr.diskId);
}
