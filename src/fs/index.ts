/** Partition tables and filesystems inside disks (issue 6, "Inside disks"). */
export * from "./errors";
export * from "./guid";
export { Partition } from "./partition";
export * from "./partition-entry";
export * from "./partition-table";
export { readMbr, MBR_TYPE_NAMES } from "./mbr";
export { readGpt, GptTable, GptHeader } from "./gpt";
export { crc32 } from "./crc32";
export * from "./filesystem";
export { FatFileSystem } from "./fat/fat-fs";
export { FatType } from "./fat/boot-sector";
export { ExtFileSystem } from "./ext/ext-fs";
export { ExtKind } from "./ext/superblock";
export * from "./mount";
export * from "./memory-device";
