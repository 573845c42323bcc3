/**
 * A domain (xen/include/xen/sched.h struct domain) as the hypervisor and toolstack see it: vCPUs,
 * memory accounting, shared_info, event channels, grant table, HVM params, lifecycle state, and
 * the per-domain hypercall counters.
 */
import type { LogDirty } from "./log-dirty";

/**
 * KiB libxl adds to maxmem when it sets max_pages (libxl_internal.h LIBXL_MAXMEM_CONSTANT, used by
 * libxl__build_pre and libxl_domain_setmaxmem): room for the special pages and a balloon's slack.
 */
export const LIBXL_MAXMEM_CONSTANT = 1024;
import { DomId, FrameUse, Gfn, GuestPhysical, Machine, Mfn, gfn } from "../machine";
import { CONSOLE_PFN, XENSTORE_PFN } from "./special-pages";
import { HVM_NR_PARAMS, SHUTDOWN_NAMES, ShutdownReason } from "./abi";
import { ConsoleRing } from "./console-ring";
import { EventChannelTable } from "./event-channels";
import { GrantTable } from "./grant-table";
import { Port, port } from "./types";
import { SharedInfo } from "./shared-info";
import type { DomainConfig } from "./xl-config";
import { XenVcpu } from "./xen-vcpu";
import { XenStoreRing } from "./xenstore/ring";
import { display, MimeBundle } from "../mime";
import type { XenHost } from "./host";

export type DomainKind = "dom0" | "pv" | "pvh" | "lab";

export class Domain {
  readonly vcpus: XenVcpu[] = [];
  /** Toolstack pause count (domain_pause_by_systemcontroller). */
  pauseCount = 0;
  shutdownReason: ShutdownReason | undefined;
  shutdownCode = 0;
  dying = false;
  /** Why the hypervisor crashed the domain (domain_crash), shown by xl and views. */
  crashReason: string | undefined;
  readonly sharedInfoMfn: Mfn;
  readonly sharedInfo: SharedInfo;
  sharedInfoGfn: number | undefined;
  readonly evtchn = new EventChannelTable();
  readonly gnttab: GrantTable;
  /** VM exits this domain's vCPUs took, by kind; only the host counts them (countExit). */
  private readonly exits = new Map<string, number>();
  readonly hvmParams: bigint[] = new Array<bigint>(HVM_NR_PARAMS).fill(0n);
  hypercallPageGpa: number | undefined;
  /** VMASST_TYPE_runstate_update_flag enabled (vm_assist): registered runstate copies carry XEN_RUNSTATE_UPDATE while written. */
  runstateUpdateFlag = false;
  /** Hypercalls by number. */
  readonly hypercalls = new Map<number, number>();
  /** Pages the domain may own (max_pages) and the balloon target, in 4 KiB pages. */
  maxPages: number;
  targetPages: number;
  /** Virtual ns when created (for xl uptime). */
  readonly createdAt: number;
  /** Console output captured by the host's xenconsoled (ring and console_io for dom0's log). */
  consoleLog = "";
  /** Characters ever appended to consoleLog (it keeps only its tail): where a reader left off. */
  consoleWritten = 0;
  /** Lines written with HYPERVISOR_console_io (they go to Xen's console: `xl dmesg`). */
  consoleIoBuffer = "";
  consoleRing: ConsoleRing | undefined;
  storeRing: XenStoreRing | undefined;
  /** Port numbers in this domain for the store and console (the HVM params mirror them). */
  storePort: Port = port(0);
  consolePort: Port = port(0);
  /** The guest frames of the store and console rings: the HVM special pages, or where the PV builder put them. */
  storeGfn: Gfn = XENSTORE_PFN;
  consoleGfn: Gfn = CONSOLE_PFN;
  /** PV: the pseudo-physical frame of start_info (the builder's; the toolstack adds the ports). */
  startInfoPfn: number | undefined;
  /** Kernel symbols, for views and breakpoints. */
  symbols = new Map<string, number>();
  /** Bytes of the kernel image, kept for reboot. */
  kernelImage: Uint8Array | undefined;
  /** A control domain (may use domctl/sysctl): dom0, or a lab domain created privileged. */
  privileged = false;
  /** Set when the domain is a restore of a saved image. */
  restoredFrom: string | undefined;
  /** Log-dirty mode while a live migration copies the domain (log-dirty.ts). */
  logDirty: LogDirty | undefined;

