/**
 * The Xen host: machine memory, pCPUs, dom0 (whose toolstack, xenstored and xenconsoled are this
 * kernel), domUs, the credit scheduler and deterministic virtual time.
 *
 * Virtual time moves only inside `run()`: each pCPU runs its vCPU for a quantum of instructions
 * (cpuMHz instructions per virtual µs), in pCPU order, so the same calls give the same result.
 * When every vCPU is blocked, time jumps to the next timer. Long runs check for a Jupyter
 * interrupt between quanta and stop at a consistent point (after a whole instruction).
 */
import { PageTypes } from "./pv/page-types";
import { DOM0, DomId, Machine, domId, gva } from "../machine";
import { DeviceBus, LocalApic, RunLoop, TraceRing, VcpuId, VirtualClock } from "../platform";
import { initSipiOne } from "./init-sipi";
import { HYPERCALL_NAMES, ShutdownReason, XEN_ERRNO } from "./abi";
import type { Domain } from "./domain";
import { EventChannels } from "./event-channels";
import type { Port, Virq } from "./types";
import { XenError } from "./errors";
import { handleExit } from "./exit-dispatch";
import { CreditScheduler, MS, Pcpu } from "./sched-credit";
import type { DomainConfig } from "./xl-config";
import type { XenVcpu } from "./xen-vcpu";
import type { XenStore } from "./xenstore/store";
import { DomainControl } from "./domain-control";
import { Toolstack } from "./toolstack";
import { Xenstored } from "./xenstored";
import { Xenconsoled } from "./xenconsoled";
import { XenConsole } from "./xen-console";
import { EventDelivery, ServiceDelivery } from "./event-delivery";
export type { ServiceDelivery } from "./event-delivery";
import { xenVcpuTimers } from "./vcpu-timers";
import { PvhMsrs, pvhMsrs } from "./pvh-msrs";
import { display, MimeBundle } from "../mime";
import { EventChannelListing, GrantTableListing, HypercallTrace, SchedSegment, SchedTimeline, XenstoreSubtree } from "./queries";

export interface HostOptions {
  pcpus?: number;
  memoryMiB?: number;
  /** Virtual instructions per virtual microsecond (and the TSC frequency in MHz). */
  cpuMHz?: number;
  /** Scheduling quantum in virtual ns (how far pCPUs may drift apart). */
  quantumNs?: number;
  dom0MemoryMiB?: number;
  hostname?: string;
  /** Unix time at boot (shared_info wall clock). */
  bootEpoch?: number;
}

export interface TraceRecord {
  t: number;
  dom: DomId;
  vcpu: VcpuId;
  nr: number;
  name: string;
  /** The caller's name when it called (the domain may be gone by the time the trace is read). */
  domName: string;
  args: readonly bigint[];
  result: bigint;
  /** console_io write: the text Xen read from the guest's buffer through its page tables. */
  text?: string;
}

export interface RunOptions {
  /** Virtual time to run, in ns (default: until `until` or every domain is idle). */
  ns?: number;
  /** Stop as soon as this returns true (checked between quanta). */
  until?: (host: XenHost) => boolean;
  /** Stop after this many instructions in total. */
  maxInstructions?: number;
  /** Called between quanta (e.g. to update a live display); return nothing. */
  onSlice?: (host: XenHost) => void;
}

export interface RunResult {
  startNs: number;
  endNs: number;
  instructions: number;
  stoppedBy: "time" | "until" | "idle" | "instructions" | "breakpoint";
  breakpoint?: { domain: string; vcpu: number; rip: number; kind: string };
}

export interface CreateOptions {
  paused?: boolean;
  /** Kernel image bytes (instead of reading `kernel` from the filesystem). */
  kernel?: Uint8Array;
  /** The ramdisk (instead of reading config.ramdisk): given to a PVH guest as hvm_start_info module 0. */
  ramdisk?: Uint8Array;
  /** Machine code for type "lab". */
  code?: Uint8Array;
  /** Reuse a domid (restart) or a uuid. */
  uuid?: string;
}

/** Xen hosts of this process by hostname, held weakly (a host nobody keeps is gone). */
const hostsByName = new Map<string, WeakRef<XenHost>>();

export class XenHost {
  /** The host of this process with that hostname (the receiving side of `xl migrate NAME HOST`). */
  static named(name: string): XenHost | undefined {
    return hostsByName.get(name)?.deref();
  }
  /** Another host of this process by hostname (`xl migrate`'s target). */
  xenHostNamed(name: string): XenHost | undefined {
    return XenHost.named(name);
  }

