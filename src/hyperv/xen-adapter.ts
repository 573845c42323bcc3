/**
 * The hypercall adapter for Xen-enabled guests on the Longhorn host (the 2008 Linux Integration
 * Components' "thin layer ... that translates the Xen-specific virtualization function calls ... to
 * Microsoft Hyper-V hypercalls"). Our design, borrowed from Xen's own Viridian support run in
 * reverse (reference §5.6): Hyper-V's leaves stay at 0x40000000 and Xen's appear at 0x40000100 with
 * the hypercall MSR at 0x40000200; the Xen hypercall page is Xen's (`mov eax, N; vmcall; ret`),
 * while the Hyper-V page becomes `or eax, 0x80000000; vmcall; ret`, so bit 31 of EAX tells the two
 * kinds of vmcall apart.
 *
 * Translated so far: console_io write (→ HvPostMessage on the root's console connection),
 * xen_version (answered by the adapter with the Xen interface it implements), sched_op yield
 * (→ HvNotifyLongSpinWait) and shutdown (→ the root suspends the VP), memory_op add_to_physmap of
 * shared_info (→ the root maps a page of its own with HvMapGpaPages), hvm_op set_param
 * CALLBACK_IRQ (the upcall vector), and interdomain event channels: alloc_unbound and
 * bind_interdomain become a port/connection pair in the root (HvCreatePort + HvConnectPort, done
 * by the root's stack), send becomes HvSignalEvent on the peer's connection, and delivery sets the
 * peer's evtchn_pending bit in its shared_info and raises its upcall vector. XenStore: the root
 * keeps a store (Xen's own XenStore code) and shares the ring page with the guest through
 * HvMapGpaPages at Xen's special pfn; hvm_op get_param STORE_PFN/STORE_EVTCHN name it, and a send on
 * the store port (HvSignalEvent to the root's store connection) makes the root serve the ring.
 * Time, timers, vcpu_op, hvm_op params/upcall vector and multicall are in xen-translations.ts:
 * vcpu_time_info from the reference clock and HV_X64_MSR_TSC_FREQUENCY, set_timer_op and
 * VCPUOP_set_singleshot_timer on synthetic timer 3, is_up from the VP's ExplicitSuspend register.
 * Everything else is -ENOSYS, recorded in the translation table.
 */
import { connectionId, type PartitionId } from "./ids";
import {
  HYPERVISOR, XENVER, XEN_ERRNO, XEN_EXTRA, XEN_MAJOR, XEN_MINOR, SCHEDOP, CONSOLEIO_write, XENMEM,
  XENMAPSPACE_shared_info, XENMAPSPACE_grant_table, HVM_PARAM_CALLBACK_TYPE_VECTOR, HVM_PARAM, LAYOUT,
  VMASST_CMD_enable, VMASST_CMD_disable, VMASST_TYPE_runstate_update_flag,
} from "../xen/abi";
import { SharedInfo } from "../xen/shared-info";
import { XENSTORE_PFN, CONSOLE_PFN } from "../xen/builder";
import { ConsoleRing } from "../xen/console-ring";
import { XenStore } from "../xen/xenstore/store";
import { XenStoreRing } from "../xen/xenstore/ring";
import { writeGuestDirectories } from "../xen/xenstore/libxl-layout";
import { handleRequest, watchEvent } from "../xen/xenstore/wire";
import { DomId, domId, PAGE_SIZE } from "../machine";
import { vcpuId } from "../platform";
import { port, virq, type Port } from "../xen/types";
import { hypercallPage as xenHypercallPage } from "../xen/cpuid";
import { guestFeatureSubmap } from "../xen/hypercalls/xen-version";
import { xenCpuid } from "../xen/cpuid";
import { display, MimeBundle } from "../mime";
import type { HypervHost } from "./host";
import type { Partition, VirtualProcessor } from "./partition";
import { HV_STATUS, HVCALL, HV_MESSAGE_PAYLOAD_BYTE_COUNT } from "./tlfs";
import { encodeInput } from "./hypercall-abi";
import { HypervError } from "./errors";
import { armXenTimer, hvmOp, multicall, publishTime, systemTimeNs, vcpuOp } from "./xen-translations";
import { XenEnd, XenTransport } from "./xen-transport";
import { eventChannelOp } from "./xen-evtchn-op";
import { grantTableOp } from "./xen-grant-op";
import { GrantTable } from "../xen/grant-table";

