import "./render/register"; // every view registered with the MIME layer (models never import src/render)
/** The XenLab library: everything a notebook cell (or any Node program) can use without Jupyter. */
export * from "./render/mime";
export { memoryMap, MemoryMap } from "./render/memmap";
export type { MemoryMapOptions } from "./render/memmap";
export { ProgressView } from "./render/progress";
export { barChart, BarChart } from "./render/bar-chart";
export type { BarRow } from "./render/bar-chart";
export type { ProgressState } from "./render/progress";
export * from "./interrupt";
export * from "./machine";
export * from "./vhd";
export * from "./fs";
export * from "./xen";
export * from "./hyperv";
export * from "./guests";
// Both the machine and Xen's ABI name DOMID_INVALID (xen/include/public/xen.h: 0x7ff4); one export.
export { DOMID_INVALID } from "./machine";
// A disk partition (src/fs) and a Hyper-V partition (src/hyperv) share a name; the disk one keeps it.
export { Partition } from "./fs";
export { Partition as HypervPartition } from "./hyperv";
