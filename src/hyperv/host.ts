/**
 * The Hyper-V host personality: Windows Server "Longhorn" as the root partition (its
 * virtualization stack is this kernel), child partitions created through the TLFS hypercalls, the
 * synthetic MSRs and CPUID leaves, SynIC and VMBus.
 *
 * Virtual time moves only inside `run()`: VPs run round-robin, in partition then VP order, for a
 * quantum of instructions each (cpuMHz instructions per virtual µs); after a round, time advances by
 * the longest run. When every VP waits, time jumps to the next synthetic timer. Long runs check for
 * a Jupyter interrupt between rounds.
 */
import { CPUID_HYPERVISOR_END, CPUID_HYPERVISOR_FIRST, DEBUGCON_PORT, EXC_GP, EXC_UD, RFLAGS_IF, unclaimedPortRead, Vector } from "../abi/x86";
import { VIRIDIAN_CALL_FLAG } from "../xen/viridian";
import { ElfFile, Machine, Mfn, PT_LOAD, Vcpu, buildPageTables, domId, gfn, gva, PAGE_SIZE } from "../machine";
import type { DomId } from "../machine";
import type { Exit } from "../machine";
import { KeyboardInterrupt } from "../interrupt";
import { DeviceBus, Pcpu, RunLoop, TraceRing, VirtualClock, vcpuId } from "../platform";
import { APIC_BUS_CYCLE_NS, LocalApic } from "../platform/lapic";
import { pvhMsrs } from "../xen/pvh-msrs";
import { VpScheduler } from "./vp-scheduler";
import { xenCpuid } from "../xen/cpuid";
import { display, MimeBundle } from "../mime";
import { HypervError } from "./errors";
import { decodeInput, encodeInput, encodeResult } from "./hypercall-abi";
import { CALL_BY_CODE, CALL_NAMES, CallContext, REPS_PER_ENTRY, INIT_POOL_PAGES, VP_POOL_PAGES } from "./hypercalls";
import { Partition, VirtualProcessor } from "./partition";
import { VmbusServer } from "./vmbus";
import { LONGHORN_VMBUS_VERSIONS, VMBUS_VERSION, type VmbusVersion, vmbusVersionName } from "./vmbus-abi";
import { XenAdapter, TAGGED_HV_PAGE_PREFIX } from "./xen-adapter";
import { specialPfn, X86_HVM_NR_SPECIAL_PAGES } from "../xen/builder";
import { loadPvh } from "./pvh";
import { BOOT_CS, loadLinuxBzImage } from "./linux-boot";
import { hypervFirmwareTables } from "./firmware-acpi";
import { COM1_PORT, Uart16550 } from "../platform/uart16550";
import { buildAcpiTables, lapicId } from "../xen/loader/acpi";
import type { BlockDevice } from "../vhd/block-device";
import { partitionId, type ConnectionId, type PartitionId } from "./ids";
import { VhdDisk } from "../vhd/vhd-disk";
import { readVmc, VmcImport } from "./vmc";
import {
  CHILD_PRIVILEGES, HV_FEATURE, HV_PRIV, HV_CPUID, HV_INTERFACE_SIGNATURE, HV_MAP_GPA, HV_MSR, HV_RECOMMEND, HV_REG, HV_STATUS, HV_SYNIC_VERSION_1,
  HV_VENDOR, HVCALL, HVMSG, ROOT_PRIVILEGES, SINT_MASKED, STIMER, TSC_PAGE, hvStatusName,
} from "./tlfs";

export interface HypervHostOptions {
  /** Logical processors (VPs beyond this share them round-robin). */
  lps?: number;
  memoryMiB?: number;
  rootMemoryMiB?: number;
  cpuMHz?: number;
  /** Instructions per VP per scheduling round. */
  quantum?: number;
  maxVpsPerPartition?: number;
  /** The root's wall clock at virtual time 0 (Unix seconds); by default the Xen host's, 2006-07-17. */
  bootEpoch?: number;
  /**
   * The VMBus protocol versions the root's vmbus server accepts in INITIATE_CONTACT (VMBUS_VERSION.*).
   * By default the 2008 host's, 0.13 and 1.1 (LONGHORN_VMBUS_VERSIONS); add VMBUS_VERSION.WIN8 (2.4),
   * the oldest Linux 5.17 and later ask for, to connect Debian 12's hv_vmbus.
   */
  vmbusVersions?: readonly number[];
}

export interface HvTraceRecord {
  t: number;
  partition: number;
  vp: number;
  code: number;
  name: string;
  fast: boolean;
  repStart: number;
  repCount: number;
  status: number;
  repsCompleted: number;
  /** The call returned to the guest for a continuation (RIP rewound, RCX rep start advanced). */
  continued: boolean;
}

export interface HvRunOptions {
  ns?: number;
  until?: (h: HypervHost) => boolean;
  maxInstructions?: number;
  /** Called between quanta (e.g. to update a live display). */
  onSlice?: (h: HypervHost) => void;
}

export interface HvRunResult {
  startNs: number;
  endNs: number;
  instructions: number;
  stoppedBy: "time" | "until" | "idle" | "instructions";
}

/** A connection (TLFS 11.5): what a PostMessage / SignalEvent on its id reaches. */
export interface Connection {
  id: ConnectionId;
  owner: string;
  /** Handles a message; returns an HV_STATUS. */
  onMessage?: (from: Partition, type: number, payload: Uint8Array) => number;
  onEvent?: (from: Partition, flag: number) => number;
  /** Which partitions may use it (undefined: any). */
  allowed?: (from: Partition) => boolean;
}

export interface ChildOptions {
  name: string;
  memoryMiB?: number;
  /** An x86-64 ELF (linked at its physical addresses) started in 64-bit mode at its entry. */
  elf?: Uint8Array;
  /** Or raw 64-bit code loaded at 1 MiB. */
  code?: Uint8Array;
  vps?: number;
  paused?: boolean;
  /** Install the Xen hypercall adapter (Xen leaves at 0x40000100, MSR 0x40000200). */
  xenAdapter?: boolean;
  /** A PVH kernel (ELF with XEN_ELFNOTE_PHYS32_ENTRY, or a bzImage carrying one), booted as Xen boots it; implies xenAdapter. */
  pvh?: Uint8Array;
  /**
   * A bzImage booted natively, enlightened: Linux's x86 64-bit boot protocol (src/hyperv/linux-boot.ts)
   * with Hyper-V's firmware ACPI tables (VMBus and COM1 in the DSDT) and COM1 as its console.
   */
  linux?: Uint8Array;
  /** With pvh: an initrd, passed as hvm_start_info's first module; with linux: boot_params' ramdisk. */
  ramdisk?: Uint8Array;
  cmdline?: string;
}

/** Where the root keeps the hypercall input/output pages it uses on the toolstack's behalf. */
const ROOT_INPUT_GPA = 0x1000, ROOT_OUTPUT_GPA = 0x2000;
/** Root guest frames at and above this back child memory before it is mapped (4 GiB). */
const ROOT_CHILD_BACKING_GFN = 0x100000;
/** Child layout (identity mapped): page tables, stack, image at 1 MiB. */
export const CHILD_LAYOUT = { pageTables: 0x10000, stackTop: 0x80000, image: 0x100000 } as const;

/** Hyper-V 1.0 (Windows Server 2008) build 6001 SP1: CPUID 0x40000002 (TLFS 2.4.3). */
export const HV_VERSION = { build: 6001, major: 6, minor: 0, servicePack: 1, branch: 0, number: 0 } as const;