  readonly machine: Machine;
  readonly pcpus: Pcpu[];
  readonly sched: CreditScheduler;
  readonly domains = new Map<DomId, Domain>();
  /** The PV MMU's frame table: page types, type counts, pins and the M2P (pv/page-types.ts). */
  readonly pageTypes: PageTypes;
  readonly cpuMHz: number;
  readonly quantumNs: number;
  readonly hostname: string;
  /** Event channels: every port transition, one close path (event-channels.ts). */
  readonly events = new EventChannels<Domain>({ domainById: (id) => this.domains.get(id), setPending: (d, p) => this.setPending(d, p) });
  /** Platform devices (ports, MSRs, MMIO) offered every io/rdmsr/wrmsr exit first. */
  readonly devices = new DeviceBus();
  /** Virtual time (the platform's clock). */
  readonly clock: VirtualClock;
  /** The MSRs Xen answers for a PVH guest itself (PAT, MISC_ENABLE, microcode...), on the device bus. */
  readonly pvhMsrs: PvhMsrs = pvhMsrs();
  /** Every HVM/PVH vCPU's emulated local APIC (Xen's vlapic), on the device bus and the timers. */
  readonly lapic: LocalApic;
  /** The platform's run loop: pCPUs, the scheduler core, timers, the instruction count. */
  private readonly loop: RunLoop<XenVcpu>;
  /** Virtual time, ns since boot. */
  get now(): number { return this.clock.now; }
  set now(t: number) { this.clock.now = t; }
  /**
   * Wall-clock seconds (Unix time) at boot, published in shared_info wc_sec: fixed so notebooks
   * are deterministic. Default: 17 July 2006, the day Microsoft and XenSource announced
   * interoperability between Xen-enabled Linux and Windows Server "Longhorn" virtualization.
   */
  readonly bootEpoch: number;
  /** dom0's xenstored: the XenStore tree and every domain's store ring. */
  readonly xenstored: Xenstored = new Xenstored(this);
  /** The XenStore tree (xenstored's). */
  readonly xenstore: XenStore = this.xenstored.store;
  /** dom0's xenconsoled: every domain's PV console. */
  readonly xenconsoled: Xenconsoled = new Xenconsoled(this);
  /** Xen's console ring; read it as `dmesg` (a read-only copy) and clear it with clearDmesg(). */
  private readonly xenConsole = new XenConsole<Domain>((d, text) => this.xenconsoled.emit(d, text));
  /** Event delivery (the 2-level ABI's pending bits, upcalls, the dom0 services' record). */
  readonly delivery: EventDelivery = new EventDelivery(this);
  /** Recent hypercalls (the platform's trace ring, the last `traceLimit`). */
  readonly trace = new TraceRing<TraceRecord>(1000);
  get traceLimit(): number { return this.trace.limit; }
  set traceLimit(n: number) { this.trace.limit = n; }
  get traceEnabled(): boolean { return this.trace.enabled; }
  set traceEnabled(on: boolean) { this.trace.enabled = on; }
  /** Instructions retired by all guests. */
  get instructions(): number { return this.loop.instructions; }
  /** dom0's toolstack (libxl and xl): create, destroy, shutdown requests and actions. */
  readonly toolstack: Toolstack = new Toolstack(this);
  /** domain_kill/pause/shutdown and vCPU wake/block: the hypervisor's own state changes. */
  private readonly control = new DomainControl(this);
  /** Listeners for console output (domain, text) — live displays (xenconsoled's). */
  get consoleListeners(): Set<(dom: Domain, text: string) => void> { return this.xenconsoled.listeners; }
  /** Toolstack messages (what xl would print: restarts, destroys). */
  get toolstackLog(): string[] { return this.toolstack.log; }
  lastBreak: RunResult["breakpoint"];
  /** What ran where (the last `schedRecordLimit` segments), for the timeline view. */
  readonly schedRecord: SchedSegment[] = [];
  schedRecordLimit = 20000;

