/**
 * Names both hypervisors give a virtual processor: Xen's vcpu_id (public/vcpu.h, 0..max_vcpus-1
 * within a domain) and Hyper-V's VP index (TLFS §7.8, HV_VP_INDEX within a partition). Branded so
 * a vCPU's index cannot be passed where a domain id, a port or a pCPU number is expected.
 */
export type VcpuId = number & { readonly __brand: "VcpuId" };

export const vcpuId = (n: number): VcpuId => n as VcpuId;