/** The versions the server implements: a host can offer any of them, nothing else. */
function checkVmbusVersions(vs: readonly number[]): VmbusVersion[] {
  const known = Object.entries(VMBUS_VERSION) as [string, VmbusVersion][];
  if (vs.length === 0) throw new HypervError("INVALID_PARAMETER", "vmbusVersions is empty: the host would refuse every INITIATE_CONTACT");
  return vs.map((v) => {
    const k = known.find(([, x]) => x === v);
    if (!k) throw new HypervError("INVALID_PARAMETER", `vmbusVersions: ${Number.isInteger(v) && v >= 0 ? `VMBus ${vmbusVersionName(v)}` : String(v)} is not a version this host implements (${known.map(([n, x]) => `${n} ${vmbusVersionName(x)}`).join(", ")})`);
    return k[1];
  });
}

export class HypervHost {
  readonly machine: Machine;
  readonly partitions = new Map<PartitionId, Partition>();
  readonly connections = new Map<ConnectionId, Connection>();
  readonly cpuMHz: number;
  readonly quantum: number;
  readonly lps: number;
  readonly maxVpsPerPartition: number;
  /** The root's wall clock (Unix seconds) at virtual time 0. */
  readonly bootEpoch: number;
  /** The VMBus versions this host's vmbus server accepts (HypervHostOptions.vmbusVersions). */
  readonly vmbusVersions: readonly VmbusVersion[];
  /** Virtual time (the platform's clock); partitions' reference counters count from it. */
  readonly clock: VirtualClock;
  get now(): number { return this.clock.now; }
  set now(t: number) { this.clock.now = t; }
  /** The logical processors, and the platform's run loop that schedules child VPs on them. */
  readonly pcpus: Pcpu<VirtualProcessor>[];
  readonly sched: VpScheduler;
  private readonly loop: RunLoop<VirtualProcessor>;
  get instructions(): number { return this.loop.instructions; }
  /** Platform devices (ports, MSRs, MMIO) offered every io/rdmsr/wrmsr/gpa-fault exit first. */
  readonly devices = new DeviceBus();
  /** Every child VP's local APIC: the platform's (the Xen host's vlapic), on the device bus and the timers. */
  readonly lapic: LocalApic;
  /** Recent hypercalls (the platform's trace ring, the last `traceLimit`). */
  readonly traceRing = new TraceRing<HvTraceRecord>(2000);
  /** The trace in order, oldest first. */
  get trace(): HvTraceRecord[] { return this.traceRing.records(); }
  get traceLimit(): number { return this.traceRing.limit; }
  set traceLimit(n: number) { this.traceRing.limit = n; }
  get traceEnabled(): boolean { return this.traceRing.enabled; }
  set traceEnabled(on: boolean) { this.traceRing.enabled = on; }
  readonly stats = { hypercalls: 0, continuations: 0, tlbFlushes: 0, spinWaits: 0, messages: 0, events: 0 };
  readonly log: string[] = [];
  private nextPartitionId = 1;
  private nextRootBacking = ROOT_CHILD_BACKING_GFN;
  readonly root: Partition;

  constructor(opts: HypervHostOptions = {}) {
    this.lps = opts.lps ?? 2;
    this.cpuMHz = opts.cpuMHz ?? 1000;
    this.quantum = opts.quantum ?? 20_000;
    this.maxVpsPerPartition = opts.maxVpsPerPartition ?? 64;
    this.bootEpoch = opts.bootEpoch ?? Date.UTC(2006, 6, 17) / 1000;
    this.vmbusVersions = checkVmbusVersions(opts.vmbusVersions ?? LONGHORN_VMBUS_VERSIONS);
    this.clock = new VirtualClock(this.cpuMHz);
    this.pcpus = Array.from({ length: this.lps }, (_, i) => new Pcpu<VirtualProcessor>(i));
    // A VP runs one quantum of instructions, then the next runnable VP gets the LP.
    const quantumNs = this.clock.nsFor(this.quantum);
    this.sched = new VpScheduler(this, this.pcpus, quantumNs);
    this.loop = new RunLoop(this.clock, this.pcpus, this.sched, quantumNs, {
      units: () => [],
      handleExit: (vp, x) => this.exit(vp, x),
      emulationFailed: (vp, e) => ({ kind: "unsupported", rip: gva(vp.cpu.rip), reason: e.message }),
      stopRequested: () => false,
    });
    this.loop.timers.add({ name: "hyperv synthetic timers", next: () => this.nextTimer() ?? Infinity, fire: () => this.fireTimers() });
    this.lapic = new LocalApic({
      now: () => this.now,
      tscAt: (ns) => this.clock.tscAt(ns),
      nsAtTsc: (tsc) => Math.ceil((tsc * 1000) / this.cpuMHz),
      peers: (pv) => this.vpOfKey(pv.key)?.partition.vps.map((v) => v.platform) ?? [],
      // The APIC IDs CPUID leaf 1 and the MADT give (the platform's numbering: 2 × VP index).
      apicId: (pv) => lapicId(pv.index),
      // A halted VP with the vector pending is made runnable by the VP scheduler's next look.
      kick: () => {},
      special: (from, to, icr) => this.log.push(`${from.key}: IPI delivery mode ${(icr >> 8) & 7} to VP ${to.index} ignored (start VPs with HvSetVpRegisters)`),
    });
    this.devices.add(this.lapic);
    this.loop.timers.add(this.lapic);
    // The architectural MSRs Linux reads before it has an IDT (MISC_ENABLE, UCODE_REV, PAT ...),
    // answered as Xen's msr.c answers an HVM guest: Hyper-V presents the same Intel MSRs.
    this.devices.add(pvhMsrs());
    this.machine = new Machine(opts.memoryMiB ?? 1024);
    this.root = new Partition(this, partitionId(this.nextPartitionId++), "Windows Server Longhorn", "root", ROOT_PRIVILEGES, undefined);
    this.root.state = "initialized";
    this.partitions.set(this.root.id, this.root);
    this.machine.populate(this.root.domid, gfn(0), (opts.rootMemoryMiB ?? 64) * 256);
    // The toolstack's hypercall pages must stay where they are (not deposited away).
    this.root.reservedGfns.add(ROOT_INPUT_GPA / PAGE_SIZE).add(ROOT_OUTPUT_GPA / PAGE_SIZE);
    for (let i = 0; i < this.lps; i++) this.newVp(this.root).state = "halted";
    this.log.push(`Hyper-V ${HV_VERSION.major}.${HV_VERSION.minor}.${HV_VERSION.build} (xenlab): root partition "${this.root.name}", ${this.lps} LPs`);
  }

  // =========================================================================================
  // Partitions and VPs (called by the hypercall handlers)
  // =========================================================================================

  private pendingName: string | undefined;
  private pendingPrivileges: bigint | undefined;

  newPartition(parent: Partition, flags: bigint, compatibilityVersion: number): Partition {
    const id = partitionId(this.nextPartitionId++);
    const p = new Partition(this, id, this.pendingName ?? `partition-${id}`, "child", this.pendingPrivileges ?? CHILD_PRIVILEGES, parent, { flags, compatibilityVersion });
    this.pendingName = undefined;
    this.pendingPrivileges = undefined;
    this.partitions.set(id, p);
    this.log.push(`partition ${id} "${p.name}" created by ${parent.id}`);
    return p;
  }

  newVp(p: Partition): VirtualProcessor {
    // A new VP starts in the INIT-like state our machine models: flat protected mode, paging off.
    const cpu = new Vcpu(this.machine, p.domid, p.vps.length, { mode: "protected32", rip: 0 });
    const vp = new VirtualProcessor(p, vcpuId(p.vps.length), cpu);
    p.vps.push(vp);
    return vp;
  }

