/**
 * The Hyper-V host personality (Windows Server "Longhorn"): TLFS partitions, hypercalls, synthetic
 * MSRs/CPUID, SynIC, VMBus with a storage VSP, and Virtual Server 2005 .vmc import.
 *
 *   const h = new HypervHost({ lps: 2 });
 *   const p = h.createChild({ name: "linux", memoryMiB: 16, elf });   // TLFS calls from the root
 *   h.run({ until: () => p.console.includes("done") });
 *   p.toMimeBundle(); h.toMimeBundle();
 */
export { HypervHost, CHILD_LAYOUT, HV_VERSION } from "./host";
export type { HypervHostOptions, HvTraceRecord, HvRunOptions, HvRunResult, Connection, ChildOptions } from "./host";
export { Partition, VirtualProcessor } from "./partition";
export { Synic } from "./synic";
export type { HvMessage } from "./synic";
export { HypervError } from "./errors";
export { decodeInput, encodeInput, encodeResult, decodeResult } from "./hypercall-abi";
export { CALLS, REPS_PER_ENTRY } from "./hypercalls";
export * from "./tlfs";
export { VmbusServer } from "./vmbus";
export type { Channel, Gpadl } from "./vmbus";
export { VmbusRing } from "./ring";
export { StorageVsp } from "./storvsp";
export * from "./vmbus-abi";
export { parseVmc, readVmc, resolveVmcDisks, vmcToXlConfig, decodeVmc, VmcError } from "./vmc";
export type { VmcConfig, VmcDisk, VmcNic, ResolvedDisk, VmcImport } from "./vmc";
export { parseXml, XmlError } from "./xml";
export { currentHypervHost, setCurrentHypervHost } from "./current";
export { XenAdapter, XEN_ADAPTER_CPUID_BASE, XEN_ADAPTER_HYPERCALL_MSR, XEN_CONSOLE_CONNECTION_ID } from "./xen-adapter";
export type { Translation } from "./xen-adapter";
