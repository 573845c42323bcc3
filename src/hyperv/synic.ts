/**
 * The synthetic interrupt controller of one virtual processor (TLFS chapter 11): SCONTROL, the
 * message page (SIMP) with 16 one-message slots, the event-flags page (SIEFP) with 16 × 2048 flags,
 * SINT0-15 and EOM. Slot semantics as the TLFS describes them: a message is copied into the slot of
 * its SINT only if the slot's type is HvMessageTypeNone; otherwise it waits in the hypervisor's
 * queue and the slot's MessagePending flag is set, so that the guest, after clearing the slot, writes
 * EOM to have the next one delivered.
 */
import { gfn, GuestPhysical, PAGE_SIZE, Vcpu } from "../machine";
import {
  HV_EVENT_FLAGS_COUNT, HV_MESSAGE, HV_MESSAGE_FLAG_PENDING, HV_MESSAGE_PAYLOAD_BYTE_COUNT, HV_MESSAGE_SIZE,
  HV_SYNIC_SINT_COUNT, HVMSG, SINT_MASKED, SINT_AUTO_EOI,
} from "./tlfs";

export interface HvMessage {
  type: number;
  origin: bigint;
  payload: Uint8Array;
}

export interface SynicCounters {
  delivered: number;
  queued: number;
  eoms: number;
  eventsSignalled: number;
  interrupts: number;
}

export class Synic {
  scontrol = 0n;
  siefp = 0n;
  simp = 0n;
  readonly sint: bigint[] = Array.from({ length: HV_SYNIC_SINT_COUNT }, () => SINT_MASKED);
  /** Messages waiting because their slot was busy (or the SIMP was off), per SINT. */
  readonly queues: HvMessage[][] = Array.from({ length: HV_SYNIC_SINT_COUNT }, () => []);
  readonly counters: SynicCounters = { delivered: 0, queued: 0, eoms: 0, eventsSignalled: 0, interrupts: 0 };

  constructor(private readonly mem: () => GuestPhysical, private readonly cpu: () => Vcpu | undefined) {}

  get enabled(): boolean { return (this.scontrol & 1n) !== 0n; }
  get simpEnabled(): boolean { return (this.simp & 1n) !== 0n; }
  get siefpEnabled(): boolean { return (this.siefp & 1n) !== 0n; }
  /** Guest-physical address of the message page (bits 63:12). */
  get simpGpa(): number { return Number(this.simp & ~0xfffn); }
  get siefpGpa(): number { return Number(this.siefp & ~0xfffn); }
  vector(s: number): number { return Number(this.sint[s]! & 0xffn); }
  masked(s: number): boolean { return (this.sint[s]! & SINT_MASKED) !== 0n; }

  private mapped(gpa: number): boolean {
    return this.mem().p2m.lookup(gfn(Math.floor(gpa / PAGE_SIZE))) !== undefined;
  }

  /** Raises the SINT's interrupt (edge) unless masked or the SynIC is off. */
  private assert(s: number): void {
    if (!this.enabled || this.masked(s)) return;
    const v = this.vector(s);
    const cpu = this.cpu();
    // Vectors 0-15 are invalid for SINTs (TLFS 11.8.4); 16-31 are exceptions on our machine, which
    // only takes external interrupts at 32-255, so such a SINT stays silent (the guest may poll).
    if (!cpu || v < 32) return;
    cpu.injectInterrupt(v);
    this.counters.interrupts++;
    // Auto-EOI (bit 17) would implicitly EOI; our machine has no local APIC EOI to skip.
    void SINT_AUTO_EOI;
  }

  /** Queues a message for SINT `s` and tries to deliver it. */
  post(s: number, msg: HvMessage): void {
    if (msg.payload.length > HV_MESSAGE_PAYLOAD_BYTE_COUNT) throw new RangeError(`message payload ${msg.payload.length} > 240`);
    this.queues[s]!.push(msg);
    this.counters.queued++;
    this.tryDeliver(s);
  }

  /** Copies the head of SINT s's queue into its slot if the slot is free; else flags it pending. */
  tryDeliver(s: number): void {
    const q = this.queues[s]!;
    if (q.length === 0 || !this.enabled || !this.simpEnabled || !this.mapped(this.simpGpa)) return;
    const g = this.mem();
    const slot = this.simpGpa + s * HV_MESSAGE_SIZE;
    if (g.u32(slot + HV_MESSAGE.type) !== HVMSG.NONE) {
      g.setU8(slot + HV_MESSAGE.flags, g.u8(slot + HV_MESSAGE.flags) | HV_MESSAGE_FLAG_PENDING);
      return;
    }
    const m = q.shift()!;
    const buf = new Uint8Array(HV_MESSAGE_SIZE);
    const dv = new DataView(buf.buffer);
    dv.setUint32(HV_MESSAGE.type, m.type, true);
    dv.setUint8(HV_MESSAGE.payloadSize, m.payload.length);
    dv.setUint8(HV_MESSAGE.flags, q.length > 0 ? HV_MESSAGE_FLAG_PENDING : 0);
    dv.setBigUint64(HV_MESSAGE.origin, m.origin, true);
    buf.set(m.payload, HV_MESSAGE.payload);
    // Payload and header first, message type last: the guest polls the type.
    g.write(slot + 4, buf.subarray(4));
    g.setU32(slot + HV_MESSAGE.type, m.type);
    this.counters.delivered++;
    this.assert(s);
  }

  /** The guest wrote EOM: redeliver whatever is waiting (TLFS 11.10.3). */
  eom(): void {
    this.counters.eoms++;
    for (let s = 0; s < HV_SYNIC_SINT_COUNT; s++) this.tryDeliver(s);
  }

  /** Sets event flag `flag` of SINT `s`; interrupts only if the flag was clear (TLFS 11.10.5). */
  signal(s: number, flag: number): boolean {
    if (!(flag >= 0 && flag < HV_EVENT_FLAGS_COUNT)) return false;
    if (!this.enabled || !this.siefpEnabled || !this.mapped(this.siefpGpa)) return false;
    const g = this.mem();
    const at = this.siefpGpa + s * 256 + (flag >> 3);
    const old = g.u8(at);
    const bit = 1 << (flag & 7);
    this.counters.eventsSignalled++;
    if (old & bit) return true;
    g.setU8(at, old | bit);
    this.assert(s);
    return true;
  }

  /** Re-attempts delivery after the SIMP/SCONTROL/SINT changed. */
  refresh(): void {
    for (let s = 0; s < HV_SYNIC_SINT_COUNT; s++) this.tryDeliver(s);
  }

  /** Reads slot `s` of the message page (for views and tests); undefined when the SIMP is off. */
  slot(s: number): { type: number; size: number; pending: boolean; origin: bigint } | undefined {
    if (!this.simpEnabled || !this.mapped(this.simpGpa)) return undefined;
    const g = this.mem();
    const a = this.simpGpa + s * HV_MESSAGE_SIZE;
    return { type: g.u32(a), size: g.u8(a + 4), pending: (g.u8(a + 5) & 1) !== 0, origin: g.u64(a + 8) };
  }
}
