/**
 * The VHD library (Microsoft Virtual Hard Disk Image Format Specification v1.0).
 *
 *   VhdDisk.open(path, {readOnly?, sizeMode?, noParent?, parentPath?})   fixed / dynamic / differencing
 *   createVhd(path, {type, size, blockSize?, sizePolicy?})                 new fixed or dynamic disk
 *   createDifferencing(child, parent)                                      snapshot
 *   checkVhd(path, {repair?}) -> CheckReport (result 0 / 2 / 3)            vhd-util check, reimplemented
 *   mapVhd(disk) -> Extent[]; vhdInfo(disk) -> VhdInfo
 *   convertImage / convertImageAsync, compactVhd, resizeVhd, coalesceVhd, rebaseVhd
 *   VhdFormatError (field + offset) for bad input, VhdUsageError for bad requests.
 * Every VhdDisk is a BlockDevice and shows itself with toMimeBundle() (text + SVG).
 */
export * from "./block-device";
export * from "./block-file";
export * from "./constants";
export * from "./errors";
export * from "./finding";
export * from "./footer";
export * from "./dynamic-header";
export * from "./parent-locator";
export * from "./geometry";
export * from "./raw-image";
export * from "./vhd-disk";
export * from "./create";
export * from "./check";
export * from "./map";
export * from "./image";
export * from "./convert";
export * from "./rewrite";
export * from "./resize";
export * from "./coalesce";
export * from "./own-data";
export * from "./size";
export * from "./info";
export { formatUuid } from "./uuid";
export * from "./convert-async";
export * from "./qemu-json";
export * from "./microsoft-layout";
export * from "./cache-mode";
export * from "./measure";
export * from "./image-lock";
export * from "./block-status";
export * from "./compare";
export * from "./file-extents";
export * from "./progress";
export * from "./blktap";
