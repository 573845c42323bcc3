/**
 * What the guest sees from CPUID and the hypervisor MSR: the Xen leaves at 0x40000000
 * (arch-x86/cpuid.h; xen/arch/x86/traps.c cpuid_hypervisor_leaves) and, for every other leaf,
 * the machine layer's description of what the vCPU implements (machine/cpu-features.ts).
 * Writing the hypercall MSR fills the page with VMX stubs (xen/arch/x86/hvm/vmx/vmx.c vmx_init_hypercall_page).
 */
import { architecturalCpuid } from "../machine/cpu-features";
import type { DomId } from "../machine";
import type { VcpuId } from "../platform";
import { HYPERVISOR, XEN_CPUID_FIRST_LEAF, XEN_CPUID_SIGNATURE_EBX, XEN_CPUID_SIGNATURE_ECX, XEN_CPUID_SIGNATURE_EDX, XEN_HYPERCALL_MSR, XEN_MAJOR, XEN_MINOR, XEN_VIRIDIAN_LEAF_OFFSET, XEN_VIRIDIAN_MSR_OFFSET } from "./abi";

/** arch-x86/cpuid.h XEN_HVM_CPUID_* (leaf base+4 EAX). */
const XEN_HVM_CPUID_IOMMU_MAPPINGS = 1 << 2, XEN_HVM_CPUID_VCPU_ID_PRESENT = 1 << 3, XEN_HVM_CPUID_DOMID_PRESENT = 1 << 4;
const XEN_HVM_CPUID_UPCALL_VECTOR = 1 << 6;
/** arch-x86/cpuid.h XEN_CPUID_TSC_MODE_DEFAULT (leaf base+3 subleaf 0 EBX). */
const XEN_CPUID_TSC_MODE_DEFAULT = 0;
/**
 * CPUID.1:ECX: x2APIC (21) and TSC-deadline (24), both of which Xen's vlapic provides to every
 * HVM/PVH guest (the vCPU's own bits come from the machine layer).
 */
const CPUID1_ECX_X2APIC = 1 << 21, CPUID1_ECX_TSC_DEADLINE = 1 << 24;

export interface CpuidContext {
  domid: DomId;
  vcpuId: VcpuId;
  nrVcpus: number;
  /** Viridian moves Xen's leaves to 0x40000100 (xen/arch/x86/cpuid.c). */
  viridian: boolean;
  /** The guest TSC's frequency in kHz (the time leaf, base+3). */
  tscKhz?: number;
  /** The TSC→ns scale (vtsc_to_ns) for the time leaf's subleaf 1. */
  tscToNs?: { mul: number; shift: number };
}

/** Returns EAX, EBX, ECX, EDX for a leaf. */
export function xenCpuid(leaf: number, subleaf: number, ctx: CpuidContext): [number, number, number, number] {
  const base = ctx.viridian ? XEN_CPUID_FIRST_LEAF + XEN_VIRIDIAN_LEAF_OFFSET : XEN_CPUID_FIRST_LEAF;
  if (leaf >= base && leaf <= base + 5) {
    switch (leaf - base) {
      case 0: return [base + 5, XEN_CPUID_SIGNATURE_EBX, XEN_CPUID_SIGNATURE_ECX, XEN_CPUID_SIGNATURE_EDX];
      case 1: return [(XEN_MAJOR << 16) | XEN_MINOR, 0, 0, 0];
      // EAX = number of hypercall pages, EBX = the MSR to write (0x40000200 with Viridian).
      case 2: return [1, ctx.viridian ? XEN_HYPERCALL_MSR + XEN_VIRIDIAN_MSR_OFFSET : XEN_HYPERCALL_MSR, 0, 0];
      // The time leaf (cpuid_hypervisor_leaves case 3): subleaf 0 = features (no vTSC, TSC safe,
      // no RDTSCP), tsc_mode, tsc_khz, incarnation; 1 = the vTSC offset and scale; 2 = cpu_khz.
      case 3:
        if (subleaf === 0) return [1 << 1, XEN_CPUID_TSC_MODE_DEFAULT, ctx.tscKhz ?? 0, 0];
        if (subleaf === 1) return [0, 0, (ctx.tscToNs?.mul ?? 0) >>> 0, (ctx.tscToNs?.shift ?? 0) >>> 0];
        if (subleaf === 2) return [ctx.tscKhz ?? 0, 0, 0, 0];
        return [0, 0, 0, 0];
      case 4:
        if (subleaf !== 0) return [0, 0, 0, 0];
        return [XEN_HVM_CPUID_IOMMU_MAPPINGS | XEN_HVM_CPUID_VCPU_ID_PRESENT | XEN_HVM_CPUID_DOMID_PRESENT | XEN_HVM_CPUID_UPCALL_VECTOR, ctx.vcpuId, ctx.domid, 0];
      default: return [0, 0, 0, 0];
    }
  }
  // Every other leaf describes the vCPU itself: one table in the machine layer. Xen's vlapic adds
  // x2APIC and TSC-deadline to leaf 1, whose initial APIC ID is Xen's 2 × vcpu_id (as the MADT says).
  const r = architecturalCpuid(leaf, subleaf, { apicId: ctx.vcpuId * 2, nrVcpus: ctx.nrVcpus });
  if (leaf === 1) r[2] = (r[2] | CPUID1_ECX_X2APIC | CPUID1_ECX_TSC_DEADLINE) >>> 0;
  return r;
}

/** The hypercall page as Xen writes it for a VMX guest: `mov eax, N; vmcall; ret` every 32 bytes. */
export function hypercallPage(): Uint8Array {
  const p = new Uint8Array(4096).fill(0xcc);
  for (let i = 0; i < 4096 / 32; i++) {
    if (i === HYPERVISOR.iret) continue;
    const o = i * 32;
    p[o] = 0xb8;
    p[o + 1] = i & 0xff; p[o + 2] = (i >> 8) & 0xff; p[o + 3] = 0; p[o + 4] = 0;
    p[o + 5] = 0x0f; p[o + 6] = 0x01; p[o + 7] = 0xc1;
    p[o + 8] = 0xc3;
  }
  // HVM guests must not use the iret hypercall: its slot is ud2 (0f 0b).
  p[HYPERVISOR.iret * 32] = 0x0f;
  p[HYPERVISOR.iret * 32 + 1] = 0x0b;
  return p;
}