  constructor(readonly host: XenHost, readonly domid: DomId, public name: string, readonly kind: DomainKind,
    readonly config: DomainConfig, readonly uuid: string) {
    const m = host.machine;
    [this.sharedInfoMfn] = m.memory.allocate(domid, 1, FrameUse.Shared) as [Mfn];
    this.sharedInfo = new SharedInfo(m.memory.view(this.sharedInfoMfn));
    // Wall clock at system time 0, the same for every domain (deterministic: the host "booted"
    // at XenHost.bootEpoch).
    this.sharedInfo.setWallclock(host.bootEpoch, 0);
    // All event channels start masked? No: Xen leaves mask bits clear; guests mask what they want.
    this.gnttab = new GrantTable(m, domid, config.maxGrantFrames);
    this.maxPages = (config.maxmem * 1024 + LIBXL_MAXMEM_CONSTANT) / 4;
    this.targetPages = config.memory * 256;
    this.createdAt = host.now;
  }

  get id(): number {
    return this.domid;
  }
  get machine(): Machine {
    return this.host.machine;
  }
  get guest(): GuestPhysical {
    return this.host.machine.guest(this.domid);
  }

  /**
   * Pages the domain owns (tot_pages): its P2M entries, less other domains' pages it has mapped
   * through grants (a grant mapped over one of its RAM pages hides that page but it stays owned).
   */
  get totPages(): number {
    return this.host.machine.p2m(this.domid).size - this.gnttab.foreignOnlyMappings;
  }

  get paused(): boolean {
    return this.pauseCount > 0;
  }
  /** VM exits by kind (hypercall, io, cpuid, hlt...), for views and lessons: a read-only copy. */
  get exitCounts(): ReadonlyMap<string, number> {
    return new Map(this.exits);
  }

  /** The host's exit handler counts each exit here. */
  countExit(kind: string): void {
    this.exits.set(kind, (this.exits.get(kind) ?? 0) + 1);
  }

  get isShutdown(): boolean {
    return this.shutdownReason !== undefined;
  }

  /** xl's six state letters (tools/xl/xl_info.c list_domains): r b p s, reason from "-rscwS", d. */
  stateLetters(): string {
    const { running, blocked } = this.runFlags();
    const reason = this.shutdownReason === undefined ? 0 : SHUTDOWN_NAMES.indexOf(this.shutdownReason as (typeof SHUTDOWN_NAMES)[number]);
    return [running ? "r" : "-", blocked ? "b" : "-", this.paused ? "p" : "-", this.isShutdown ? "s" : "-", "-rscwS"[reason] ?? "?", this.dying ? "d" : "-"].join("");
  }

  /**
   * getdomaininfo's running/blocked (xen/common/domctl.c): running if any online vCPU runs,
   * blocked only if every online vCPU is blocked.
   */
  runFlags(): { running: boolean; blocked: boolean } {
    const online = this.vcpus.filter((v) => v.online);
    return { running: online.some((v) => v.runstate === "running"), blocked: online.length > 0 && online.every((v) => v.runstate === "blocked") };
  }

  /** CPU time of all vCPUs, ns. */
  cpuTime(now = this.host.now): number {
    return this.vcpus.reduce((a, v) => a + v.cpuTime(now), 0);
  }

  countHypercall(nr: number): void {
    this.hypercalls.set(nr, (this.hypercalls.get(nr) ?? 0) + 1);
  }

  /** Maps a domain-owned Xen page (shared_info, grant frame) at a guest frame. */
  mapXenPage(g: number, m: Mfn): void {
    this.host.machine.p2m(this.domid).set(gfn(g), m, true);
  }

  toMimeBundle(): MimeBundle {
    return display(this);
  }
}
