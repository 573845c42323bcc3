/**
 * Platform devices: hardware both hypervisors present the same way (the local APIC, the PIT,
 * ACPI tables, a debug console). A device claims I/O ports, MSR ranges and MMIO ranges; the run
 * loop offers every io/rdmsr/wrmsr/gpa-fault exit to the bus before the hypervisor's own exit
 * rules, so a device written once serves the Xen host and the Longhorn host alike.
 *
 * Per-vCPU devices (a local APIC) get the vCPU in every call and keep their state per vCPU;
 * devices raise interrupts through `PlatformVcpu.inject` (the vector goes pending in the vCPU and
 * is delivered when the guest has IF=1, like an IRR bit).
 */
import type { Vector } from "../abi/x86";
import type { VcpuId } from "./ids";
import type { Gpa, Vcpu } from "../machine";
import { emulateMmio, MmioEmulationError } from "./mmio";

/** The vCPU as a device sees it. */
export interface PlatformVcpu {
  /** Host-wide identity for per-vCPU state: "d1v0", "p2vp0". */
  readonly key: string;
  /** Index within its domain/partition (APIC ID by default). */
  readonly index: VcpuId;
  readonly cpu: Vcpu;
  /** Raises an external interrupt vector in this vCPU. */
  inject(vector: Vector): void;
  /** An interrupt became pending for it: wake it if it sleeps waiting for one (vcpu_kick). */
  wake?(): void;
}

export interface PortRange { first: number; last: number }
export interface MsrRange { first: number; last: number }
export interface MmioRange { base: Gpa; size: number }

export interface PlatformDevice {
  readonly name: string;
  readonly ports?: readonly PortRange[];
  readonly msrs?: readonly MsrRange[];
  readonly mmio?: readonly MmioRange[];
  /** Port read of `size` bytes; return the value (all ones when nothing answers). */
  portIn?(v: PlatformVcpu, port: number, size: 1 | 2 | 4): number;
  portOut?(v: PlatformVcpu, port: number, size: 1 | 2 | 4, value: number): void;
  /** MSR read: a value, or "gp" to refuse with #GP(0). */
  rdmsr?(v: PlatformVcpu, msr: number): bigint | "gp";
  /** MSR write: true when accepted, "gp" to refuse with #GP(0). */
  wrmsr?(v: PlatformVcpu, msr: number, value: bigint): true | "gp";
  /**
   * MMIO access within one of its ranges. The machine reports a guest-physical access without a
   * P2M entry as a gpa-fault exit; a host maps MMIO ranges to nothing so accesses exit, and
   * `byGpa` finds the device (instruction emulation of the access is the host's job).
   */
  mmioRead?(v: PlatformVcpu, gpa: Gpa, size: number): bigint;
  mmioWrite?(v: PlatformVcpu, gpa: Gpa, size: number, value: bigint): void;
}

const inRange = (n: number, rs: readonly { first: number; last: number }[] | undefined) => rs?.some((r) => n >= r.first && n <= r.last) ?? false;

/** The devices of one host, looked up by port, MSR and guest-physical address. */
export class DeviceBus {
  private readonly devices: PlatformDevice[] = [];

  /** Adds a device; refuses one whose ports, MSRs or MMIO overlap a device already there. */
  add(d: PlatformDevice): void {
    for (const o of this.devices) {
      const clash = d.ports?.some((r) => o.ports?.some((q) => r.first <= q.last && q.first <= r.last))
        || d.msrs?.some((r) => o.msrs?.some((q) => r.first <= q.last && q.first <= r.last))
        || d.mmio?.some((r) => o.mmio?.some((q) => r.base < q.base + q.size && q.base < r.base + r.size));
      if (clash || o.name === d.name) throw new Error(`platform device "${d.name}" overlaps "${o.name}"`);
    }
    this.devices.push(d);
  }

  list(): readonly PlatformDevice[] {
    return this.devices;
  }

  byPort(port: number): PlatformDevice | undefined {
    return this.devices.find((d) => inRange(port, d.ports));
  }

  byMsr(msr: number): PlatformDevice | undefined {
    return this.devices.find((d) => inRange(msr, d.msrs));
  }

  byGpa(gpa: number): PlatformDevice | undefined {
    return this.devices.find((d) => d.mmio?.some((r) => gpa >= r.base && gpa < r.base + r.size));
  }

  /**
   * Offers an io/rdmsr/wrmsr exit to the devices. Returns "handled" (the exit is complete),
   * "gp" (refuse the instruction with #GP(0)) or "unclaimed" (the hypervisor's own rules apply).
   */
  handle(v: PlatformVcpu, x: ExitForBus): BusResult {
    const cpu = v.cpu;
    switch (x.kind) {
      case "gpa-fault": {
        // An access to a device's MMIO window: emulate the instruction against the device.
        const d = x.access === "exec" ? undefined : this.byGpa(x.gpa);
        if (!d || !d.mmioRead || !d.mmioWrite) return "unclaimed";
        try {
          emulateMmio(cpu, x.gpa, { read: (g, n) => d.mmioRead!(v, g, n), write: (g, n, val) => d.mmioWrite!(v, g, n, val) });
        } catch (e) {
          if (e instanceof MmioEmulationError) return { failed: `${d.name} MMIO at ${x.gpa.toString(16)}: ${e.message}` };
          throw e;
        }
        return "handled";
      }
      case "io": {
        const d = this.byPort(x.port);
        if (!d) return "unclaimed";
        if (x.direction === "in") cpu.completeIn(x.size, d.portIn ? d.portIn(v, x.port, x.size) : allOnes(x.size));
        else d.portOut?.(v, x.port, x.size, x.value);
        return "handled";
      }
      case "rdmsr": {
        const d = this.byMsr(x.msr);
        if (!d) return "unclaimed";
        const r = d.rdmsr ? d.rdmsr(v, x.msr) : "gp";
        if (r === "gp") return "gp";
        cpu.completeRdmsr(r);
        return "handled";
      }
      case "wrmsr": {
        const d = this.byMsr(x.msr);
        if (!d) return "unclaimed";
        return (d.wrmsr ? d.wrmsr(v, x.msr, x.value) : "gp") === true ? "handled" : "gp";
      }
    }
  }
}

/** What the bus made of an exit; `failed` names an MMIO access it could not emulate. */
export type BusResult = "handled" | "gp" | "unclaimed" | { failed: string };

/** The exits a device may answer. */
export type ExitForBus =
  | { kind: "gpa-fault"; gpa: Gpa; access: "read" | "write" | "exec" }
  | { kind: "io"; direction: "in" | "out"; port: number; size: 1 | 2 | 4; value: number }
  | { kind: "rdmsr"; msr: number }
  | { kind: "wrmsr"; msr: number; value: bigint };

/** What a read from nothing returns: all ones on an ISA bus. */
export function allOnes(size: 1 | 2 | 4): number {
  return size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
}
