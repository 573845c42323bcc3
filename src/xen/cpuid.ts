/**
 * What the guest sees from CPUID and the hypervisor MSR: the Xen leaves at 0x40000000
 * (arch-x86/cpuid.h; xen/arch/x86/traps.c cpuid_hypervisor_leaves) and a small basic/extended
 * policy describing what the emulated vCPU implements. Writing the hypercall MSR fills the page
 * with VMX stubs (xen/arch/x86/hvm/vmx/vmx.c vmx_init_hypercall_page).
 */
import { HYPERVISOR, XEN_CPUID_FIRST_LEAF, XEN_CPUID_SIGNATURE_EBX, XEN_CPUID_SIGNATURE_ECX, XEN_CPUID_SIGNATURE_EDX, XEN_HYPERCALL_MSR, XEN_MAJOR, XEN_MINOR } from "./abi";

/** arch-x86/cpuid.h XEN_HVM_CPUID_* (leaf base+4 EAX). */
const XEN_HVM_CPUID_VCPU_ID_PRESENT = 1 << 3, XEN_HVM_CPUID_DOMID_PRESENT = 1 << 4;
/** CPUID.1:ECX bit 31: hypervisor present (reserved for this use by Intel and AMD). */
const CPUID1_ECX_HYPERVISOR = 1 << 31;

const sig = (s: string): [number, number, number] => {
  const b = Buffer.from(s, "latin1");
  return [b.readUInt32LE(0), b.readUInt32LE(4), b.readUInt32LE(8)];
};

export interface CpuidContext {
  domid: number;
  vcpuId: number;
  nrVcpus: number;
  /** Viridian moves Xen's leaves to 0x40000100 (xen/arch/x86/cpuid.c). */
  viridian: boolean;
}

/** Returns EAX, EBX, ECX, EDX for a leaf. */
export function xenCpuid(leaf: number, _subleaf: number, ctx: CpuidContext): [number, number, number, number] {
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
  switch (leaf) {
    case 0: { const [b, d, c] = sig("GenuineIntel"); return [0xd, b, c, d]; }
    case 1: {
      // Family 6; EDX: FPU TSC MSR PAE CX8 APIC SEP PGE CMOV PAT CLFSH FXSR SSE SSE2 (what the
      // interpreter implements or tolerates); ECX: hypervisor present.
      const edx = (1 << 0) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 8) | (1 << 9) | (1 << 11) | (1 << 13) | (1 << 15) | (1 << 16) | (1 << 19) | (1 << 24) | (1 << 25) | (1 << 26);
      return [0x000906a0, (ctx.vcpuId << 24) | (Math.min(ctx.nrVcpus, 255) << 16) | (8 << 8), CPUID1_ECX_HYPERVISOR, edx];
    }
    case 0x80000000: return [0x80000008, 0, 0, 0];
    // SYSCALL (EDX 11), NX (20), LM (29); LAHF (ECX 0).
    case 0x80000001: return [0, 0, 1, (1 << 11) | (1 << 20) | (1 << 29)];
    case 0x80000008: return [0x3027, 0, 0, 0];
    default: return [0, 0, 0, 0];
  }
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
