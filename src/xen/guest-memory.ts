/**
 * Hypercall argument access. HVM and PVH guests pass guest-*virtual* (linear) addresses, which Xen
 * reads with hvm_copy_from_guest_linear through the guest's own page tables; a failure is -EFAULT
 * to the guest, never an exception in the host.
 */
import { Vcpu, GuestPhysical, PAGE_SIZE } from "../machine";

/** Thrown inside a hypercall handler when guest memory is not accessible: becomes -EFAULT. */
export class GuestFaultAccess extends Error {
  constructor(readonly va: number, reason: string) {
    super(`guest address 0x${BigInt.asUintN(64, BigInt(va)).toString(16)}: ${reason}`);
    this.name = "GuestFaultAccess";
  }
}

export class GuestMem {
  private readonly phys: GuestPhysical;
  constructor(readonly vcpu: Vcpu) {
    // Through the vCPU's own second stage: the domain's P2M, or machine frames for a PV guest.
    this.phys = new GuestPhysical(vcpu.machine, vcpu.p2m);
  }

  /** Guest-physical address of a guest-virtual one (identity when paging is off). */
  gpa(va: number, write = false): number {
    if (!this.vcpu.paging) {
      if (va < 0 || va >= 2 ** 32) throw new GuestFaultAccess(va, "outside the 4 GiB of an unpaged guest");
      return va;
    }
    const t = this.vcpu.translate(va, write ? "write" : "read");
    if ("fault" in t) throw new GuestFaultAccess(va, t.fault);
    return t.gpa;
  }

  read(va: number, n: number): Uint8Array {
    const out = new Uint8Array(n);
    let done = 0;
    while (done < n) {
      const a = va + done;
      const chunk = Math.min(n - done, PAGE_SIZE - (((a % PAGE_SIZE) + PAGE_SIZE) % PAGE_SIZE));
      try {
        out.set(this.phys.read(this.gpa(a), chunk), done);
      } catch (e) {
        if (e instanceof GuestFaultAccess) throw e;
        throw new GuestFaultAccess(a, (e as Error).message);
      }
      done += chunk;
    }
    return out;
  }

  write(va: number, data: Uint8Array): void {
    let done = 0;
    while (done < data.length) {
      const a = va + done;
      const chunk = Math.min(data.length - done, PAGE_SIZE - (((a % PAGE_SIZE) + PAGE_SIZE) % PAGE_SIZE));
      try {
        this.phys.write(this.gpa(a, true), data.subarray(done, done + chunk));
      } catch (e) {
        if (e instanceof GuestFaultAccess) throw e;
        throw new GuestFaultAccess(a, (e as Error).message);
      }
      done += chunk;
    }
  }

  private dv(va: number, n: number): DataView {
    const b = this.read(va, n);
    return new DataView(b.buffer, b.byteOffset, n);
  }
  u8(va: number): number { return this.read(va, 1)[0]!; }
  u16(va: number): number { return this.dv(va, 2).getUint16(0, true); }
  i16(va: number): number { return this.dv(va, 2).getInt16(0, true); }
  u32(va: number): number { return this.dv(va, 4).getUint32(0, true); }
  i32(va: number): number { return this.dv(va, 4).getInt32(0, true); }
  u64(va: number): bigint { return this.dv(va, 8).getBigUint64(0, true); }
  /** A 64-bit field that holds an address or a count: a JS number (signed for upper-half VAs). */
  ptr(va: number): number { return Number(BigInt.asIntN(64, this.u64(va))); }

  setU8(va: number, v: number): void { this.write(va, Uint8Array.of(v)); }
  setU16(va: number, v: number): void { const b = new Uint8Array(2); new DataView(b.buffer).setUint16(0, v & 0xffff, true); this.write(va, b); }
  setI16(va: number, v: number): void { this.setU16(va, v & 0xffff); }
  setU32(va: number, v: number): void { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v >>> 0, true); this.write(va, b); }
  setI32(va: number, v: number): void { this.setU32(va, v >>> 0); }
  setU64(va: number, v: bigint | number): void { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, BigInt(v)), true); this.write(va, b); }

  /** A NUL-terminated or counted string. */
  string(va: number, n: number): string {
    return new TextDecoder("latin1").decode(this.read(va, n));
  }
}
