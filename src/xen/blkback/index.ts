/** dom0's block backend: blkif over XenStore, a granted ring and an event channel, serving BlockDevices. */
export * from "./abi";
export { parseVdev } from "./devid";
export type { DevId, ParsedVdev } from "./devid";
export { BlkbackError } from "./errors";
export { resolveDisk } from "./spec";
export type { ResolvedDisk, BackendKind } from "./spec";
export { BlkifBackRing } from "./ring";
export type { BlkifRequest, BlkifResponse } from "./ring";
export { Vbd } from "./vbd";
export type { VbdStats, InflightRequest, CompletedRequest } from "./vbd";
export { attachDisk, attachBackendDisk, xenBackendHost, backendDisks, attachConfiguredDisks, detachDisk, findDisk, listDisks, xlBlockList, runBlockXl } from "./blkback";
export type { AttachOptions, BlockXlResult } from "./blkback";
export { ringSnapshot } from "./ring-snapshot";
export type { RingSnapshot, RingSlot, SlotState } from "./ring-snapshot";
export type { BackendHost, FrontendDomain } from "./backend-host";
