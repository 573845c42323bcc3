/**
 * The Hyper-V host personality (Windows Server "Longhorn"), after Microsoft's TLFS:
 *
 *   const h = new HypervHost({ lps: 2 });              // root partition "Windows Server Longhorn"
 *   const p = h.createChild({ name: "sles10", memoryMiB: 16, elf });   // HvCreatePartition,
 *       // HvDepositMemory, HvInitializePartition, HvMapGpaPages, HvCreateVp, HvSetVpRegisters
 *   h.attachDisk(p, VhdDisk.open("disk.vhd"));         // a storvsp channel offered on VMBus
 *   h.run({ until: () => p.console.includes("done") }); // deterministic virtual time, in slices
 *   h.rootCall(HVCALL.GET_MEMORY_BALANCE, input, { outSize: 16 });   // any call, as the root
 *   p.toMimeBundle(); h.toMimeBundle(); h.vmbus(p).toMimeBundle();   // partitions, SynIC, rings
 *
 * Xen-enabled guests: createChild({ xenAdapter: true, code }) or createChild({ pvh: elf, cmdline })
 * puts Xen's CPUID leaves at 0x40000100 and translates Xen hypercalls (console, XenStore, event
 * channels, timer, shutdown) into Hyper-V operations; p.xenAdapter.toMimeBundle() is the table.
 * A Windows-style child: createChild({ code: <WINDOWS_STYLE_GUEST_ASM assembled> }) reports a
 * Microsoft GuestOsId, calls through the hypercall page, reads the reference counter and TSC page,
 * takes SynIC messages (a timer, vmbus' VERSION_RESPONSE) in its IDT; enlightenments(p) lists what
 * each partition's guest switched on.
 * Virtual Server 2005: readVmc(path) -> { config, disks, xlcfg }; h.importVmc(path).
 * Guests see: CPUID 0x40000000-6, the synthetic MSRs, the hypercall page, SynIC message/event pages,
 * VMBus (Linux's hyperv.h layouts) and the storvsc protocol.
 */
export { HypervHost, CHILD_LAYOUT, HV_VERSION } from "./host";
export type { HypervHostOptions, HvTraceRecord, HvRunOptions, HvRunResult, Connection, ChildOptions } from "./host";
export { Partition, VirtualProcessor } from "./partition";
export { partitionId, connectionId } from "./ids";
export type { PartitionId, ConnectionId } from "./ids";
export { Synic } from "./synic";
export type { HvMessage } from "./synic";
export { HypervError } from "./errors";
export { longhornConsole } from "./console";
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
export { XenAdapter, XEN_ADAPTER_CPUID_BASE, XEN_ADAPTER_HYPERCALL_MSR, XEN_CONSOLE_CONNECTION_ID, rootXenStore } from "./xen-adapter";
export type { Translation } from "./xen-adapter";
export { decodeGuestOsId, describeGuestOsId, proprietaryGuestOsId, WINDOWS_SERVER_2008_GUEST_OS_ID, GUEST_OS_VENDOR, MICROSOFT_OS_ID, OPEN_SOURCE_OS_TYPE } from "./guest-os-id";
export type { DecodedGuestOsId } from "./guest-os-id";
export { enlightenments } from "./enlightenments";
export type { Enlightenment } from "./enlightenments";
export { WINDOWS_STYLE_GUEST_ASM, WINDOWS_GUEST, WINDOWS_RESULTS } from "./guests/windows-style";
export { attachXenDisk, xenDisks, rootBackendHost, xenFrontend } from "./xen-blkback";
