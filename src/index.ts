/** The XenLab library: everything a notebook cell (or any Node program) can use without Jupyter. */
export * from "./render/mime";
export { memoryMap, MemoryMap } from "./render/memmap";
export type { MemoryMapOptions } from "./render/memmap";
export { ProgressView } from "./render/progress";
export type { ProgressState } from "./render/progress";
export * from "./interrupt";
export * from "./machine";
export * from "./vhd";
export * from "./fs";
export * from "./xen";
// Both the machine and Xen's ABI name DOMID_INVALID (xen/include/public/xen.h: 0x7ff4); one export.
export { DOMID_INVALID } from "./machine";