  constructor(opts: HostOptions = {}) {
    const pcpus = opts.pcpus ?? 4;
    if (!(Number.isInteger(pcpus) && pcpus >= 1 && pcpus <= 512)) throw new XenError("EINVAL", `pcpus ${pcpus} must be 1..512`);
    this.cpuMHz = opts.cpuMHz ?? 1000;
    this.quantumNs = opts.quantumNs ?? 100_000;
    this.hostname = opts.hostname ?? "xenlab";
    hostsByName.set(this.hostname, new WeakRef(this)); // `xl migrate NAME HOST` finds it by name
    this.bootEpoch = opts.bootEpoch ?? Date.UTC(2006, 6, 17) / 1000;
    this.machine = new Machine(opts.memoryMiB ?? 4096);
    this.pageTypes = new PageTypes(this.machine);
    // A frame changing type may still sit in a TLB under its old use: every vCPU drops its translations.
    this.pageTypes.onTypeChange = () => this.machine.epoch++;
    this.pcpus = Array.from({ length: pcpus }, (_, i) => new Pcpu(i));
    this.sched = new CreditScheduler(this.pcpus, (v) => ({ weight: v.domain.config.cpuWeight, cap: v.domain.config.cap }));
    this.clock = new VirtualClock(this.cpuMHz);
    this.devices.add(this.pvhMsrs); // MISC_ENABLE as Xen's guest_rdmsr gives it
    this.loop = new RunLoop(this.clock, this.pcpus, this.sched, this.quantumNs, {
      units: () => this.allVcpus(),
      scheduledIn: (v, t) => this.publishTime(v, t),
      beforeSlice: (v) => this.delivery.deliverUpcall(v),
      handleExit: (v, x, t) => handleExit(this, v, x, t),
      emulationFailed: (v, e) => ({ kind: "unsupported", rip: gva(v.cpu!.rip), reason: `emulation failed: ${e.message}` }),
      betweenQuanta: () => this.toolstack.applyShutdownActions(),
      stopRequested: () => this.lastBreak !== undefined,
      ran: (p, v, a, b) => this.recordSegment(p, v, a, b),
    });
    this.loop.timers.add(xenVcpuTimers(this));
    this.lapic = new LocalApic({
      now: () => this.now,
      tscAt: (ns) => this.clock.tscAt(ns),
      nsAtTsc: (tsc) => Math.ceil((tsc * 1000) / this.cpuMHz),
      peers: (pv) => this.domainOfKey(pv.key)?.vcpus.filter((o) => o.cpu).map((o) => o.platform) ?? [],
      // Xen's LAPIC_ID(): vCPU n has APIC ID 2n (the MADT the builder writes says the same).
      apicId: (pv) => pv.index * 2,
      kick: (pv) => pv.wake?.(),
      // INIT/SIPI (vlapic_init_sipi_one); NMI and SMI are not modelled.
      special: (_from, to, icr) => {
        const target = this.domainOfKey(to.key)?.vcpus[to.index];
        if (target) initSipiOne(this, target, icr);
      },
    });
    this.devices.add(this.lapic);
    this.loop.timers.add(this.lapic);
    this.log(`Xen version ${4}.${17}${".0-xenlab"} (xenlab) (gcc) debug=n`);
    this.log(`Using scheduler: SMP Credit Scheduler (credit)`);
    this.log(`Brought up ${pcpus} CPUs`);
    this.toolstack.createDom0(opts.dom0MemoryMiB ?? Math.min(1024, Math.floor((opts.memoryMiB ?? 4096) / 4)));
  }

  // =========================================================================================
  // Domains
  // =========================================================================================

  get dom0(): Domain {
    return this.domains.get(DOM0)!;
  }

  /** Looks a domain up by id or name (xl's domain qualifier). */
  domain(q: number | string): Domain {
    if (typeof q === "number" || /^\d+$/.test(q)) {
      const d = this.domains.get(domId(Number(q)));
      if (!d) throw new XenError("ESRCH", `invalid domain identifier: ${q}`);
      return d;
    }
    for (const d of this.domains.values()) if (d.name === q) return d;
    throw new XenError("ESRCH", `invalid domain identifier: ${q}`);
  }

  findDomain(q: number | string): Domain | undefined {
    try { return this.domain(q); } catch { return undefined; }
  }

  /** Creates a domain from xl.cfg text (or a parsed config), as `xl create` does. */
  createDomain(cfg: string | DomainConfig, opts: CreateOptions = {}): Domain {
    return this.toolstack.create(cfg, opts);
  }

  /** Creates a lab domain around machine code (see builder.ts LAB for the layout). */
  createLabDomain(name: string, code: Uint8Array, opts: Parameters<Toolstack["createLab"]>[2] = {}): Domain {
    return this.toolstack.createLab(name, code, opts);
  }

  /** Destroys a domain: frees memory, closes its channels, removes its XenStore tree (`xl destroy`). */
  destroyDomain(d: Domain, quiet = false): void {
    this.toolstack.destroy(d, quiet);
  }

  /** Asks the guest to shut down through XenStore control/shutdown (what `xl shutdown` does). */
  requestShutdown(d: Domain, reason: "poweroff" | "reboot" = "poweroff"): void {
    this.toolstack.requestShutdown(d, reason);
  }