  destroyPartition(p: Partition): void {
    for (const e of p.memory.p2m.entries()) p.memory.p2m.remove(e.gfn);
    for (const m of p.pool) this.machine.memory.free(m);
    p.pool.length = 0;
    p.poolInUse = 0;
    p.mappedPages = 0;
    p.vps.length = 0;
    p.state = "deleted";
    this.buses.delete(p.id);
    for (const [id, c] of this.connections) if (c.owner === `partition ${p.id}`) this.connections.delete(id);
    this.partitions.delete(p.id);
    this.log.push(`partition ${p.id} "${p.name}" deleted`);
  }

  /** The partition whose memory is machine domain `d` (for a Xen-enabled child, its Xen domid). */
  partitionOfDomain(d: DomId): Partition | undefined {
    for (const p of this.partitions.values()) if (p.domid === d) return p;
    return undefined;
  }

  /** The VP a platform device names by its key (`p<partition>vp<index>`). */
  vpOfKey(key: string): VirtualProcessor | undefined {
    const m = /^p(\d+)vp(\d+)$/.exec(key);
    return m ? this.partitions.get(partitionId(Number(m[1])))?.vps[Number(m[2])] : undefined;
  }

  partition(q: number | string): Partition {
    for (const p of this.partitions.values()) if (p.id === Number(q) || p.name === q) return p;
    throw new HypervError("INVALID_PARTITION_ID", `no partition ${q}`);
  }

  // =========================================================================================
  // Messages and events (TLFS 11.10)
  // =========================================================================================

  registerConnection(c: Connection): void {
    if (this.connections.has(c.id)) throw new HypervError("INVALID_CONNECTION_ID", `connection ${c.id} exists`);
    this.connections.set(c.id, c);
  }

  postMessage(from: Partition, connectionId: ConnectionId, type: number, payload: Uint8Array): number {
    const c = this.connections.get(connectionId);
    if (!c || !c.onMessage || (c.allowed && !c.allowed(from))) return HV_STATUS.INVALID_CONNECTION_ID;
    this.stats.messages++;
    return c.onMessage(from, type, payload);
  }

  signalEvent(from: Partition, connectionId: ConnectionId, flag: number): number {
    const c = this.connections.get(connectionId);
    if (!c || !c.onEvent || (c.allowed && !c.allowed(from))) return HV_STATUS.INVALID_CONNECTION_ID;
    this.stats.events++;
    return c.onEvent(from, flag);
  }

  // =========================================================================================
  // The hypercall path
  // =========================================================================================

  /**
   * Executes a hypercall for `vp` with the x64 register convention (RCX input value, RDX input GPA
   * or fast input 1, R8 output GPA or fast input 2). Returns RAX, and for a continuation the new
   * RCX (the caller then re-executes the call).
   */
  dispatch(p: Partition, vp: VirtualProcessor | undefined, rcx: bigint, rdx: bigint, r8: bigint): { rax: bigint; continueRcx?: bigint } {
    const inp = decodeInput(rcx);
    const def = CALL_BY_CODE.get(inp.code);
    const rec = (status: number, reps: number, continued = false) => {
      this.stats.hypercalls++;
      if (vp) vp.hypercalls++;
      this.traceRing.push({ t: this.now, partition: p.id, vp: vp?.index ?? -1, code: inp.code, name: def?.name ?? `0x${inp.code.toString(16)}`, fast: inp.fast, repStart: inp.repStart, repCount: inp.repCount, status, repsCompleted: reps, continued });
    };
    const fail = (s: number) => { rec(s, inp.repStart); return { rax: encodeResult(s, inp.repStart) }; };
    if (!def) return fail(HV_STATUS.INVALID_HYPERCALL_CODE);
    if (inp.reservedSet || inp.nested) return fail(HV_STATUS.INVALID_HYPERCALL_INPUT);
    if (inp.fast && !def.fastAllowed) return fail(HV_STATUS.INVALID_HYPERCALL_INPUT);
    // Rep and simple calls must be called as such (TLFS 3.7.3).
    if (def.rep ? inp.repCount === 0 || inp.repStart >= inp.repCount : inp.repCount !== 0 || inp.repStart !== 0) return fail(HV_STATUS.INVALID_HYPERCALL_INPUT);
    if (def.priv && !p.has(def.priv)) return fail(HV_STATUS.ACCESS_DENIED);
    const inSize = def.rep ? def.rep.header + def.rep.element * inp.repCount : def.inSize ?? 0;
    const outSize = def.rep ? def.rep.outElement * inp.repCount : def.outSize ?? 0;
    let input: Uint8Array;
    if (inp.fast) {
      input = new Uint8Array(16);
      const dv = new DataView(input.buffer);
      dv.setBigUint64(0, BigInt.asUintN(64, rdx), true);
      dv.setBigUint64(8, BigInt.asUintN(64, r8), true);
    } else {
      const inGpa = Number(BigInt.asUintN(52, rdx));
      if (inSize > 0) {
        if (inGpa % 8 !== 0) return fail(HV_STATUS.INVALID_ALIGNMENT);
        if ((inGpa % PAGE_SIZE) + inSize > PAGE_SIZE) return fail(HV_STATUS.INVALID_HYPERCALL_INPUT);
        try { input = p.memory.read(inGpa, inSize); } catch { return fail(HV_STATUS.INVALID_PARAMETER); }
      } else input = new Uint8Array(0);
    }
    const outGpa = Number(BigInt.asUintN(52, r8));
    if (outSize > 0 && (outGpa % 8 !== 0)) return fail(HV_STATUS.INVALID_ALIGNMENT);
    if (outSize > 0 && (outGpa % PAGE_SIZE) + outSize > PAGE_SIZE) return fail(HV_STATUS.INVALID_HYPERCALL_INPUT);
    const padded = new Uint8Array(Math.max(input.length, 16));
    padded.set(input);
    const output = new Uint8Array(outSize);
    const ctx: CallContext = { host: this, caller: p, vp, input: new DataView(padded.buffer), output: new DataView(output.buffer) };
    const flushOut = () => { if (outSize > 0) try { p.memory.write(outGpa, output); } catch { /* unmapped output: nothing written */ } };
    if (!def.rep) {
      const s = def.run!(ctx);
      if (s === HV_STATUS.SUCCESS) flushOut();
      rec(s, 0);
      return { rax: encodeResult(s, 0) };
    }
    let i = inp.repStart;
    const stop = Math.min(inp.repCount, inp.repStart + REPS_PER_ENTRY);
    let s: number = HV_STATUS.SUCCESS;
    for (; i < stop; i++) {
      s = def.runRep!(ctx, i);
      if (s !== HV_STATUS.SUCCESS) break;
    }
    // Output elements [repStart, i) are valid.
    if (def.rep.outElement > 0 && i > inp.repStart) {
      const a = def.rep.outElement * inp.repStart, b = def.rep.outElement * i;
      try { p.memory.write(outGpa + a, output.subarray(a, b)); } catch { /* as above */ }
    }
    if (s === HV_STATUS.SUCCESS && i < inp.repCount) {
      this.stats.continuations++;
      rec(s, i, true);
      return { rax: encodeResult(s, i), continueRcx: encodeInput({ ...inp, repStart: i }) };
    }
    rec(s, i);
    return { rax: encodeResult(s, i) };
  }

