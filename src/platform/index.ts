/**
 * The platform both hypervisors plug into (docs/DESIGN.md "Platform"): virtual time, timers,
 * pCPUs and the scheduler interface, the vCPU run loop with its exit skeleton, the trace ring,
 * and platform devices (ports, MSRs, MMIO, per-vCPU devices, interrupt injection).
 */
export * from "./clock";
export * from "./timers";
export * from "./trace";
export * from "./scheduler";
export * from "./run-loop";
export * from "./devices";
export * from "./ids";
export * from "./lapic";
export * from "./mmio";