  /**
   * The hypervisor's domain_kill: vCPUs descheduled, event channels closed, grant mappings torn
   * down, memory freed (frames another domain still maps stay until unmapped), the domain gone.
   */
  killDomain(d: Domain): void { this.control.killDomain(d); }

  /** Binds a dom0 port to a domU's unbound port, served by host code. */
  bindService(d: Domain, remotePort: Port, label: string, service: () => void): Port {
    return this.events.bindService(this.dom0, d, remotePort, label, service);
  }

  pause(d: Domain): void { this.control.pause(d); }

  unpause(d: Domain): void { this.control.unpause(d); }

  /** The hypervisor's domain_shutdown: vCPUs stop; the toolstack then applies on_* actions. */
  shutdownDomain(d: Domain, reason: ShutdownReason, why?: string): void { this.control.shutdownDomain(d, reason, why); }

  /** domain_crash with a reason (shown by xl list -l, views and dmesg). */
  crashDomain(d: Domain, reason: string): void { this.control.crashDomain(d, reason); }

  // =========================================================================================
  // Time and scheduling
  // =========================================================================================

  /** Virtual ns per instruction. */
  get nsPerInstruction(): number {
    return this.clock.nsPerInstruction;
  }

  /** TSC at a virtual time (the TSC runs at cpuMHz). */
  tscAt(ns: number): number {
    return this.clock.tscAt(ns);
  }

  /** vcpu_time_info scale for a TSC at cpuMHz: ns = ((tsc << shift) * mul) >> 32. */
  timeScale(): { mul: number; shift: number } {
    return this.clock.timeScale();
  }

  /** The domain of a platform vCPU key ("d3v1"). */
  private domainOfKey(key: string): Domain | undefined {
    const m = /^d(\d+)v/.exec(key);
    return m ? this.domains.get(domId(Number(m[1]))) : undefined;
  }

  private allVcpus(): XenVcpu[] {
    const out: XenVcpu[] = [];
    for (const d of this.domains.values()) if (d.domid !== 0) out.push(...d.vcpus);
    return out;
  }

  /** A vCPU becomes runnable (woken, unpaused, brought up). */
  makeRunnable(v: XenVcpu, boost: boolean, at = this.now): void { this.control.makeRunnable(v, boost, at); }

  /** Blocks a vCPU (SCHEDOP_block, hlt, poll). */
  block(v: XenVcpu, on: "block" | "hlt" | "poll", at: number): void { this.control.block(v, on, at); }

  /** vcpu_kick/vcpu_unblock: wakes a blocked vCPU. */
  kick(v: XenVcpu, at = this.now): void { this.control.kick(v, at); }

  /**
   * Runs the host in virtual time (the platform's run loop, src/platform/run-loop.ts). Without
   * `ns`, runs until every domain is idle (all vCPUs blocked with no timer pending), `until`
   * holds, or `maxInstructions` (default 2e9) retire.
   */
  run(opts: RunOptions = {}): RunResult {
    this.lastBreak = undefined;
    const r = this.loop.run({
      ns: opts.ns,
      maxInstructions: opts.maxInstructions,
      until: opts.until && (() => opts.until!(this)),
      onSlice: opts.onSlice && (() => opts.onSlice!(this)),
    });
    return { ...r, breakpoint: this.lastBreak };
  }

  private recordSegment(pcpu: number, v: XenVcpu, start: number, end: number): void {
    const r = this.schedRecord;
    for (let k = r.length - 1; k >= Math.max(0, r.length - this.pcpus.length * 2); k--) {
      const s = r[k]!;
      if (s.pcpu === pcpu) {
        if (s.domid === v.domain.domid && s.vcpu === v.id && Math.abs(s.end - start) < 1) { s.end = end; return; }
        break;
      }
    }
    r.push({ pcpu, domid: v.domain.domid, vcpu: v.id, start, end });
    if (r.length > this.schedRecordLimit * 1.25) r.splice(0, r.length - this.schedRecordLimit);
  }

  /** A Gantt chart of what each pCPU ran (default: the whole record). */
  timeline(fromNs?: number, toNs = this.now): SchedTimeline {
    return new SchedTimeline(this, this.schedRecord, fromNs ?? (this.schedRecord[0]?.start ?? 0), toNs);
  }

  /** Event channels of all (or some) domains, drawn. */
  eventChannels(...domids: number[]): EventChannelListing {
    return new EventChannelListing(this, domids.length ? domids.map(domId) : undefined);
  }

  /** Grant tables in use, decoded. */
  grantTables(domid?: number): GrantTableListing {
    return new GrantTableListing(this, domid);
  }

  /** The XenStore tree under a path. */
  xenstoreTree(path = "/"): XenstoreSubtree {
    return new XenstoreSubtree(this.xenstore, path);
  }