/** xl's default max_grant_frames (xl-config.ts), for a Xen-enabled partition's table. */
const GRANT_MAX_FRAMES = 64;

/** Xen's leaves behind Hyper-V's (xen/arch/x86/cpuid.c with Viridian: base 0x40000100). */
export const XEN_ADAPTER_CPUID_BASE = 0x40000100;
/** Xen's hypercall MSR moves with its leaves (0x40000000 + 0x200 under Viridian). */
export const XEN_ADAPTER_HYPERCALL_MSR = 0x40000200;
/** The root's console service connection for Xen console output. */
export const XEN_CONSOLE_CONNECTION_ID = connectionId(0x58454e00); // "XEN\0"
/** The Hyper-V page with the adapter: `or eax, 0x80000000; vmcall; ret` (Xen's Viridian page). */
export const TAGGED_HV_PAGE_PREFIX = [0x0d, 0x00, 0x00, 0x00, 0x80, 0x0f, 0x01, 0xc1, 0xc3];

const NAMES = new Map<number, string>(Object.entries(HYPERVISOR).map(([k, v]) => [v as number, k]));
const ENOSYS = -XEN_ERRNO.ENOSYS;

/** The root's XenStore, shared by every Xen-enabled child of a host. */
const stores = new WeakMap<HypervHost, XenStore>();
export function rootXenStore(host: HypervHost): XenStore {
  let s = stores.get(host);
  if (!s) { s = new XenStore(); stores.set(host, s); }
  return s;
}
/** The transport of a host: Xen's event channels over its SynIC connections, the root as domain 0. */
const transports = new WeakMap<HypervHost, XenTransport<Partition>>();
export function xenTransport(host: HypervHost): XenTransport<Partition> {
  let t = transports.get(host);
  if (!t) { t = new XenTransport<Partition>(host); transports.set(host, t); }
  return t;
}

export interface Translation {
  xen: string;
  hyperv: readonly string[];
  result: number;
}

export class XenAdapter {
  /** Every Xen call and what it became; read it as `log` (a frozen copy). */
  private readonly translations: Translation[] = [];
  get log(): readonly Translation[] {
    return Object.freeze([...this.translations]);
  }
  readonly counts = new Map<string, { calls: number; hv: number }>();
  hypercallPageGpa: number | undefined;
  /** This partition as a Xen domain of the transport: its port table is Xen's EventChannelTable. */
  readonly end: XenEnd;
  sharedInfo: SharedInfo | undefined;
  callbackVector: number | undefined;
  eventsDelivered = 0;

  /**
   * This domain's grant table: Xen's GrantTable, whose mappings reach the physmap through the
   * root's HvMapGpaPages / HvUnmapGpaPages (xl's default max_grant_frames, 64).
   */
  readonly gnttab: GrantTable;
  /** The guest's ends of its XenStore and console channels (HVM_PARAM_STORE_EVTCHN / CONSOLE_EVTCHN), and the root's. */
  storePort: Port | undefined;
  consolePort: Port | undefined;
  private storeRootPort: Port | undefined;
  private consoleRootPort: Port | undefined;
  consoleRing: ConsoleRing | undefined;
  storeRing: XenStoreRing | undefined;
  xenstoreRequests = 0;

  /**
   * The Xen domain id the guest sees: partitions numbered from the root, which is domain 0 (the
   * root plays dom0's part: xenstored, xenconsoled, backends). Hyper-V's partition id 0 is
   * HV_PARTITION_ID_INVALID, so the ids cannot simply be shared.
   */
  get domid(): DomId { return this.partition.domid; }
  partitionIdOf(domid: number): PartitionId | undefined { return this.host.partitionOfDomain(domId(domid))?.id; }

