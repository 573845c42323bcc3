/**
 * A partition (TLFS 2.2): the root ("parent", running the virtualization stack: here this kernel)
 * or a child created by the root with HvCreatePartition. Its memory is the P2M of a machine domain
 * (its id); a child's pages are the root's, mapped with HvMapGpaPages, as in Hyper-V where all
 * memory belongs to the root until deposited or mapped.
 */
import type { Uart16550 } from "../platform/uart16550";
import type { VcpuId } from "../platform";
import { DomId, domId, GuestPhysical, Mfn, Vcpu } from "../machine";
import { display, MimeBundle } from "../mime";
import { Synic } from "./synic";
import type { PlatformVcpu, SchedUnit, UnitRunstate } from "../platform";
import { HV_PRIV, HvPrivilegeName, HV_SYNIC_STIMER_COUNT } from "./tlfs";
import type { PartitionId } from "./ids";
import type { HypervHost } from "./host";
import type { XenAdapter } from "./xen-adapter";

export type PartitionState = "created" | "initialized" | "finalized" | "deleted";
export type VpState = "suspended" | "running" | "halted";

export interface SyntheticTimer {
  config: bigint;
  count: bigint;
  /** Virtual ns at which it fires (undefined: not armed). */
  deadlineNs?: number;
  fired: number;
  /** Set by the Xen adapter (set_timer_op): called instead of posting HVMSG_TIMER_EXPIRED. */
  onFire?: () => void;
}

export class VirtualProcessor implements SchedUnit {
  state: VpState = "suspended";
  /** The platform run loop's bookkeeping: the LP it last ran on, whether it is on one now. */
  pcpu = 0;
  onLp = false;
  readyAt = 0;
  /** Virtual ns when it last left an LP (round-robin order). */
  lastScheduledOut = -1;
  readonly synic: Synic;
  /** HV_X64_MSR_VP_ASSIST_PAGE as the guest wrote it (bit 0 enable, page address in 63:12). */
  vpAssistMsr = 0n;
  readonly stimers: SyntheticTimer[] = Array.from({ length: HV_SYNIC_STIMER_COUNT }, () => ({ config: 0n, count: 0n, fired: 0 }));
  /** Virtual ns this VP has run (HV_X64_MSR_VP_RUNTIME, in 100 ns units when read). */
  runtimeNs = 0;
  hypercalls = 0;
  /** Halted in SCHEDOP_block: an event wakes it even with interrupts off (Xen's block semantics). */
  wakeOnEvent = false;
  /** Set by NotifyLongSpinWait / HLT: give up the rest of the slice. */
  yieldRequested = false;
  lastExit = "";

  constructor(readonly partition: Partition, readonly index: VcpuId, readonly cpu: Vcpu) {
    this.synic = new Synic(() => partition.memory, () => this.cpu);
  }

  /** The VP state in the platform's runstate terms. */
  get runstate(): UnitRunstate {
    if (this.state === "running") return this.onLp ? "running" : "runnable";
    return this.state === "halted" ? "blocked" : "offline";
  }

  setRunstate(s: UnitRunstate, now: number): void {
    if (s === "running") { this.onLp = true; return; }
    if (this.onLp) this.lastScheduledOut = now;
    this.onLp = false;
  }

  private view: PlatformVcpu | undefined;
  /** This VP as platform devices see it. */
  get platform(): PlatformVcpu {
    this.view ??= { key: `p${this.partition.id}vp${this.index}`, index: this.index, cpu: this.cpu, inject: (vector) => this.cpu.injectInterrupt(vector) };
    return this.view;
  }
}

