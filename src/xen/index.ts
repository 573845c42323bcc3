/**
 * The Xen hypervisor model.
 *
 *   const host = currentHost();                     // the notebook's host (4 pCPUs, 4 GiB, dom0)
 *   const d = host.createDomain(`name="g"\ntype="pvh"\nkernel="guest.elf"\nmemory=32`);
 *   host.run({ ns: 10e6 });                         // 10 ms of virtual time under the scheduler
 *   runXl(host, ["list"]).stdout                    // what `xl list` prints
 *   host.xenstore.read("/local/domain/1/name")      // XenStore as dom0
 *   d.consoleLog, host.dmesg, host.traceRecords()   // console ring, Xen console, hypercall trace
 *   host.createLabDomain("lab", machineCode)        // long-mode snippet (builder.ts LAB layout)
 *   host.consoleInput(d, "text\n")                  // type into the PV console's input ring
 *   consoleSession(xenConsole(host, "g")).run("ls")  // type a line, run to the prompt, its output
 *   host.requestShutdown(d, "reboot")               // what `xl reboot` does (control/shutdown)
 *
 * Views (each has toMimeBundle): host (domain list), d (one domain), d.vcpus[i], host.timeline(),
 * host.eventChannels(), host.grantTables(), host.xenstoreTree(path), host.traceView(domid).
 * Magics (src/magics/xl.ts, xenstore.ts): %xl SUBCOMMAND, %%xl create [-p] [-c], %run [DURATION]
 * [--until ...], %xenstore ls|read|write|rm|perms|chmod|watches.
 *
 * Virtual time: cpuMHz instructions per µs (TSC at cpuMHz); it moves only inside host.run() and
 * the commands that call it (%run, %xl console, xl create -c, xl shutdown -w, xl top).
 */
import { XenHost, HostOptions } from "./host";

export * from "./abi";
export { XenHost } from "./host";
export { ConsoleSession, ConsoleSessionError, consoleSession, xenConsole } from "./console-session";
export type { ConsoleEndpoint, ConsoleStopReason, SessionOptions, Marker } from "./console-session";
export type { HostOptions, RunOptions, RunResult, TraceRecord, CreateOptions } from "./host";
export { Domain } from "./domain";
export { migrateDomain, Migration, SPP_MAX_ITERATIONS, SPP_TARGET_DIRTY_COUNT } from "./migrate";
export type { MigrationRound, MigrateOptions } from "./migrate";
export { LogDirty } from "./log-dirty";
export type { DomainKind } from "./domain";
export { XenVcpu, CSCHED_PRI } from "./xen-vcpu";
export { parseXlConfig, parseXlSettings, parseDiskSpec, parseCpuList, XL_ACTIONS } from "./xl-config";
export type { DomainConfig, DiskSpec, XlSetting, XlValue, XlAction } from "./xl-config";
export { XlConfigError, XenError, DomainBuildError } from "./errors";
export { XenStore, XsError, formatPerm, parsePerm } from "./xenstore/store";
export type { XsPerm, XsNode, XsWatch, XsErrno } from "./xenstore/store";
export { encodeMessage, decodeMessages, handleRequest } from "./xenstore/wire";
export type { XsMessage } from "./xenstore/wire";
export { EventChannelTable } from "./event-channels";
export { port, grantRef, grantHandle } from "./types";
export type { Port, GrantRef, GrantHandle, Virq } from "./types";
export type { EvtchnPort, PortState } from "./event-channels";
export { GrantTable } from "./grant-table";
export { SharedInfo } from "./shared-info";
export { CreditScheduler, Pcpu } from "./sched-credit";
export { buildPvh, buildLab, LAB, XENSTORE_PFN, CONSOLE_PFN } from "./builder";
export { buildPv } from "./pv/builder";
export { pvKernelImage, PV_IMAGE } from "./pv/kernel-image";
export type { PvLayout } from "./pv/builder";
export { PageTypes, pteFlags, pteMfn } from "./pv/page-types";
export type { TypeInfo } from "./pv/page-types";
export { PGT, PGT_NAMES, MMUEXT } from "./pv/abi";
export { xenCpuid, hypercallPage } from "./cpuid";
export { vmlinuxOfBzImage } from "./loader/bzimage";
export { HypercallTrace } from "./queries";
export { readNotes } from "./elf-notes";
export { runXl, attachConsole, parseMemKb, XlOutput, XL_COMMANDS } from "./xl/xl";
export { xlList, xlVcpuList, xlInfo, xlUptime, xlSchedCredit, xlTop } from "./xl/format";
export { saveDomain, restoreDomain, readSaveFileHeader, SAVEFILE_MAGIC } from "./save-restore";
export { attachDisk, attachConfiguredDisks, detachDisk, findDisk, listDisks, xlBlockList, runBlockXl, Vbd, BlkbackError, parseVdev, resolveDisk, ringSnapshot } from "./blkback";

let current: XenHost | undefined;

/** The host cells and magics share, created on first use (kernel restart = a fresh one). */
export function currentHost(): XenHost {
  current ??= new XenHost();
  return current;
}

/** Replaces the shared host (e.g. `setCurrentHost(new XenHost({ pcpus: 8 }))`). */
export function setCurrentHost(host: XenHost | HostOptions): XenHost {
  current = host instanceof XenHost ? host : new XenHost(host);
  return current;
}