  constructor(readonly host: HypervHost, readonly partition: Partition) {
    this.gnttab = new GrantTable(host.machine, partition.domid, GRANT_MAX_FRAMES, {
      map: (at, mfn, writable) => host.rootMapFrame(partition, at, mfn, writable),
      unmap: (at, displaced) => { if (displaced) host.rootMapFrame(partition, at, displaced.mfn, displaced.writable); else host.rootUnmapGpa(partition, at); },
    });
    this.end = xenTransport(host).add(partition, { raise: (p) => this.raise(p), clearPending: (p) => this.sharedInfo?.clearPending(p) });
    if (!host.connections.has(XEN_CONSOLE_CONNECTION_ID)) {
      host.registerConnection({
        id: XEN_CONSOLE_CONNECTION_ID, owner: "root xen console",
        allowed: (p) => p.xenAdapter !== undefined,
        onMessage: (from, _type, payload) => { from.console += Buffer.from(payload).toString("latin1"); return HV_STATUS.SUCCESS; },
      });
    }
  }

  /**
   * The guest's XenStore connection, as libxl/xenstored set it up on Xen: the ring page at Xen's
   * special pfn (here a root page mapped with HvMapGpaPages), an event channel port toward the
   * root, /local/domain/<id> with name and domid. Called once the partition's memory is mapped.
   */
  setupXenStore(): void {
    const id = this.domid, xs = rootXenStore(this.host), p = `/local/domain/${id}`;
    xs.mkdirs(p, 0);
    xs.setPerms(p, [{ perm: "n", id: 0 }, { perm: "r", id }]);
    xs.write(`${p}/name`, this.partition.name);
    xs.write(`${p}/domid`, String(id));
    writeGuestDirectories(xs, p, id);
    // libxl's cpu/<n>/availability, which Linux's xen cpu_hotplug reads for each vCPU.
    this.partition.vps.forEach((_, i) => xs.write(`${p}/cpu/${i}/availability`, "online"));
    // The root appears to Xen guests as domain 0, as on Xen (readable by nobody else).
    if (!xs.exists("/local/domain/0/name")) { xs.mkdirs("/local/domain/0", 0); xs.write("/local/domain/0/name", "Domain-0"); }
    const m = this.host.rootMapNewPage(this.partition, XENSTORE_PFN);
    this.storeRing = new XenStoreRing(() => this.host.machine.memory.view(m));
    // As libxl does: a port of the guest's unbound for dom0, which xenstored binds as its service.
    const t = xenTransport(this.host);
    const port = t.events.allocUnbound(this.end, t.root.domid, "xenstore");
    if (typeof port === "string") throw new Error(`domain ${id} has no free event channel port for XenStore`);
    this.storeRootPort = t.events.bindService(t.root, this.end, port.port, "xenstored", () => this.serveXenStore());
    this.storePort = port.port;
  }

  /** Asks the guest to shut down the way xl does: control/shutdown in XenStore (its watch fires). */
  requestShutdown(reason: "poweroff" | "reboot" = "poweroff"): void {
    rootXenStore(this.host).write(`/local/domain/${this.domid}/control/shutdown`, reason);
  }

  /** The PV console ring at Xen's console pfn, drained by the root's xenconsoled on each send. */
  setupConsole(): void {
    const m = this.host.rootMapNewPage(this.partition, CONSOLE_PFN);
    this.consoleRing = new ConsoleRing(() => this.host.machine.memory.view(m));
    const t = xenTransport(this.host);
    const port = t.events.allocUnbound(this.end, t.root.domid, "console");
    if (typeof port === "string") throw new Error(`domain ${this.domid} has no free event channel port for the console`);
    this.consoleRootPort = t.events.bindService(t.root, this.end, port.port, "xenconsoled", () => { this.partition.console += this.consoleRing!.drain(); });
    this.consolePort = port.port;
  }