export class Partition {
  state: PartitionState = "created";
  readonly vps: VirtualProcessor[] = [];
  guestOsId = 0n;
  /** HV_X64_MSR_HYPERCALL (partition-wide): enable bit 0, locked bit 1, GPFN 63:12. */
  hypercallMsr = 0n;
  referenceTscMsr = 0n;
  /** HV_X64_MSR_TIME_REF_COUNT reads (for the enlightenments view). */
  referenceCounterReads = 0;
  /** Pages deposited into this partition's hypervisor pool (HvDepositMemory), by machine frame. */
  readonly pool: Mfn[] = [];
  /** Where each pool page was in the depositor's address space (machine frame -> depositor GFN), for HvWithdrawMemory. */
  readonly poolOrigin = new Map<Mfn, number>();
  poolInUse = 0;
  /** Guest frames the host keeps for itself (the root's hypercall input/output pages). */
  readonly reservedGfns = new Set<number>();
  /** Guest frames mapped by the root (HvMapGpaPages). */
  mappedPages = 0;
  /** The Xen hypercall adapter, for Xen-enabled guests (createChild({ xenAdapter: true })). */
  xenAdapter: XenAdapter | undefined;
  /** SCHEDOP_shutdown reason, once a Xen-enabled guest shut down. */
  shutdownReason: number | undefined;
  /** Debug console output (port 0xE9, as QEMU/Bochs debugcon), and COM1's when it has one. */
  console = "";
  /** COM1, for a child booted natively by Linux's boot protocol (createChild({ linux })). */
  uart: Uart16550 | undefined;
  /** Virtual ns at creation. */
  readonly createdNs: number;
  /**
   * The partition reference counter's zero (TLFS 12.4: it starts at 0 when the partition is
   * created and counts 100 ns units): the 100 ns tick at creation, so the counter, the reference
   * TSC page and synthetic timer deadlines all step on the same 100 ns boundaries.
   */
  readonly referenceBaseNs: number;
  readonly domid: DomId;
  readonly compatibilityVersion: number;

  constructor(
    readonly host: HypervHost,
    readonly id: PartitionId,
    readonly name: string,
    readonly kind: "root" | "child",
    readonly privileges: bigint,
    readonly parent: Partition | undefined,
    opts: { compatibilityVersion?: number; flags?: bigint } = {},
  ) {
    // The machine's domain for this partition's memory, numbered from the root as 0: partition ids
    // start at 1 (0 is HV_PARTITION_ID_INVALID) with the root, so a Xen-enabled child's domain is
    // also the Xen domain id the adapter shows it (the root plays dom0). One number, one owner.
    this.domid = domId(id - 1);
    this.createdNs = host.now;
    this.referenceBaseNs = Math.floor(host.now / 100) * 100;
    this.compatibilityVersion = opts.compatibilityVersion ?? 0;
  }

  private mem: GuestPhysical | undefined;
  /** Host-side access to this partition's guest-physical memory (its P2M is fixed for its life). */
  get memory(): GuestPhysical {
    this.mem ??= this.host.machine.guest(this.domid);
    return this.mem;
  }

  has(p: HvPrivilegeName): boolean {
    return (this.privileges & HV_PRIV[p]) !== 0n;
  }

  /** Privileges by name (for views). */
  privilegeNames(): HvPrivilegeName[] {
    return (Object.keys(HV_PRIV) as HvPrivilegeName[]).filter((k) => this.has(k));
  }

  get hypercallPageGpa(): number | undefined {
    return this.hypercallMsr & 1n ? Number(this.hypercallMsr & ~0xfffn) : undefined;
  }

  /** Partition reference counter at virtual time `ns` (100 ns units since creation; TLFS 12.4). */
  referenceTime(ns = this.host.now): bigint {
    return BigInt(Math.floor((ns - this.referenceBaseNs) / 100));
  }

  /** Virtual ns at which the reference counter reads `count` (a synthetic timer's deadline). */
  referenceNs(count: bigint): number {
    return this.referenceBaseNs + Number(count) * 100;
  }

  vp(i: number): VirtualProcessor {
    const v = this.vps[i];
    if (!v) throw new RangeError(`partition ${this.id} has no VP ${i}`);
    return v;
  }

  toMimeBundle(): MimeBundle {
    return display(this);
  }
}
