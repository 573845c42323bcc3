import { Guid } from "./guid";

/** One partition as found in an MBR/EBR chain or a GPT entry array. */
export interface PartitionEntry {
  /** Linux numbering: MBR primaries 1-4, logicals from 5; GPT entries by slot + 1. */
  index: number;
  scheme: "mbr" | "gpt";
  startLba: number;
  sectors: number;
  /** Byte offset and length on the disk. */
  start: number;
  size: number;
  /** MBR: "0x83"; GPT: the type GUID. */
  type: string;
  typeName: string;
  bootable?: boolean;
  /** MBR: a logical partition inside the extended one. */
  logical?: boolean;
  /** MBR: the extended partition itself (a container, not a filesystem). */
  extended?: boolean;
  /** GPT: the partition's unique GUID, its UTF-16 name and attribute bits. */
  uuid?: Guid;
  name?: string;
  attributes?: bigint;
}
