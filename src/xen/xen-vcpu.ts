/**
 * A Xen vCPU: the machine's x86 Vcpu plus what Xen keeps about it (struct vcpu in
 * xen/include/xen/sched.h): runstate accounting, blocked/polling state, timers, affinity and the
 * credit scheduler's bookkeeping (struct csched_unit in xen/common/sched/credit.c).
 */
import { Vcpu } from "../machine";
import type { PlatformVcpu, SchedUnit } from "../platform";
import { RUNSTATE, Runstate } from "./abi";
import type { Domain } from "./domain";
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
  pollPorts: number[] = [];
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
  upcallVector: number | undefined;

  constructor(readonly domain: Domain, readonly id: number, readonly cpu: Vcpu | undefined) {}

  private view: PlatformVcpu | undefined;
  /** This vCPU as platform devices see it (dom0's vCPUs run no guest code: they have none). */
  get platform(): PlatformVcpu {
    const cpu = this.cpu;
    if (!cpu) throw new Error(`d${this.domain.domid}v${this.id} runs no guest code`);
    this.view ??= { key: `d${this.domain.domid}v${this.id}`, index: this.id, cpu, inject: (vector) => cpu.injectInterrupt(vector) };
    return this.view;
  }

  /**
   * Down (Xen's _VPF_down): not brought up yet (APs until VCPUOP_up), or taken down. A paused or
   * shut-down vCPU is in RUNSTATE_offline but still online.
   */
  down = false;

  get online(): boolean {
    return !this.down;
  }

  /** Moves to a new runstate at virtual time `now`, charging the time spent in the old one. */
  setRunstate(s: Runstate, now: number): void {
    this.stateTime[RUNSTATE[this.runstate]]! += Math.max(0, now - this.stateEntry);
    this.runstate = s;
    this.stateEntry = now;
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