  /**
   * Types into the guest's PV console as `xl console` does: the bytes go into the ring's input
   * side, then the root's xenconsoled notifies the guest (HvSignalEvent from the root). Returns
   * how many bytes fitted.
   */
  consoleInput(text: string): number {
    if (!this.consoleRing || this.consoleRootPort === undefined) throw new HypervError("INVALID_PARAMETER", `partition ${this.partition.id} has no Xen PV console (boot it with pvh)`);
    const n = this.consoleRing.input(Buffer.from(text, "latin1"));
    xenTransport(this.host).notifyFromRoot(this.consoleRootPort);
    return n;
  }

  /** The root's xenstored: drain the ring, answer each request, notify the guest. */
  private serveXenStore(): void {
    const ring = this.storeRing!;
    const xs = rootXenStore(this.host);
    for (const m of ring.takeRequests()) {
      this.xenstoreRequests++;
      // Watch events can fire later (a root-side write): queue, flush and notify then too.
      ring.queue(handleRequest(xs, this.domid, m, (path, token) => {
        ring.queue(watchEvent(path, token));
        if (ring.flush()) this.notifyStore();
      }));
    }
    if (ring.flush()) this.notifyStore();
  }

  /** xenstored tells the guest the ring moved: EVTCHNOP_send on its root port (the root's HvSignalEvent). */
  private notifyStore(): void {
    if (this.storeRootPort !== undefined) xenTransport(this.host).notifyFromRoot(this.storeRootPort);
  }

  cpuid(vp: VirtualProcessor, leaf: number, subleaf: number): [number, number, number, number] | undefined {
    if (leaf < XEN_ADAPTER_CPUID_BASE || leaf > XEN_ADAPTER_CPUID_BASE + 5) return undefined;
    return xenCpuid(leaf, subleaf, { domid: this.domid, vcpuId: vp.index, nrVcpus: this.partition.vps.length, viridian: true });
  }

  /** wrmsr to Xen's hypercall MSR: install Xen's page (only page index 0; #GP otherwise). */
  wrmsr(msr: number, value: bigint): boolean | undefined {
    if (msr !== XEN_ADAPTER_HYPERCALL_MSR) return undefined;
    if ((value & 0xfffn) !== 0n) return false;
    const gpa = Number(value);
    try { this.partition.memory.write(gpa, xenHypercallPage()); } catch { return false; }
    this.hypercallPageGpa = gpa;
    return true;
  }

