/**
 * shared_info and vcpu_info (xen/xen.h, x86-64 layouts in abi.ts LAYOUT): the page Xen shares
 * with each domain. It is a machine frame owned by the domain from creation; the guest maps it
 * into its physmap with XENMEM_add_to_physmap(XENMAPSPACE_shared_info). The host reads and writes
 * it directly, as Xen does.
 */
import type { VcpuId } from "../platform";
import { LAYOUT } from "./abi";
import type { Port } from "./types";

const SI = LAYOUT.shared_info.f;
const VI = LAYOUT.vcpu_info.f;
const VT = LAYOUT.vcpu_time_info.f;
const VCPU_INFO_SIZE = LAYOUT.vcpu_info.size;
/** xen.h XEN_LEGACY_MAX_VCPUS: vcpu_info slots inside shared_info. */
export const XEN_LEGACY_MAX_VCPUS = 32;

export class SharedInfo {
  /** vcpu_info moved out of shared_info by VCPUOP_register_vcpu_info: vCPU → (page, offset). */
  private readonly moved = new Map<VcpuId, { view: DataView; off: number }>();

  constructor(readonly view: DataView) {}

  /** The page and offset of a vCPU's vcpu_info (in shared_info unless registered elsewhere). */
  private loc(vcpu: VcpuId): { view: DataView; off: number } {
    return this.moved.get(vcpu) ?? { view: this.view, off: SI.vcpu_info + vcpu * VCPU_INFO_SIZE };
  }

  /** Whether a vCPU has a vcpu_info at all (legacy slots stop at 32 unless registered). */
  hasVcpuInfo(vcpu: VcpuId): boolean {
    return this.moved.has(vcpu) || vcpu < XEN_LEGACY_MAX_VCPUS;
  }

  /** VCPUOP_register_vcpu_info: copies the current contents to the new place and uses it from now on. */
  relocate(vcpu: VcpuId, view: DataView, off: number): void {
    const from = this.loc(vcpu);
    for (let i = 0; i < VCPU_INFO_SIZE; i++) view.setUint8(off + i, vcpu < XEN_LEGACY_MAX_VCPUS || this.moved.has(vcpu) ? from.view.getUint8(from.off + i) : 0);
    this.moved.set(vcpu, { view, off });
  }

  isRelocated(vcpu: VcpuId): boolean {
    return this.moved.has(vcpu);
  }

  // ---- 2-level event bitmaps (xen/common/event_2l.c) -----------------------------------------
  private bit(base: number, port: Port): [number, number] {
    return [base + (port >> 3), 1 << (port & 7)];
  }
  testPending(port: Port): boolean { const [a, m] = this.bit(SI.evtchn_pending, port); return (this.view.getUint8(a) & m) !== 0; }
  testMasked(port: Port): boolean { const [a, m] = this.bit(SI.evtchn_mask, port); return (this.view.getUint8(a) & m) !== 0; }
  /** Sets the pending bit; returns its old value. */
  testAndSetPending(port: Port): boolean {
    const [a, m] = this.bit(SI.evtchn_pending, port);
    const old = this.view.getUint8(a);
    this.view.setUint8(a, old | m);
    return (old & m) !== 0;
  }
  clearPending(port: Port): void { const [a, m] = this.bit(SI.evtchn_pending, port); this.view.setUint8(a, this.view.getUint8(a) & ~m); }
  setMask(port: Port, on: boolean): void {
    const [a, m] = this.bit(SI.evtchn_mask, port);
    this.view.setUint8(a, on ? this.view.getUint8(a) | m : this.view.getUint8(a) & ~m);
  }
  testAndClearMask(port: Port): boolean {
    const [a, m] = this.bit(SI.evtchn_mask, port);
    const old = this.view.getUint8(a);
    this.view.setUint8(a, old & ~m);
    return (old & m) !== 0;
  }

  // ---- vcpu_info -----------------------------------------------------------------------------
  upcallPending(vcpu: VcpuId): number { const l = this.loc(vcpu); return l.view.getUint8(l.off + VI.evtchn_upcall_pending); }
  setUpcallPending(vcpu: VcpuId, v: number): void { const l = this.loc(vcpu); l.view.setUint8(l.off + VI.evtchn_upcall_pending, v); }
  upcallMask(vcpu: VcpuId): number { const l = this.loc(vcpu); return l.view.getUint8(l.off + VI.evtchn_upcall_mask); }
  setUpcallMask(vcpu: VcpuId, v: number): void { const l = this.loc(vcpu); l.view.setUint8(l.off + VI.evtchn_upcall_mask, v); }
  pendingSel(vcpu: VcpuId): bigint { const l = this.loc(vcpu); return l.view.getBigUint64(l.off + VI.evtchn_pending_sel, true); }
  /** Sets bit `word` of evtchn_pending_sel; returns its old value. */
  testAndSetPendingSel(vcpu: VcpuId, word: number): boolean {
    const l = this.loc(vcpu);
    const a = l.off + VI.evtchn_pending_sel;
    const old = l.view.getBigUint64(a, true);
    const m = 1n << BigInt(word);
    l.view.setBigUint64(a, old | m, true);
    return (old & m) !== 0n;
  }

  /**
   * Publishes the time of a vCPU (vcpu_time_info, xen.h): version odd while updating, then the
   * TSC stamp, system time in ns, and the TSC→ns scale (ns = ((tsc - stamp) << shift) * mul >> 32).
   */
  setTime(vcpu: VcpuId, systemNs: bigint, tsc: bigint, mul: number, shift: number): void {
    const { view, off } = this.loc(vcpu);
    const t = off + VI.time;
    const ver = view.getUint32(t + VT.version, true);
    view.setUint32(t + VT.version, (ver | 1) >>> 0, true);
    view.setBigUint64(t + VT.tsc_timestamp, tsc, true);
    view.setBigUint64(t + VT.system_time, systemNs, true);
    view.setUint32(t + VT.tsc_to_system_mul, mul >>> 0, true);
    view.setInt8(t + VT.tsc_shift, shift);
    view.setUint32(t + VT.version, ((ver | 1) + 1) >>> 0, true);
  }
  timeVersion(vcpu: VcpuId): number { const l = this.loc(vcpu); return l.view.getUint32(l.off + VI.time + VT.version, true); }
  systemTime(vcpu: VcpuId): bigint { const l = this.loc(vcpu); return l.view.getBigUint64(l.off + VI.time + VT.system_time, true); }

  /** Wall clock at system time 0 (wc_sec/wc_nsec, xen.h), with the version protocol. */
  setWallclock(sec: number, nsec: number): void {
    const v = this.view.getUint32(SI.wc_version, true);
    this.view.setUint32(SI.wc_version, (v | 1) >>> 0, true);
    this.view.setUint32(SI.wc_sec, sec >>> 0, true);
    this.view.setUint32(SI.wc_nsec, nsec >>> 0, true);
    this.view.setUint32(SI.wc_sec_hi, Math.floor(sec / 2 ** 32), true);
    this.view.setUint32(SI.wc_version, ((v | 1) + 1) >>> 0, true);
  }
}
