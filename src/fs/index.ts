/**
 * Inside disks (issue 6): partition tables and filesystems read through any `BlockDevice`
 * (a RawImage, a VhdDisk, a domain's attached disk, a MemoryDevice).
 *
 *   const disk = mountImage("disk.vhd", { readOnly: false }); // or mountDisk(device)
 *   disk.table;                 // PartitionTable (MBR + EBR chain, or GPT) or undefined
 *   disk.fs(1).ls("/");         // the filesystem on partition 1 (FAT12/16/32 or ext2/3/4)
 *   disk.tree("/");             // first filesystem: FsTree, shows as a text/HTML tree
 *   disk.cat("/etc/motd", "utf8");
 *   disk.fs(1).copyIn("./dir", "/dir");   // FAT only; ext says EROFS
 *   disk.close();
 *
 * Every failure is an FsError with a code (ENOENT, ECORRUPT, EROFS...), the path, and for corrupt
 * structures the field and byte offset.
 */
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