  /**
   * The root's toolstack calling the hypervisor (what Windows' VID driver does): the input goes
   * through the root's input page, the same path a guest's `call hypercall_page` takes; rep calls
   * are continued until done.
   */
  rootCall(code: number, input: Uint8Array, opts: { reps?: number; outSize?: number } = {}): { status: number; repsCompleted: number; output: Uint8Array } {
    if (input.length > PAGE_SIZE) throw new HypervError("INVALID_PARAMETER", `hypercall input of ${input.length} bytes does not fit a page`);
    const g = this.root.memory;
    g.fill(ROOT_INPUT_GPA, PAGE_SIZE, 0);
    g.write(ROOT_INPUT_GPA, input);
    let rcx = encodeInput({ code, repCount: opts.reps ?? 0 });
    for (;;) {
      const r = this.dispatch(this.root, undefined, rcx, BigInt(ROOT_INPUT_GPA), BigInt(ROOT_OUTPUT_GPA));
      if (r.continueRcx !== undefined) { rcx = r.continueRcx; continue; }
      const status = Number(r.rax & 0xffffn), reps = Number((r.rax >> 32n) & 0xfffn);
      return { status, repsCompleted: reps, output: g.read(ROOT_OUTPUT_GPA, opts.outSize ?? 0) };
    }
  }

  private mustSucceed(what: string, r: { status: number }): void {
    if (r.status !== HV_STATUS.SUCCESS) throw new HypervError(hvStatusName(r.status), `${what} failed: ${hvStatusName(r.status)}`);
  }

  /** Allocates root pages to back a child (the root owns all memory) and returns their root GFNs. */
  private rootBacking(pages: number): number[] {
    const first = this.nextRootBacking;
    this.machine.populate(this.root.domid, gfn(first), pages);
    this.nextRootBacking += pages;
    const gfns = Array.from({ length: pages }, (_, i) => first + i);
    for (const g of gfns) this.rootGfnByMfn.set(this.root.memory.p2m.lookup(gfn(g))!.mfn, g);
    return gfns;
  }

  /** Which root GFN holds each machine frame the root backs children with (its own memory map). */
  private readonly rootGfnByMfn = new Map<Mfn, number>();

  /**
   * The root GFN of a machine frame: a frame backing a child is found where the root put it; a
   * frame the root does not map yet (a Xen grant-table frame) is mapped into the root's space first.
   */
  rootGfnOf(m: Mfn): number {
    let g = this.rootGfnByMfn.get(m);
    if (g === undefined) {
      g = this.nextRootBacking++;
      this.root.memory.p2m.set(gfn(g), m, true);
      this.rootGfnByMfn.set(m, g);
    }
    return g;
  }

  /** The root maps machine frame `m` at a child's GFN: HvMapGpaPages of the root page holding it. */
  rootMapFrame(child: Partition, childGfn: number, m: Mfn, writable: boolean): void {
    const b = new Uint8Array(32);
    const dv = new DataView(b.buffer);
    dv.setBigUint64(0, BigInt(child.id), true);
    dv.setBigUint64(8, BigInt(childGfn), true);
    dv.setUint32(16, HV_MAP_GPA.READABLE | (writable ? HV_MAP_GPA.WRITABLE : 0), true);
    dv.setBigUint64(24, BigInt(this.rootGfnOf(m)), true);
    this.mustSucceed("HvMapGpaPages", this.rootCall(HVCALL.MAP_GPA_PAGES, b, { reps: 1 }));
  }

  /** HvUnmapGpaPages of one child GFN. */
  rootUnmapGpa(child: Partition, childGfn: number): void {
    const b = new Uint8Array(24);
    const dv = new DataView(b.buffer);
    dv.setBigUint64(0, BigInt(child.id), true);
    dv.setBigUint64(8, BigInt(childGfn), true);
    this.mustSucceed("HvUnmapGpaPages", this.rootCall(HVCALL.UNMAP_GPA_PAGES, b, { reps: 1 }));
  }

  /** A rep call over many u64 elements, one input page per batch; `header(k)` for the batch starting at element k. */
  private repCall(code: number, header: (k: number) => Uint8Array, elements: bigint[], what: string): void {
    const hlen = header(0).length;
    const per = Math.min(0xfff, Math.floor((PAGE_SIZE - hlen) / 8));
    for (let k = 0; k < elements.length; k += per) {
      const chunk = elements.slice(k, k + per);
      const buf = new Uint8Array(hlen + chunk.length * 8);
      buf.set(header(k));
      const dv = new DataView(buf.buffer);
      chunk.forEach((e, i) => dv.setBigUint64(hlen + i * 8, e, true));
      this.mustSucceed(what, this.rootCall(code, buf, { reps: chunk.length }));
    }
  }

