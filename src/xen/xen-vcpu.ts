/**
 * A Xen vCPU: the machine's x86 Vcpu plus what Xen keeps about it (struct vcpu in
 * xen/include/xen/sched.h): runstate accounting, blocked/polling state, timers, affinity and the
 * credit scheduler's bookkeeping (struct csched_unit in xen/common/sched/credit.c).
 */
import type { Vector } from "../abi/x86";
import { Mfn, Vcpu } from "../machine";
import type { PlatformVcpu, SchedUnit, VcpuId } from "../platform";
import { LAYOUT, RUNSTATE, Runstate, XEN_RUNSTATE_UPDATE } from "./abi";
import type { Domain } from "./domain";
import type { Port } from "./types";
import type { MimeBundle } from "../mime";

/** Credit scheduler priorities (credit.c CSCHED_PRI_*). */
export const CSCHED_PRI = { BOOST: 0, UNDER: -1, OVER: -2, IDLE: -64 } as const;

export class XenVcpu implements SchedUnit {
  /** Runstate (vcpu.h RUNSTATE_*) and when it was entered (virtual ns). */
  runstate: Runstate = "offline";
  stateEntry = 0;
  /** Time spent in each runstate, ns (vcpu_runstate_info.time[4]). */
  readonly stateTime = [0, 0, 0, 0];
  /** Why a blocked vCPU sleeps: SCHEDOP_block, hlt, SCHEDOP_poll, or down/paused. */
  blockedOn: "block" | "hlt" | "poll" | undefined;
  pollPorts: Port[] = [];
  pollDeadline: number | undefined;
  /** Timers (absolute virtual ns). */
  singleshot: number | undefined;
  periodicNs = 0;
  periodicNext: number | undefined;
  /** The pCPU it last ran on / is queued on, and its hard affinity (undefined = all). */
  pcpu = 0;
  affinity: number[] | undefined;
  // credit scheduler
  credit = 0;
  pri: number = CSCHED_PRI.UNDER;
  active = false;
  parked = false;
  /** Earliest virtual time it may start running (when it became runnable). */
  readyAt = 0;
  /** Registered vcpu_info location, if moved out of shared_info (VCPUOP_register_vcpu_info). */
  vcpuInfoGpa: number | undefined;
  /** Per-vCPU event upcall vector (HVMOP_set_evtchn_upcall_vector). */
  upcallVector: Vector | undefined;
  /**
   * The guest-virtual address of its vcpu_runstate_info copy (VCPUOP_register_runstate_memory_area),
   * rewritten at every runstate change as Xen's update_runstate_area does.
   */
  runstateGva: bigint | undefined;
  /** PV: the L4 the vCPU runs on (arch.guest_table); it holds one type reference of that frame. */
  guestTable: Mfn | undefined;

  constructor(readonly domain: Domain, readonly id: VcpuId, readonly cpu: Vcpu | undefined) {}

  private view: PlatformVcpu | undefined;
  /** This vCPU as platform devices see it (dom0's vCPUs run no guest code: they have none). */
  get platform(): PlatformVcpu {
    const cpu = this.cpu;
    if (!cpu) throw new Error(`d${this.domain.domid}v${this.id} runs no guest code`);
    this.view ??= {
      key: `d${this.domain.domid}v${this.id}`, index: this.id, cpu,
      inject: (vector) => cpu.injectInterrupt(vector),
      wake: () => this.domain.host.kick(this),
    };
    return this.view;
  }

  /**
   * Down (Xen's _VPF_down): not brought up yet (APs until VCPUOP_up), or taken down. A paused or
   * shut-down vCPU is in RUNSTATE_offline but still online.
   */
  down = false;
  /**
   * Xen's is_initialised: the vCPU has a context (vCPU 0 from the domain builder, an AP from
   * VCPUOP_initialise or a startup IPI). A second SIPI to an initialised vCPU is ignored.
   */
  initialised = false;

  get online(): boolean {
    return !this.down;
  }

  /** Moves to a new runstate at virtual time `now`, charging the time spent in the old one. */
  setRunstate(s: Runstate, now: number): void {
    this.stateTime[RUNSTATE[this.runstate]]! += Math.max(0, now - this.stateEntry);
    this.runstate = s;
    this.stateEntry = now;
    if (this.runstateGva !== undefined) this.updateRunstateArea(now);
  }

  /** The runstate as vcpu_runstate_info (vcpu.h): state, state_entry_time, time[4] up to `now`. */
  runstateInfo(now: number): Uint8Array {
    const b = new Uint8Array(LAYOUT.vcpu_runstate_info.size), dv = new DataView(b.buffer);
    const RI = LAYOUT.vcpu_runstate_info.f, cur = RUNSTATE[this.runstate];
    dv.setUint32(RI.state, cur, true);
    dv.setBigUint64(RI.state_entry_time, BigInt(Math.floor(this.stateEntry)), true);
    for (let i = 0; i < 4; i++) dv.setBigUint64(RI.time + i * 8, BigInt(Math.floor(this.stateTime[i]! + (i === cur ? Math.max(0, now - this.stateEntry) : 0))), true);
    return b;
  }

  /**
   * update_runstate_area (xen/common/domain.c): copies the runstate to the registered address
   * through the guest's page tables; with VMASST_TYPE_runstate_update_flag, state_entry_time
   * carries XEN_RUNSTATE_UPDATE while the copy is being written. A copy that faults is skipped.
   */
  updateRunstateArea(now: number): void {
    const va = this.runstateGva, cpu = this.cpu;
    if (va === undefined || !cpu) return;
    const RI = LAYOUT.vcpu_runstate_info.f;
    const info = this.runstateInfo(now);
    try {
      if (this.domain.runstateUpdateFlag) {
        const entry = new DataView(info.buffer).getBigUint64(RI.state_entry_time, true);
        cpu.writeVirtU64(va + BigInt(RI.state_entry_time), entry | XEN_RUNSTATE_UPDATE);
        cpu.writeVirt(va, info);
      } else cpu.writeVirt(va, info);
    } catch {
      // Not mapped (yet): Xen's copy fails silently too.
    }
  }

  /** Total time spent running, up to `now` (ns). */
  cpuTime(now: number): number {
    return this.stateTime[RUNSTATE.running]! + (this.runstate === "running" ? Math.max(0, now - this.stateEntry) : 0);
  }

  /** Registers and disassembly (the machine's view) under a Xen header line. */
  toMimeBundle(): MimeBundle {
    const head = `d${this.domain.domid}v${this.id} (${this.domain.name}): ${this.runstate}${this.blockedOn ? ` on ${this.blockedOn}` : ""}, pCPU ${this.pcpu}, credit ${this.credit.toFixed(0)}, ${this.down ? "down" : "up"}`;
    if (!this.cpu) return { "text/plain": head };
    const b = this.cpu.toMimeBundle();
    return { ...b, "text/plain": `${head}\n${b["text/plain"]}` };
  }

  allowedOn(p: number): boolean {
    return this.affinity === undefined || this.affinity.includes(p);
  }
}
