/**
 * What the guest sees from CPUID and the hypervisor MSR: the Xen leaves at 0x40000000
 * (arch-x86/cpuid.h; xen/arch/x86/traps.c cpuid_hypervisor_leaves) and, for every other leaf,
 * the machine layer's description of what the vCPU implements (machine/cpu-features.ts).
 * Writing the hypercall MSR fills the page with VMX stubs (xen/arch/x86/hvm/vmx/vmx.c vmx_init_hypercall_page).
 */
import { architecturalCpuid } from "../machine/cpu-features";
import { HYPERVISOR, XEN_CPUID_FIRST_LEAF, XEN_CPUID_SIGNATURE_EBX, XEN_CPUID_SIGNATURE_ECX, XEN_CPUID_SIGNATURE_EDX, XEN_HYPERCALL_MSR, XEN_MAJOR, XEN_MINOR } from "./abi";

/** arch-x86/cpuid.h XEN_HVM_CPUID_* (leaf base+4 EAX). */
const XEN_HVM_CPUID_VCPU_ID_PRESENT = 1 << 3, XEN_HVM_CPUID_DOMID_PRESENT = 1 << 4;

export interface CpuidContext {
  domid: number;
  vcpuId: number;
  nrVcpus: number;
  /** Viridian moves Xen's leaves to 0x40000100 (xen/arch/x86/cpuid.c). */
  viridian: boolean;
}

/** Returns EAX, EBX, ECX, EDX for a leaf. */
export function xenCpuid(leaf: number, subleaf: number, ctx: CpuidContext): [number, number, number, number] {
  const base = ctx.viridian ? XEN_CPUID_FIRST_LEAF + 0x100 : XEN_CPUID_FIRST_LEAF;
  if (leaf >= base && leaf <= base + 5) {
    switch (leaf - base) {
      case 0: return [base + 5, XEN_CPUID_SIGNATURE_EBX, XEN_CPUID_SIGNATURE_ECX, XEN_CPUID_SIGNATURE_EDX];
      case 1: return [(XEN_MAJOR << 16) | XEN_MINOR, 0, 0, 0];
      // EAX = number of hypercall pages, EBX = the MSR to write (0x40000200 with Viridian).
      case 2: return [1, ctx.viridian ? XEN_HYPERCALL_MSR + 0x200 : XEN_HYPERCALL_MSR, 0, 0];
      case 3: return [0, 0, 0, 0];
      case 4: return [XEN_HVM_CPUID_VCPU_ID_PRESENT | XEN_HVM_CPUID_DOMID_PRESENT, ctx.vcpuId, ctx.domid, 0];
      default: return [0, 0, 0, 0];
    }
  }
  // Every other leaf describes the vCPU itself: one table in the machine layer.
  return architecturalCpuid(leaf, subleaf, { apicId: ctx.vcpuId, nrVcpus: ctx.nrVcpus });
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