  /**
   * Creates, initializes and starts a child partition the way the root's virtualization stack does:
   * HvCreatePartition, HvDepositMemory, HvInitializePartition, HvMapGpaPages, HvCreateVp,
   * HvSetVpRegisters (64-bit mode at the image entry), then clears the VP's explicit suspend.
   */
  createChild(opts: ChildOptions): Partition {
    for (const p of this.partitions.values()) if (p.name === opts.name) throw new HypervError("INVALID_PARAMETER", `a partition named "${opts.name}" exists`);
    const memPages = (opts.memoryMiB ?? 16) * 256;
    const nvps = opts.vps ?? 1;
    const u64s = (...v: (bigint | number)[]) => { const b = new Uint8Array(v.length * 8); const d = new DataView(b.buffer); v.forEach((x, i) => d.setBigUint64(i * 8, BigInt(x), true)); return b; };
    this.pendingName = opts.name;
    // A natively booted guest gets a guest partition's privileges: no AccessPartitionId (that is
    // the root's; Linux 6.1's hv_get_partition_id reads its answer through the root-only per-CPU
    // output page, a NULL pointer in a guest).
    if (opts.linux) this.pendingPrivileges = CHILD_PRIVILEGES & ~HV_PRIV.AccessPartitionId;
    const cr = this.rootCall(HVCALL.CREATE_PARTITION, u64s(0, 0, 0), { outSize: 8 });
    this.mustSucceed("HvCreatePartition", cr);
    const id = Number(new DataView(cr.output.buffer).getBigUint64(0, true));
    const p = this.partition(id);
    // Pool pages for the partition and its VPs, from the root's own memory.
    const pool = this.rootBacking(INIT_POOL_PAGES + nvps * VP_POOL_PAGES);
    this.repCall(HVCALL.DEPOSIT_MEMORY, () => u64s(id), pool.map(BigInt), "HvDepositMemory");
    this.mustSucceed("HvInitializePartition", this.rootCall(HVCALL.INITIALIZE_PARTITION, u64s(id)));
    const backing = this.rootBacking(memPages);
    const mapHeader = (k: number) => {
      const b = new Uint8Array(24);
      const mh = new DataView(b.buffer);
      mh.setBigUint64(0, BigInt(id), true);
      mh.setBigUint64(8, BigInt(k), true); // TargetGpaBase (a page number) of this batch
      mh.setUint32(16, HV_MAP_GPA.READABLE | HV_MAP_GPA.WRITABLE | HV_MAP_GPA.KERNEL_EXECUTABLE | HV_MAP_GPA.USER_EXECUTABLE, true);
      return b;
    };
    this.repCall(HVCALL.MAP_GPA_PAGES, mapHeader, backing.map(BigInt), "HvMapGpaPages");
    if (opts.xenAdapter || opts.pvh) p.xenAdapter = new XenAdapter(this, p);
    // Every child gets its VMBus server in the root (the VM worker process starts it with the VM).
    this.vmbus(p);
    for (let i = 0; i < nvps; i++) this.mustSucceed("HvCreateVp", this.rootCall(HVCALL.CREATE_VP, u64s(id, i)));
    // Load the image through the root's view of the child's memory (the worker process's job).
    const g = p.memory;
    let entry: number = CHILD_LAYOUT.image;
    if (opts.elf) {
      const elf = new ElfFile(opts.elf);
      for (const ph of elf.programHeaders) {
        if (ph.type === PT_LOAD && Number(ph.paddr) + ph.memsz > memPages * PAGE_SIZE) throw new HypervError("INVALID_PARAMETER", `ELF segment at 0x${Number(ph.paddr).toString(16)} is beyond the partition's ${opts.memoryMiB ?? 16} MiB`);
      }
      elf.loadInto(g, { usePaddr: true });
      entry = Number(elf.entry);
      for (const v of p.vps) v.cpu.symbols = new Map([...elf.symbolMap()].map(([k, x]) => [k, Number(x)]));
    } else if (opts.code) {
      if (CHILD_LAYOUT.image + opts.code.length > memPages * PAGE_SIZE) throw new HypervError("INVALID_PARAMETER", `code (${opts.code.length} bytes at 0x${CHILD_LAYOUT.image.toString(16)}) does not fit in ${opts.memoryMiB ?? 16} MiB`);
      g.write(CHILD_LAYOUT.image, opts.code);
    }
    if (opts.linux) {
      if (opts.pvh || opts.xenAdapter || opts.elf || opts.code) throw new HypervError("INVALID_PARAMETER", "linux boots a bzImage natively: it cannot be combined with pvh, xenAdapter, elf or code");
      const acpi = hypervFirmwareTables(nvps);
      for (const t of acpi.pages) for (let i = 0; i < Math.ceil(t.bytes.length / PAGE_SIZE); i++) this.rootMapNewPage(p, t.at / PAGE_SIZE + i);
      const boot = loadLinuxBzImage(g, opts.linux, memPages, opts.cmdline ?? "", opts.ramdisk, acpi);
      p.uart = new Uart16550(COM1_PORT, (s) => { p.console += s; });
      // boot.rst's 64-bit entry state: long mode, the loader's identity map, __BOOT_CS, RSI = zero page.
      this.setVpRegisters(id, 0, [
        [HV_REG.CR4, 0x20n, 0n], [HV_REG.CR3, BigInt(boot.cr3), 0n], [HV_REG.EFER, 0x500n, 0n],
        [HV_REG.CR0, 0x80000033n, 0n], [HV_REG.CS, 0n, 0xffffffffn | (BigInt(BOOT_CS) << 32n) | (BigInt(0xa09b) << 48n)],
        [HV_REG.RIP, BigInt(boot.entry), 0n], [HV_REG.RSI, BigInt(boot.zeroPage), 0n], [HV_REG.RFLAGS, 2n, 0n],
      ]);
      if (!opts.paused) this.setVpRegisters(id, 0, [[HV_REG.EXPLICIT_SUSPEND, 0n, 0n]]);
      return p;
    }
    if (opts.pvh) {
      // The firmware's ACPI tables (RSDP, XSDT, FADT, MADT with one LAPIC per VP, DSDT) at the
      // platform's address, on root pages mapped into the child: the same tables the Xen host's
      // toolstack gives a PVH domain, so a kernel finds the same APICs on both hosts.
      const acpi = buildAcpiTables(nvps);
      for (const t of acpi.pages) for (let i = 0; i < Math.ceil(t.bytes.length / PAGE_SIZE); i++) this.rootMapNewPage(p, t.at / PAGE_SIZE + i);
      const boot = loadPvh(g, opts.pvh, memPages, opts.cmdline ?? "", opts.ramdisk, acpi);
      p.xenAdapter!.setupXenStore();
      p.xenAdapter!.setupConsole();
      for (const v of p.vps) v.cpu.symbols = boot.symbols;
      // The PVH entry state: 32-bit flat protected mode, paging off, EBX = hvm_start_info.
      this.setVpRegisters(id, 0, [[HV_REG.RIP, BigInt(boot.entry), 0n], [HV_REG.RBX, BigInt(boot.startInfo), 0n], [HV_REG.RFLAGS, 2n, 0n]]);
      if (!opts.paused) this.setVpRegisters(id, 0, [[HV_REG.EXPLICIT_SUSPEND, 0n, 0n]]);
      return p;
    }
    // Xen-enabled guests also see Xen's special pages (xenstore ring...) where Xen puts them.
    const special = opts.xenAdapter ? [{ va: specialPfn(0) * PAGE_SIZE, gpa: specialPfn(0) * PAGE_SIZE, pages: X86_HVM_NR_SPECIAL_PAGES }] : [];
    const { cr3 } = buildPageTables(g, CHILD_LAYOUT.pageTables, [{ va: 0, gpa: 0, pages: memPages }, ...special]);
    p.xenAdapter?.setupXenStore();
    // 64-bit mode: CR0 PE|MP|ET|NE|WP|PG, CR4 PAE, EFER SCE|LME|LMA|NXE, CS 0x08 with L set.
    const regs: [number, bigint, bigint][] = [
      [HV_REG.CR4, 0x20n, 0n], [HV_REG.CR3, BigInt(cr3), 0n], [HV_REG.EFER, 0xd01n, 0n],
      [HV_REG.CR0, 0x80010033n, 0n], [HV_REG.CS, 0n, 0xffffffffn | (0x08n << 32n) | (BigInt(0xa09b) << 48n)],
      [HV_REG.RIP, BigInt(entry), 0n], [HV_REG.RSP, BigInt(CHILD_LAYOUT.stackTop), 0n], [HV_REG.RFLAGS, 2n, 0n],
    ];
    for (let i = 0; i < nvps; i++) {
      this.setVpRegisters(id, i, regs);
      if (!opts.paused && i === 0) this.setVpRegisters(id, i, [[HV_REG.EXPLICIT_SUSPEND, 0n, 0n]]);
    }
    return p;
  }

  /**
   * The root backs a child's frame with a fresh page of its own, mapped with HvMapGpaPages (what
   * an overlay such as Xen's shared_info needs); returns the machine frame.
   */
  rootMapNewPage(child: Partition, childGfn: number): Mfn {
    const [rootGfn] = this.rootBacking(1);
    const b = new Uint8Array(32);
    const dv = new DataView(b.buffer);
    dv.setBigUint64(0, BigInt(child.id), true);
    dv.setBigUint64(8, BigInt(childGfn), true);
    dv.setUint32(16, HV_MAP_GPA.READABLE | HV_MAP_GPA.WRITABLE, true);
    dv.setBigUint64(24, BigInt(rootGfn!), true);
    this.mustSucceed("HvMapGpaPages", this.rootCall(HVCALL.MAP_GPA_PAGES, b, { reps: 1 }));
    return this.root.memory.p2m.lookup(gfn(rootGfn!))!.mfn;
  }

  /** HvSetVpRegisters from the root. */
  setVpRegisters(partitionId: number, vpIndex: number, regs: [number, bigint, bigint][]): void {
    const buf = new Uint8Array(16 + regs.length * 32);
    const dv = new DataView(buf.buffer);
    dv.setBigUint64(0, BigInt(partitionId), true);
    dv.setUint32(8, vpIndex, true);
    regs.forEach(([n, lo, hi], i) => { dv.setUint32(16 + i * 32, n, true); dv.setBigUint64(16 + i * 32 + 16, lo, true); dv.setBigUint64(16 + i * 32 + 24, hi, true); });
    this.mustSucceed("HvSetVpRegisters", this.rootCall(HVCALL.SET_VP_REGISTERS, buf, { reps: regs.length }));
  }