  /** Writes vcpu_time_info for a vCPU as it is scheduled in (Xen: update_vcpu_system_time). */
  publishTime(v: XenVcpu, t: number): void {
    if (!v.domain.sharedInfo.hasVcpuInfo(v.id)) return;
    const { mul, shift } = this.timeScale();
    v.domain.sharedInfo.setTime(v.id, BigInt(Math.floor(t)), BigInt(this.tscAt(t)), mul, shift);
  }

  /** The last hypercalls (all domains, or one), decoded. */
  traceView(domid?: number, last = 40): HypercallTrace {
    return new HypercallTrace(this.traceRecords().filter((r) => domid === undefined || r.dom === domid).slice(-last));
  }

  // =========================================================================================
  // Events
  // =========================================================================================

  /** evtchn_port_set_pending with the 2-level ABI (event-delivery.ts). */
  setPending(d: Domain, port: Port, at = this.now): void {
    this.delivery.setPending(d, port, at);
  }

  /** vcpu_mark_events_pending: raise upcall_pending and kick the vCPU. */
  markEventsPending(v: XenVcpu, at = this.now): void {
    this.delivery.markEventsPending(v, at);
  }

  /** EVTCHNOP_send from domain `d` port `port`. Returns 0 or a negative errno. */
  evtchnSend(d: Domain, port: Port): number {
    return this.events.send(d, port) === 0 ? 0 : -XEN_ERRNO.EINVAL;
  }

  /** send_guest_vcpu_virq. */
  sendVirq(v: XenVcpu, virq: Virq, at = this.now): void {
    const port = v.domain.evtchn.virqPort(virq, v.id);
    if (port !== undefined) this.setPending(v.domain, port, at);
  }

  /** Notifies a domU on the port of its side of a host-served channel (dom0 port `dom0Port`). */
  notifyFromDom0(dom0Port: Port): void {
    const e = this.dom0.evtchn.get(dom0Port);
    if (!e || e.state !== "interdomain") return;
    const d = this.domains.get(e.remoteDom);
    if (d) this.setPending(d, e.remotePort);
  }

  // =========================================================================================
  // dom0 services (xenstored.ts, xenconsoled.ts) and Xen's console (xen-console.ts)
  // =========================================================================================

  emitConsole(d: Domain, text: string): void {
    this.xenconsoled.emit(d, text);
  }

  /** Types input into a domain's console (in ring) and notifies it. */
  consoleInput(d: Domain, text: string): number {
    return this.xenconsoled.input(d, text);
  }

  /** HYPERVISOR_console_io / port 0xe9 output: Xen's console, line-buffered, "(dN) " prefix. */
  consoleIoWrite(d: Domain, text: string): void {
    this.xenConsole.guestWrite(d, text);
  }

  log(line: string, xenPrefix = true): void {
    this.xenConsole.log(line, xenPrefix);
  }

  /**
   * Xen's console (`xl dmesg`), oldest line first: a frozen copy, so that what a lesson's check
   * reads is what Xen wrote, not what a cell pushed.
   */
  get dmesg(): readonly string[] {
    return this.xenConsole.read();
  }

  /** `xl dmesg -c` / sysctl readconsole with clear. */
  clearDmesg(): void {
    this.xenConsole.clear();
  }

  /** Notifications Xen delivered to dom0 services (backends served by host code): a frozen copy. */
  serviceDeliveries(): readonly ServiceDelivery[] {
    return this.delivery.serviceDeliveries();
  }

  recordTrace(r: TraceRecord): void {
    // The frozen copy costs an allocation per hypercall: only when the ring keeps it.
    if (!this.trace.enabled) return;
    this.trace.push(Object.freeze({ ...r, args: Object.freeze([...r.args]) }));
  }

  /** The trace in order, oldest first (frozen records). */
  traceRecords(): readonly TraceRecord[] {
    return Object.freeze(this.trace.records());
  }

  hypercallName(nr: number): string {
    return HYPERCALL_NAMES[nr] ?? `#${nr}`;
  }

  /** Frees host memory (MiB) like `xl info` free_memory. */
  get freeMemoryMiB(): number {
    return Math.floor((this.machine.memory.frameCount - this.machine.memory.allocatedFrames) / 256);
  }

  get totalMemoryMiB(): number {
    return Math.floor(this.machine.memory.frameCount / 256);
  }

  toMimeBundle(): MimeBundle {
    return display(this);
  }

  /** Nothing to do with `ms` but convenient for cells: `host.run({ ns: host.ms(10) })`. */
  ms(n: number): number {
    return n * MS;
  }
}