  private record(xen: string, hyperv: string[], result: number): number {
    this.translations.push(Object.freeze({ xen, hyperv: Object.freeze([...hyperv]), result }));
    if (this.translations.length > 2000) this.translations.splice(0, 1000);
    const c = this.counts.get(xen.replace(/\(.*$/, "")) ?? { calls: 0, hv: 0 };
    // Only Hyper-V hypercalls the guest's call turned into (not the root's own calls or notes).
    c.calls++; c.hv += hyperv.filter((x) => x.startsWith("Hv")).length;
    this.counts.set(xen.replace(/\(.*$/, ""), c);
    return result;
  }

  /** Issues a Hyper-V hypercall on the guest's behalf, through the host's dispatcher. */
  private hv(vp: VirtualProcessor, code: number, input: Uint8Array, fast = false): number {
    if (fast) {
      const dv = new DataView(input.buffer, input.byteOffset);
      return Number(this.host.dispatch(this.partition, vp, encodeInput({ code, fast: true }), dv.getBigUint64(0, true), 0n).rax & 0xffffn);
    }
    // Memory input goes through the adapter's own page at the top of the partition's first MiB.
    const page = 0xff000;
    this.partition.memory.write(page, input);
    return Number(this.host.dispatch(this.partition, vp, encodeInput({ code }), BigInt(page), 0n).rax & 0xffffn);
  }

  /** Handles a Xen hypercall (RAX = number, args RDI RSI RDX R10 R8 R9); returns RAX. */
  call(vp: VirtualProcessor): bigint {
    const cpu = vp.cpu;
    const nr = Number(cpu.getReg("rax") & 0xffffffffn);
    const args = (["rdi", "rsi", "rdx", "r10", "r8", "r9"] as const).map((r) => cpu.getReg(r));
    return BigInt.asUintN(64, BigInt(this.callXen(vp, nr, args)));
  }

  /** One Xen hypercall with its arguments (from registers, or a multicall entry); returns its result. */
  private callXen(vp: VirtualProcessor, nr: number, args: readonly bigint[]): number {
    const cpu = vp.cpu;
    const a1 = args[0]!, a2 = args[1]!, a3 = args[2]!;
    const name = NAMES.get(nr) ?? `hypercall_${nr}`;
    const readGuest = (va: bigint, len: number) => cpu.readVirt(va, len);
    let r: number;
    publishTime(this, vp);
    switch (nr) {
      case HYPERVISOR.console_io: {
        if (Number(a1) !== CONSOLEIO_write) { r = this.record(`console_io(${a1})`, [], ENOSYS); break; }
        const len = Number(a2 & 0xffffffffn);
        let bytes: Uint8Array;
        try { bytes = readGuest(a3, len); } catch { r = this.record("console_io(write)", [], -XEN_ERRNO.EFAULT); break; }
        const ops: string[] = [];
        // One HvPostMessage per 240 bytes (HV_MESSAGE_PAYLOAD_BYTE_COUNT).
        for (let off = 0; off < bytes.length; off += HV_MESSAGE_PAYLOAD_BYTE_COUNT) {
          const chunk = bytes.subarray(off, off + HV_MESSAGE_PAYLOAD_BYTE_COUNT);
          const input = new Uint8Array(16 + chunk.length);
          const dv = new DataView(input.buffer);
          dv.setUint32(0, XEN_CONSOLE_CONNECTION_ID, true);
          dv.setUint32(8, 1, true);
          dv.setUint32(12, chunk.length, true);
          input.set(chunk, 16);
          const s = this.hv(vp, HVCALL.POST_MESSAGE, input);
          ops.push(`HvPostMessage(conn 0x${XEN_CONSOLE_CONNECTION_ID.toString(16)}, ${chunk.length} B) = ${s}`);
          if (s !== HV_STATUS.SUCCESS) break;
        }
        r = this.record(`console_io(write, ${len})`, ops, 0);
        break;
      }
      case HYPERVISOR.xen_version: {
        const cmd = Number(a1);
        if (cmd === XENVER.version) r = this.record("xen_version(version)", [], (XEN_MAJOR << 16) | XEN_MINOR);
        else if (cmd === XENVER.extraversion) {
          const b = new Uint8Array(16); b.set(Buffer.from(XEN_EXTRA, "latin1").subarray(0, 15));
          try { cpu.writeVirt(a2, b); r = this.record("xen_version(extraversion)", [], 0); } catch { r = this.record("xen_version(extraversion)", [], -XEN_ERRNO.EFAULT); }
        } else if (cmd === XENVER.get_features) {
          // The same feature map the Xen host gives a PVH guest (the root is dom0, never the guest).
          const F = LAYOUT.xen_feature_info.f;
          try {
            const idx = cpu.readVirtU32(a2 + BigInt(F.submap_idx));
            cpu.writeVirtU32(a2 + BigInt(F.submap), guestFeatureSubmap(idx, false));
            r = this.record(`xen_version(get_features ${idx})`, [], 0);
          } catch { r = this.record("xen_version(get_features)", [], -XEN_ERRNO.EFAULT); }
        } else if (cmd === XENVER.pagesize) r = this.record("xen_version(pagesize)", [], PAGE_SIZE);
        else r = this.record(`xen_version(${cmd})`, [], ENOSYS);
        break;
      }
      case HYPERVISOR.sched_op: {
        const cmd = Number(a1);
        if (cmd === SCHEDOP.yield) {
          const s = this.hv(vp, HVCALL.NOTIFY_LONG_SPIN_WAIT, new Uint8Array(8), true);
          r = this.record("sched_op(yield)", [`HvNotifyLongSpinWait = ${s}`], 0);
        } else if (cmd === SCHEDOP.block) {
          // Sleep until an event is pending (even with interrupts off): HLT with Xen's wake rule.
          if (!this.sharedInfo?.upcallPending(vp.index)) { vp.state = "halted"; vp.wakeOnEvent = true; }
          r = this.record("sched_op(block)", ["VP halted until a SynIC/event-channel interrupt"], 0);
        } else if (cmd === SCHEDOP.shutdown) {
          let reason = -1;
          try { reason = new DataView(readGuest(a2, 4).buffer).getUint32(0, true); } catch { /* bad pointer */ }
          if (reason < 0) { r = this.record("sched_op(shutdown)", [], -XEN_ERRNO.EFAULT); break; }
          // The root's worker process turns a guest shutdown into stopping its VPs.
          for (const v of this.partition.vps) v.state = "suspended";
          this.partition.shutdownReason = reason;
          r = this.record(`sched_op(shutdown, ${reason})`, ["root: HvSetVpRegisters(ExplicitSuspend = 1) on every VP"], 0);
        } else r = this.record(`sched_op(${cmd})`, [], ENOSYS);
        break;
      }
      case HYPERVISOR.set_timer_op: {
        // A one-shot at absolute system time a1 (ns of the reference clock) -> synthetic timer 3, firing VIRQ_TIMER.
        const at = Number(a1);
        r = this.record(at === 0 ? "set_timer_op(0)" : "set_timer_op", armXenTimer(this, vp, at === 0 ? undefined : Math.max(at, systemTimeNs(this, vp))), 0);
        break;
      }
      case HYPERVISOR.memory_op: {
        const cmd = Number(a1);
        if (cmd !== XENMEM.add_to_physmap) { r = this.record(`memory_op(${cmd})`, [], ENOSYS); break; }
        const F = LAYOUT.xen_add_to_physmap.f;
        let b: DataView;
        try { b = new DataView(readGuest(a2, LAYOUT.xen_add_to_physmap.size).buffer); } catch { r = this.record("memory_op(add_to_physmap)", [], -XEN_ERRNO.EFAULT); break; }
        const space = b.getUint32(F.space, true), idx = b.getBigUint64(F.idx, true), gpfn = Number(b.getBigUint64(F.gpfn, true));
        if (space === XENMAPSPACE_grant_table) {
          // Frame idx of the grant table (grown on demand, as gnttab_map_frame does), mapped over
          // the guest's frame by the root; the guest's own page there stays the guest's.
          const n = Number(idx);
          if (!(n < this.gnttab.maxFrames) || !this.gnttab.grow(n + 1)) { r = this.record("memory_op(add_to_physmap, grant_table)", [], -XEN_ERRNO.EINVAL); break; }
          this.host.rootMapFrame(this.partition, gpfn, this.gnttab.frames[n]!, true);
          r = this.record(`memory_op(add_to_physmap, grant_table ${n})`, [`root: HvMapGpaPages(partition ${this.partition.id}, gfn 0x${gpfn.toString(16)}, 1 page)`], 0);
          break;
        }
        if (space !== XENMAPSPACE_shared_info || idx !== 0n) { r = this.record(`memory_op(add_to_physmap, space ${space})`, [], -XEN_ERRNO.EINVAL); break; }
        // The root gives a page of its own; HvMapGpaPages puts it over the guest's frame.
        const m = this.host.rootMapNewPage(this.partition, gpfn);
        this.partition.memory.fill(gpfn * PAGE_SIZE, PAGE_SIZE, 0);
        this.sharedInfo = new SharedInfo(this.host.machine.memory.view(m));
        // wc_sec/wc_nsec: the root's wall clock at the guest's system time 0 (its reference clock's zero).
        const wcNs = this.partition.referenceBaseNs;
        this.sharedInfo.setWallclock(this.host.bootEpoch + Math.floor(wcNs / 1e9), wcNs % 1e9);
        r = this.record("memory_op(add_to_physmap, shared_info)", [`root: HvMapGpaPages(partition ${this.partition.id}, gfn 0x${gpfn.toString(16)}, 1 page)`], 0);
        break;
      }
      case HYPERVISOR.hvm_op:
      case HYPERVISOR.vcpu_op: {
        let t: { result: number; name: string; hyperv: string[] };
        try { t = (nr === HYPERVISOR.hvm_op ? hvmOp : vcpuOp)(this, { vp, args }); } catch { r = this.record(`${name}(…)`, [], -XEN_ERRNO.EFAULT); break; }
        r = this.record(t.name, t.hyperv, t.result);
        break;
      }
      case HYPERVISOR.multicall: {
        const before = this.translations.length;
        try { r = multicall({ vp, args }, (op, callArgs) => this.callXen(vp, op, callArgs)); } catch { r = -XEN_ERRNO.EFAULT; }
        r = this.record(`multicall(${Number(a2)} entries)`, this.translations.slice(before).map((t) => `${t.xen} = ${t.result}`), r);
        break;
      }
      case HYPERVISOR.vm_assist: {
        // common/kernel.c do_vm_assist: an HVM/PVH guest may only toggle runstate_update_flag.
        const cmd = Number(a1), type = Number(a2);
        if (type !== VMASST_TYPE_runstate_update_flag) { r = this.record(`vm_assist(${cmd}, ${type})`, [], -XEN_ERRNO.EINVAL); break; }
        if (cmd !== VMASST_CMD_enable && cmd !== VMASST_CMD_disable) { r = this.record(`vm_assist(${cmd}, runstate_update_flag)`, [], ENOSYS); break; }
        this.runstateUpdateFlag = cmd === VMASST_CMD_enable;
        r = this.record(`vm_assist(${cmd === VMASST_CMD_enable ? "enable" : "disable"}, runstate_update_flag)`, [], 0);
        break;
      }
      case HYPERVISOR.event_channel_op:
        r = this.eventChannelOp(vp, Number(a1), a2);
        break;
      case HYPERVISOR.grant_table_op:
        r = this.grantTableOp(vp, Number(a1), a2, Number(a3));
        break;
      default:
        r = this.record(`${name}(…)`, [], ENOSYS);
    }
    return r;
  }

  /** HVM params the guest set (hvm.c: CALLBACK_IRQ, TIMER_MODE); the store/console ones are the root's. */
  private readonly hvmParams = new Map<number, bigint>();
  /** Per-VP upcall vectors (HVMOP_set_evtchn_upcall_vector), winning over CALLBACK_IRQ's. */
  readonly upcallVectors = new Map<number, number>();
  readonly runstateAreas = new Map<number, bigint>();
  runstateUpdateFlag = false;

  hvmParam(index: number): bigint {
    switch (index) {
      case HVM_PARAM.STORE_PFN: return this.storePort !== undefined ? BigInt(XENSTORE_PFN) : 0n;
      case HVM_PARAM.STORE_EVTCHN: return BigInt(this.storePort ?? 0);
      case HVM_PARAM.CONSOLE_PFN: return this.consolePort !== undefined ? BigInt(CONSOLE_PFN) : 0n;
      case HVM_PARAM.CONSOLE_EVTCHN: return BigInt(this.consolePort ?? 0);
    }
    return this.hvmParams.get(index) ?? 0n;
  }

  /** Stores a guest-settable param; CALLBACK_IRQ of type vector (2 << 56 | vector) routes events there. */
  setHvmParam(index: number, value: bigint): 0 {
    this.hvmParams.set(index, value);
    if (index === HVM_PARAM.CALLBACK_IRQ) this.callbackVector = value >> 56n === BigInt(HVM_PARAM_CALLBACK_TYPE_VECTOR) ? Number(value & 0xffn) : undefined;
    return 0;
  }

  /** A VIRQ of a VP fired (its synthetic timer expired): the hypervisor marks the bound port pending. */
  raiseVirq(vpIndex: number, v: number): void {
    const port = this.end.evtchn.virqPort(virq(v), vcpuId(vpIndex));
    if (port !== undefined) xenTransport(this.host).deliver(this.end, port);
  }

  /**
   * A port of ours went pending, by the 2-level ABI (event_2l.c evtchn_2l_set_pending): the
   * pending bit, then unless masked the selector bit of the port's vCPU and its upcall.
   */
  private raise(port: Port): void {
    const si = this.sharedInfo, e = this.end.evtchn.get(port);
    if (!si || !e) return;
    if (si.testAndSetPending(port)) return;
    this.eventsDelivered++;
    const vp = this.partition.vps[e.notifyVcpu];
    if (!si.testMasked(port) && !si.testAndSetPendingSel(e.notifyVcpu, port >> 6) && vp) this.markEventsPending(vp);
  }

  /**
   * vcpu_mark_events_pending: upcall_pending, then the interrupt: a per-VP upcall vector is an
   * edge into the VP's local APIC (as hvm_assert_evtchn_irq), CALLBACK_IRQ's vector goes to the
   * VP directly (no EOI); a VP blocked in SCHEDOP_block wakes either way.
   */
  private markEventsPending(vp: VirtualProcessor): void {
    const si = this.sharedInfo!;
    if (si.upcallPending(vp.index)) return;
    si.setUpcallPending(vp.index, 1);
    const perVp = this.upcallVectors.get(vp.index);
    if (perVp !== undefined) this.host.lapic.setIrq(vp.platform, perVp);
    else if (this.callbackVector !== undefined && !vp.cpu.pendingInterrupts.includes(this.callbackVector)) vp.cpu.injectInterrupt(this.callbackVector);
    if (vp.wakeOnEvent) this.wake(vp);
  }

  private wake(vp: VirtualProcessor): void {
    if (vp.state !== "halted") return;
    vp.state = "running";
    vp.wakeOnEvent = false;
  }

  private eventChannelOp(vp: VirtualProcessor, cmd: number, arg: bigint): number {
    const t = xenTransport(this.host);
    const si = () => { if (!this.sharedInfo) throw new RangeError("no shared_info"); return this.sharedInfo; };
    let r: { result: number; name: string; hyperv: string[] };
    try {
      r = eventChannelOp({
        transport: t, end: this.end, cpu: vp.cpu,
        signal: (conn, flag) => {
          // HvSignalEvent, fast: ConnectionId u32, FlagNumber u16 (the port).
          const input = new Uint8Array(8);
          new DataView(input.buffer).setUint32(0, conn, true);
          new DataView(input.buffer).setUint16(4, flag, true);
          return this.hv(vp, HVCALL.SIGNAL_EVENT, input, true);
        },
        markEventsPending: (v) => { const x = this.partition.vps[v]; if (x) this.markEventsPending(x); },
        testAndClearMask: (p) => si().testAndClearMask(port(p)),
        testPending: (p) => si().testPending(port(p)),
        testAndSetPendingSel: (v, w) => si().testAndSetPendingSel(vcpuId(v), w),
      }, cmd, arg);
    } catch {
      return this.record(`event_channel_op(${cmd})`, [], -XEN_ERRNO.EFAULT);
    }
    return this.record(r.name, r.hyperv, r.result);
  }

  private grantTableOp(vp: VirtualProcessor, cmd: number, arg: bigint, count: number): number {
    let r: { result: number; name: string; hyperv: string[] };
    // Guest pointers may be bad: -EFAULT for the guest, never an exception in the host.
    try {
      r = grantTableOp({
        cpu: vp.cpu, machine: this.host.machine, domid: this.domid, gnttab: this.gnttab,
        tableOf: (d) => this.host.partitionOfDomain(d)?.xenAdapter?.gnttab,
      }, cmd, arg, count);
    } catch { return this.record(`grant_table_op(${cmd})`, [], -XEN_ERRNO.EFAULT); }
    return this.record(r.name, r.hyperv, r.result);
  }

  toMimeBundle(): MimeBundle {
    return display(this);
  }
}