  /** HvGetVpRegisters from the root: low qwords of the values. */
  getVpRegisters(partitionId: number, vpIndex: number, names: number[]): bigint[] {
    const buf = new Uint8Array(16 + names.length * 4);
    const dv = new DataView(buf.buffer);
    dv.setBigUint64(0, BigInt(partitionId), true);
    dv.setUint32(8, vpIndex, true);
    names.forEach((n, i) => dv.setUint32(16 + i * 4, n, true));
    const r = this.rootCall(HVCALL.GET_VP_REGISTERS, buf, { reps: names.length, outSize: names.length * 16 });
    this.mustSucceed("HvGetVpRegisters", r);
    const o = new DataView(r.output.buffer);
    return names.map((_, i) => o.getBigUint64(i * 16, true));
  }

  deletePartition(q: number | string): void {
    const p = this.partition(q);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(p.id), true);
    this.mustSucceed("HvDeletePartition", this.rootCall(HVCALL.DELETE_PARTITION, b));
  }

  // =========================================================================================
  // CPUID and MSRs
  // =========================================================================================

  cpuid(vp: VirtualProcessor, leaf: number, subleaf: number): [number, number, number, number] {
    const p = vp.partition;
    switch (leaf) {
      case HV_CPUID.VENDOR_AND_MAX_FUNCTIONS: return [HV_CPUID.HARDWARE_FEATURES, HV_VENDOR[0], HV_VENDOR[1], HV_VENDOR[2]];
      case HV_CPUID.INTERFACE: return [HV_INTERFACE_SIGNATURE, 0, 0, 0];
      case HV_CPUID.VERSION: return [HV_VERSION.build, (HV_VERSION.major << 16) | HV_VERSION.minor, HV_VERSION.servicePack, (HV_VERSION.branch << 24) | HV_VERSION.number];
      // EDX: the frequency MSRs this host answers (Linux then takes tsc_khz and the LAPIC timer's
      // rate from them instead of calibrating against a PIT the platform does not have).
      case HV_CPUID.FEATURES: return [Number(p.privileges & 0xffffffffn), Number(p.privileges >> 32n), 0, p.has("FrequencyAccess") ? HV_FEATURE.FREQUENCY_MSRS_AVAILABLE : 0];
      case HV_CPUID.ENLIGHTMENT_INFO: return [HV_RECOMMEND.REMOTE_TLB_FLUSH | HV_RECOMMEND.LOCAL_TLB_FLUSH | HV_RECOMMEND.RELAXED_TIMING, 0xffffffff, 0, 0];
      case HV_CPUID.IMPLEMENT_LIMITS: return [this.maxVpsPerPartition, this.lps, 0, 0];
      case HV_CPUID.HARDWARE_FEATURES: return [0, 0, 0, 0];
    }
    const xen = p.xenAdapter?.cpuid(vp, leaf, subleaf);
    if (xen) return xen;
    if (leaf >= CPUID_HYPERVISOR_FIRST && leaf < CPUID_HYPERVISOR_END) return [0, 0, 0, 0];
    return xenCpuid(leaf, subleaf, { domid: domId(p.id), vcpuId: vp.index, nrVcpus: p.vps.length, viridian: false });
  }

  /** Returns the value, or undefined for #GP. */
  rdmsr(vp: VirtualProcessor, msr: number): bigint | undefined {
    const p = vp.partition, s = vp.synic;
    const need = (k: Parameters<Partition["has"]>[0]) => p.has(k);
    switch (msr) {
      case HV_MSR.GUEST_OS_ID: return need("HypercallAccess") ? p.guestOsId : undefined;
      case HV_MSR.HYPERCALL: return need("HypercallAccess") ? p.hypercallMsr : undefined;
      case HV_MSR.VP_INDEX: return need("VpIndexAccess") ? BigInt(vp.index) : undefined;
      case HV_MSR.VP_RUNTIME: return need("VpRuntimeAccess") ? BigInt(Math.floor(vp.runtimeNs / 100)) : undefined;
      case HV_MSR.TIME_REF_COUNT:
        if (!need("PartitionReferenceCounter")) return undefined;
        p.referenceCounterReads++;
        return p.referenceTime(this.vpNow(vp));
      case HV_MSR.REFERENCE_TSC: return need("ReferenceTscAccess") ? p.referenceTscMsr : undefined;
      case HV_MSR.TSC_FREQUENCY: return need("FrequencyAccess") ? BigInt(this.cpuMHz) * 1_000_000n : undefined;
      // The platform LAPIC's bus clock (one count per APIC_BUS_CYCLE_NS before the divider).
      case HV_MSR.APIC_FREQUENCY: return need("FrequencyAccess") ? BigInt(1e9 / APIC_BUS_CYCLE_NS) : undefined;
      case HV_MSR.VP_ASSIST_PAGE: return need("ApicAccess") ? vp.vpAssistMsr : undefined;
      case HV_MSR.TPR: case HV_MSR.ICR: return need("ApicAccess") ? this.apicMsr(vp, msr) : undefined;
      case HV_MSR.SCONTROL: return need("SynicAccess") ? s.scontrol : undefined;
      case HV_MSR.SVERSION: return need("SynicAccess") ? HV_SYNIC_VERSION_1 : undefined;
      case HV_MSR.SIEFP: return need("SynicAccess") ? s.siefp : undefined;
      case HV_MSR.SIMP: return need("SynicAccess") ? s.simp : undefined;
      case HV_MSR.EOM: return need("SynicAccess") ? 0n : undefined;
    }
    if (msr >= HV_MSR.SINT0 && msr <= HV_MSR.SINT15) return need("SynicAccess") ? s.sint[msr - HV_MSR.SINT0] : undefined;
    if (msr >= HV_MSR.STIMER0_CONFIG && msr <= HV_MSR.STIMER3_COUNT) {
      if (!need("SyntheticTimerAccess")) return undefined;
      const t = vp.stimers[(msr - HV_MSR.STIMER0_CONFIG) >> 1]!;
      return (msr - HV_MSR.STIMER0_CONFIG) & 1 ? t.count : t.config;
    }
    return undefined;
  }

  /** Returns false for #GP. */
  wrmsr(vp: VirtualProcessor, msr: number, value: bigint): boolean {
    const p = vp.partition, s = vp.synic;
    const xen = p.xenAdapter?.wrmsr(msr, value);
    if (xen !== undefined) return xen;
    const need = (k: Parameters<Partition["has"]>[0]) => p.has(k);
    switch (msr) {
      case HV_MSR.GUEST_OS_ID:
        if (!need("HypercallAccess")) return false;
        p.guestOsId = value;
        // Clearing the guest OS id disables the hypercall page (TLFS 3.13).
        if (value === 0n) p.hypercallMsr &= ~1n;
        return true;
      case HV_MSR.HYPERCALL: {
        if (!need("HypercallAccess")) return false;
        if (p.hypercallMsr & 2n) return true; // locked: writes ignored
        // Enabling requires a guest OS id first (TLFS 3.13); otherwise the enable bit stays clear.
        const v = p.guestOsId === 0n ? value & ~1n : value;
        p.hypercallMsr = v & ~0xffcn;
        if (v & 1n) this.writeHypercallPage(p);
        return true;
      }
      case HV_MSR.REFERENCE_TSC:
        if (!need("ReferenceTscAccess")) return false;
        p.referenceTscMsr = value & ~0xffen;
        if (value & 1n) this.writeTscPage(p);
        return true;
      case HV_MSR.VP_ASSIST_PAGE:
        if (!need("ApicAccess")) return false;
        vp.vpAssistMsr = value & ~0xffen;
        if (value & 1n) this.zeroPage(p, Number(value & ~0xfffn));
        return true;
      case HV_MSR.EOI: case HV_MSR.ICR: case HV_MSR.TPR:
        return need("ApicAccess") && this.apicMsr(vp, msr, value) !== undefined;
      case HV_MSR.SCONTROL: if (!need("SynicAccess")) return false; s.scontrol = value & 1n; s.refresh(); return true;
      case HV_MSR.SIEFP: if (!need("SynicAccess")) return false; s.siefp = value & ~0xffen; if (value & 1n) this.zeroPage(p, s.siefpGpa); return true;
      case HV_MSR.SIMP: if (!need("SynicAccess")) return false; s.simp = value & ~0xffen; if (value & 1n) { this.zeroPage(p, s.simpGpa); s.refresh(); } return true;
      case HV_MSR.EOM: if (!need("SynicAccess")) return false; s.eom(); return true;
      case HV_MSR.SVERSION: return false; // read-only
    }
    if (msr >= HV_MSR.SINT0 && msr <= HV_MSR.SINT15) {
      if (!need("SynicAccess")) return false;
      const v = Number(value & 0xffn);
      // Vectors 0-15 are reserved: an unmasked SINT with one is a #GP (TLFS 11.8.4).
      if (!(value & SINT_MASKED) && v < 16) return false;
      s.sint[msr - HV_MSR.SINT0] = value & 0x700ffn;
      s.refresh();
      return true;
    }
    if (msr >= HV_MSR.STIMER0_CONFIG && msr <= HV_MSR.STIMER3_COUNT) {
      if (!need("SyntheticTimerAccess")) return false;
      const t = vp.stimers[(msr - HV_MSR.STIMER0_CONFIG) >> 1]!;
      if ((msr - HV_MSR.STIMER0_CONFIG) & 1) {
        t.count = value;
        if (t.config & STIMER.AUTO_ENABLE && value !== 0n) t.config |= STIMER.ENABLE;
      } else t.config = value;
      this.armTimer(p, vp, t);
      return true;
    }
    return false;
  }

  /**
   * HV_X64_MSR_EOI/ICR/TPR are the local APIC's EOI, ICR and TPR registers (TLFS "Synthetic
   * APIC MSRs"): the platform LAPIC's x2APIC MSRs 0x80b, 0x830, 0x808 answer them.
   */
  private apicMsr(vp: VirtualProcessor, msr: number, value?: bigint): bigint | undefined {
    const x2 = msr === HV_MSR.EOI ? 0x80b : msr === HV_MSR.ICR ? 0x830 : 0x808;
    if (value === undefined) { const v = this.lapic.rdmsr(vp.platform, x2); return v === "gp" ? undefined : v; }
    return this.lapic.wrmsr(vp.platform, x2, value) === "gp" ? undefined : value;
  }

  private zeroPage(p: Partition, gpa: number): void {
    // The hypervisor overlays the page: it reads as zero when enabled.
    try { p.memory.fill(gpa, PAGE_SIZE, 0); } catch { /* unmapped GPA: nothing to overlay */ }
  }

  /** The hypercall page: `vmcall; ret` at offset 0 (TLFS 3.13), the rest int3. */
  private writeHypercallPage(p: Partition): void {
    const page = new Uint8Array(PAGE_SIZE).fill(0xcc);
    // With the Xen adapter, Hyper-V calls are tagged with EAX bit 31 (Xen's Viridian page layout).
    page.set(p.xenAdapter ? TAGGED_HV_PAGE_PREFIX : [0x0f, 0x01, 0xc1, 0xc3], 0);
    try { p.memory.write(p.hypercallPageGpa!, page); } catch { p.hypercallMsr &= ~1n; }
  }

  /**
   * The reference TSC page (TLFS 12.7.2): ReferenceTime = ((VirtualTsc * TscScale) >> 64) + TscOffset,
   * in 100 ns units. The TSC ticks cpuMHz times per µs, so TscScale = 2^64 * 10 / cpuMHz, rounded
   * up: the fraction of tsc*10/cpuMHz is a multiple of 1/cpuMHz, so the rounding never carries
   * and the page gives exactly floor(tsc * 10 / cpuMHz), the counter's own value at that TSC.
   * TscOffset moves the zero to the partition's creation. One page for the whole partition: every
   * VP's TSC follows the same virtual time.
   */
  private writeTscPage(p: Partition): void {
    const gpa = Number(p.referenceTscMsr & ~0xfffn);
    const mhz = BigInt(this.cpuMHz);
    const scale = ((1n << 64n) * 10n + mhz - 1n) / mhz;
    const offset = -BigInt(p.referenceBaseNs / 100);
    try {
      const g = p.memory;
      const seq = g.u32(gpa + TSC_PAGE.sequence);
      g.setU64(gpa + TSC_PAGE.scale, scale);
      g.setU64(gpa + TSC_PAGE.offset, BigInt.asUintN(64, offset));
      g.setU32(gpa + TSC_PAGE.sequence, seq === 0xfffffffe || seq === 0 ? 1 : seq + 1);
    } catch { p.referenceTscMsr &= ~1n; }
  }

  private armTimer(p: Partition, vp: VirtualProcessor, t: VirtualProcessor["stimers"][number]): void {
    if (!(t.config & STIMER.ENABLE) || t.count === 0n) { t.deadlineNs = undefined; return; }
    // Periodic: count is the period from now; one-shot: count is an absolute reference time (TLFS 12.4.2).
    t.deadlineNs = t.config & STIMER.PERIODIC ? this.vpNow(vp) + Number(t.count) * 100 : p.referenceNs(t.count);
  }

  /**
   * Virtual time as the VP sees it now: inside its slice the VP is ahead of the quantum's start by
   * the instructions it retired, and its TSC says by how much (the run loop sets the TSC from
   * virtual time at the slice's start). The reference counter and the reference TSC page both
   * read this clock, so a guest reading one and then the other never sees time go back.
   */
  /** A VP's run time up to now: its finished slices, and inside a slice the part already run. */
  vpRuntimeNs(vp: VirtualProcessor): number {
    return vp.runtimeNs + (vp.onLp ? Math.max(0, this.vpNow(vp) - this.now) : 0);
  }

  vpNow(vp: VirtualProcessor): number {
    if (!vp.onLp) return this.now;
    return Math.max(this.now, ((vp.cpu.icount + vp.cpu.tscOffset) * 1000) / this.cpuMHz);
  }

  private fireTimers(): void {
    for (const p of this.partitions.values()) for (const vp of p.vps) vp.stimers.forEach((t, i) => {
      if (t.deadlineNs === undefined || t.deadlineNs > this.now) return;
      if (t.onFire) { t.deadlineNs = undefined; t.config &= ~STIMER.ENABLE; t.fired++; t.onFire(); return; }
      const sint = Number((t.config >> 16n) & 0xfn);
      const payload = new Uint8Array(24);
      const dv = new DataView(payload.buffer);
      // hv_timer_message_payload: timer_index u32, reserved u32, expiration_time u64, delivery_time u64
      dv.setUint32(0, i, true);
      dv.setBigUint64(8, p.referenceTime(t.deadlineNs), true);
      dv.setBigUint64(16, p.referenceTime(), true);
      vp.synic.post(sint, { type: HVMSG.TIMER_EXPIRED, origin: 0n, payload });
      t.fired++;
      if (t.config & STIMER.PERIODIC) t.deadlineNs += Number(t.count) * 100;
      else { t.deadlineNs = undefined; t.config &= ~STIMER.ENABLE; }
    });
  }

  private nextTimer(): number | undefined {
    let n: number | undefined;
    for (const p of this.partitions.values()) for (const vp of p.vps) for (const t of vp.stimers) if (t.deadlineNs !== undefined && (n === undefined || t.deadlineNs < n)) n = t.deadlineNs;
    return n;
  }

  // =========================================================================================
  // Running
  // =========================================================================================

  /** Answers one exit; false when the VP stops running (halt, crash). */
  handleExit(vp: VirtualProcessor, x: Exit): boolean {
    const cpu = vp.cpu, p = vp.partition;
    // Refusing an instruction delivers the exception now; delivery itself may end in an exit
    // (a triple fault when the guest has no usable IDT), which is handled like any other.
    const refuse = (vector: Vector, code: number | undefined, rip: number): boolean => {
      const y = cpu.injectException(vector, code, rip);
      return y ? this.handleExit(vp, y) : true;
    };
    vp.lastExit = x.kind;
    // Platform devices (src/platform/devices.ts) answer their ports and MSRs first.
    if (x.kind === "io" || x.kind === "rdmsr" || x.kind === "wrmsr" || x.kind === "gpa-fault") {
      const r = this.devices.handle(vp.platform, x);
      if (r === "handled") return true;
      if (r === "gp") return refuse(EXC_GP, 0, x.rip);
      if (typeof r === "object") { this.log.push(`partition ${p.id} VP ${vp.index}: ${r.failed} at 0x${x.rip.toString(16)}; VP stopped`); vp.state = "suspended"; return false; }
    }
    switch (x.kind) {
      case "hypercall": {
        // Without an enabled hypercall page, vmcall is an invalid opcode (TLFS 3.13).
        if (p.xenAdapter && !(cpu.getReg("rax") & VIRIDIAN_CALL_FLAG)) {
          if (cpu.cpl !== 0) return refuse(EXC_UD, undefined, x.rip);
          cpu.setReg("rax", p.xenAdapter.call(vp));
          return vp.state === "running";
        }
        if (!(p.hypercallMsr & 1n) || cpu.cpl !== 0) return refuse(EXC_UD, undefined, x.rip);
        const r = this.dispatch(p, vp, cpu.getReg("rcx"), cpu.getReg("rdx"), cpu.getReg("r8"));
        cpu.setReg("rax", r.rax);
        if (r.continueRcx !== undefined) { cpu.setReg("rcx", r.continueRcx); cpu.setReg("rip", x.rip); }
        if (vp.yieldRequested) { vp.yieldRequested = false; return false; }
        return true;
      }
      case "cpuid": { const [a, b, c, d] = this.cpuid(vp, x.leaf, x.subleaf); cpu.completeCpuid(a, b, c, d); return true; }
      case "rdmsr": { const v = this.rdmsr(vp, x.msr); if (v === undefined) return refuse(EXC_GP, 0, x.rip); cpu.completeRdmsr(v); return true; }
      case "wrmsr": return this.wrmsr(vp, x.msr, x.value) ? true : refuse(EXC_GP, 0, x.rip);
      case "io":
        if (p.uart?.claims(x.port)) {
          if (x.direction === "out") p.uart.write(x.port, x.value);
          else cpu.completeIn(x.size, p.uart.read(x.port));
          return true;
        }
        // Port 0xE9: the debug console (as QEMU's and Bochs' debugcon).
        if (x.port === DEBUGCON_PORT && x.direction === "out") p.console += String.fromCharCode(x.value & 0xff);
        else if (x.direction === "in") cpu.completeIn(x.size, unclaimedPortRead(x.size));
        return true;
      case "hlt":
        if (cpu.pendingInterrupts.length > 0 && (cpu.getFlags() & RFLAGS_IF)) return true;
        vp.state = "halted";
        return false;
      case "budget": case "interrupt": case "breakpoint": case "watchpoint":
        return false;
      default:
        this.log.push(`partition ${p.id} VP ${vp.index}: ${x.kind} at 0x${x.rip.toString(16)}${"reason" in x ? `: ${x.reason}` : ""}; VP stopped`);
        vp.state = "suspended";
        return false;
    }
  }

  /**
   * An exit on the platform's run loop: answered by handleExit; a VP that stops (halt, crash) or
   * gives up its slice leaves the LP. A failure while answering stops that VP, not the kernel.
   */
  private exit(vp: VirtualProcessor, x: Exit): void {
    let more: boolean;
    try {
      more = this.handleExit(vp, x);
    } catch (e) {
      if (e instanceof KeyboardInterrupt) throw e;
      this.log.push(`partition ${vp.partition.id} VP ${vp.index}: handling ${x.kind} failed: ${e instanceof Error ? e.message : String(e)}; VP stopped`);
      vp.state = "suspended";
      return;
    }
    // A stop that leaves the VP runnable (the end of its budget, a long-spin yield) ends its slice.
    if (!more && vp.state === "running" && x.kind !== "budget") vp.yieldRequested = true;
  }

  /**
   * Runs the child partitions in virtual time on the platform's run loop (the same core as the
   * Xen host, with Hyper-V's VP scheduler): until `until` holds, `ns` pass, `maxInstructions`
   * retire, or every VP waits with no synthetic timer armed.
   */
  run(opts: HvRunOptions = {}): HvRunResult {
    const r = this.loop.run({ ns: opts.ns, maxInstructions: opts.maxInstructions ?? (opts.ns === undefined ? Infinity : undefined), until: opts.until && (() => opts.until!(this)), onSlice: opts.onSlice && (() => opts.onSlice!(this)) });
    return { ...r, stoppedBy: r.stoppedBy === "breakpoint" ? "until" : r.stoppedBy };
  }

  private readonly buses = new Map<number, VmbusServer>();

  /** The root's VMBus server for a child (created on first use). */
  vmbus(q: number | string | Partition): VmbusServer {
    const p = typeof q === "object" ? q : this.partition(q);
    if (p.kind === "root") throw new HypervError("INVALID_PARTITION_ID", "the root is the VMBus server, not a client");
    let v = this.buses.get(p.id);
    if (!v) { v = new VmbusServer(this, p); this.buses.set(p.id, v); }
    return v;
  }

  /** The child's VMBus server if it has one (no server is created). */
  vmbusOf(p: Partition): VmbusServer | undefined {
    return this.buses.get(p.id);
  }

  /** Attaches a disk to a child's synthetic SCSI controller (a storvsp channel offer). */
  attachDisk(q: number | string | Partition, disk: BlockDevice, label = "disk"): void {
    this.vmbus(q).addStorage(disk, label);
  }

  /**
   * Imports a Virtual Server 2005 VM: reads the .vmc, resolves its VHDs (absolute path, then
   * relative to the .vmc), creates a child partition with its memory and offers each hard disk on
   * the synthetic SCSI controller. The partition stays suspended: VS2005 guests boot from a BIOS,
   * which this host does not emulate; load an enlightened kernel with createChild for that.
   */
  importVmc(path: string, opts: { name?: string } = {}): VmcImport & { partition: Partition } {
    const imp = readVmc(path, opts.name);
    const p = this.createChild({ name: imp.config.name, memoryMiB: imp.config.memoryMiB, paused: true });
    for (const d of imp.disks) if (d.kind === "disk") this.attachDisk(p, VhdDisk.open(d.path), d.path);
    this.log.push(`imported ${path} as partition ${p.id} "${p.name}" (${imp.disks.length} drives)`);
    return { ...imp, partition: p };
  }

  static callName(code: number): string {
    return CALL_NAMES.get(code) ?? `0x${code.toString(16).padStart(4, "0")}`;
  }

  toMimeBundle(): MimeBundle {
    return display(this);
  }
}
