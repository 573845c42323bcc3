/**
 * What this vCPU implements, as CPUID reports it (SDM Vol. 2A CPUID, Tables 3-8..3-10): one
 * description both hosts answer from (src/xen/cpuid.ts, and Hyper-V through it), so a guest never
 * sees a feature the interpreter does not execute. Hypervisor leaves (0x40000000+) are the
 * hosts' own. Bits that mirror vCPU state (OSXSAVE, the XSAVE area size for XCR0) are filled in
 * by `cpuidDynamic` when the vCPU takes the answer, as the processor does.
 */
import type { CpuState } from "./cpu-state";
import { CR4_OSXSAVE } from "./registers";
import { XCR0_SUPPORTED, XSAVE_AREA_SIZE } from "./xsave";

const bit = (n: number) => (1 << n) >>> 0;

/** CPUID.1:EDX. */
export const CPUID1_EDX = {
  FPU: bit(0), TSC: bit(4), MSR: bit(5), PAE: bit(6), CX8: bit(8), APIC: bit(9), SEP: bit(11), PGE: bit(13),
  CMOV: bit(15), PAT: bit(16), CLFSH: bit(19), MMX: bit(23), FXSR: bit(24), SSE: bit(25), SSE2: bit(26),
} as const;
/** CPUID.1:ECX: with CX16, POPCNT, SSE3, SSSE3, SSE4.1 and SSE4.2 (and LAHF_LM below) the x86-64-v2 set of the psABI; no AVX (bit 28). */
export const CPUID1_ECX = {
  SSE3: bit(0), PCLMULQDQ: bit(1), SSSE3: bit(9), CX16: bit(13), SSE4_1: bit(19), SSE4_2: bit(20), POPCNT: bit(23), AES: bit(25), XSAVE: bit(26), OSXSAVE: bit(27), RDRAND: bit(30), HYPERVISOR: bit(31),
} as const;
/** CPUID.(EAX=0DH,ECX=1):EAX — XSAVEOPT and XSAVEC; not XGETBV with ECX=1 (bit 2), not XSAVES (bit 3). */
export const CPUID_D1_EAX = { XSAVEOPT: bit(0), XSAVEC: bit(1) } as const;
/** CPUID.80000001H: EDX SYSCALL, NX, LM; ECX LAHF/SAHF in 64-bit mode. */
export const CPUID_EXT1_EDX = { SYSCALL: bit(11), NX: bit(20), LM: bit(29) } as const;
export const CPUID_EXT1_ECX = { LAHF_LM: bit(0) } as const;

const or = (o: Record<string, number>) => Object.values(o).reduce((a, b) => (a | b) >>> 0, 0);

/** Family 6 model 0x9a-like signature (stepping 0), as the Xen host has always reported. */
export const SIGNATURE = 0x000906a0;
const VENDOR = "GenuineIntel";

export interface CpuidTopology {
  apicId: number;
  nrVcpus: number;
}

/** EAX, EBX, ECX, EDX of an architectural leaf (basic 0..0xD, extended 0x80000000..8). */
export function architecturalCpuid(leaf: number, subleaf: number, t: CpuidTopology): [number, number, number, number] {
  switch (leaf) {
    case 0: {
      const b = Buffer.from(VENDOR, "latin1");
      return [0xd, b.readUInt32LE(0), b.readUInt32LE(8), b.readUInt32LE(4)];
    }
    // EBX: initial APIC ID 31:24, logical processors 23:16, CLFLUSH line size in 8-byte units 15:8.
    case 1: return [SIGNATURE, ((t.apicId << 24) | (Math.min(t.nrVcpus, 255) << 16) | (8 << 8)) >>> 0, (or(CPUID1_ECX) & ~CPUID1_ECX.OSXSAVE) >>> 0, or(CPUID1_EDX)];
    case 0xd:
      // Sub-leaf 0: supported XCR0 bits, area sizes (the legacy region and header for x87+SSE);
      // sub-leaf 1: XSAVE extensions, compacted size. Components 0 and 1 have no sub-leaf of
      // their own (their place is the legacy region); no higher component exists.
      if (subleaf === 0) return [XCR0_SUPPORTED, XSAVE_AREA_SIZE, XSAVE_AREA_SIZE, 0];
      if (subleaf === 1) return [or(CPUID_D1_EAX), XSAVE_AREA_SIZE, 0, 0];
      return [0, 0, 0, 0];
    case 0x80000000: return [0x80000008, 0, 0, 0];
    case 0x80000001: return [0, 0, or(CPUID_EXT1_ECX), or(CPUID_EXT1_EDX)];
    // 48 virtual and 39 physical address bits.
    case 0x80000008: return [0x3027, 0, 0, 0];
    default: return [0, 0, 0, 0];
  }
}

/**
 * The state-dependent bits of a CPUID answer: CPUID.1:ECX.OSXSAVE copies CR4.OSXSAVE, and
 * CPUID.(0DH,0):EBX is the XSAVE area size for the components XCR0 enables (SDM Vol. 2A CPUID).
 */
export function cpuidDynamic(c: CpuState, leaf: number, subleaf: number, r: [number, number, number, number]): [number, number, number, number] {
  if (leaf === 1) r[2] = ((r[2] & ~CPUID1_ECX.OSXSAVE) | ((c.cr4 & CR4_OSXSAVE) !== 0 ? CPUID1_ECX.OSXSAVE : 0)) >>> 0;
  // x87 and SSE both live in the legacy region, so every XCR0 value this vCPU accepts needs the
  // same 576 bytes; the line keeps the rule visible for when a component is added.
  if (leaf === 0xd && subleaf === 0) r[1] = XSAVE_AREA_SIZE;
  return r;
}
