/**
 * Register names and numbering. General-purpose registers use the x86 encoding order
 * (Intel SDM Vol. 2A Table 2-2: rax=0 rcx=1 rdx=2 rbx=3 rsp=4 rbp=5 rsi=6 rdi=7 r8..r15).
 */
export const GPR_NAMES = [
  "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
  "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
] as const;
export type GprName = (typeof GPR_NAMES)[number];

export const RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RBP = 5, RSI = 6, RDI = 7;

export function gprIndex(name: string): number {
  const i = (GPR_NAMES as readonly string[]).indexOf(name.toLowerCase());
  return i;
}

/** CR0 bits (SDM Vol. 3A §2.5). */
export const CR0_PE = 1 << 0, CR0_MP = 1 << 1, CR0_ET = 1 << 4, CR0_NE = 1 << 5, CR0_WP = 1 << 16, CR0_PG = 1 << 31;
/** CR0.EM (x87 emulation: x87 instructions #NM) and CR0.TS (task switched: lazy FPU switching, #NM). */
export const CR0_EM = 1 << 2, CR0_TS = 1 << 3;
/** CR4 bits. */
export const CR4_DE = 1 << 3, CR4_PSE = 1 << 4, CR4_PAE = 1 << 5, CR4_MCE = 1 << 6, CR4_PGE = 1 << 7, CR4_PCE = 1 << 8;
export const CR4_OSFXSR = 1 << 9, CR4_OSXMMEXCPT = 1 << 10, CR4_OSXSAVE = 1 << 18;
/**
 * The CR4 bits this vCPU implements; setting any other bit is #GP(0) (SDM Vol. 3A §2.5: reserved
 * bits, and bits whose CPUID feature is absent, fault). VME/PVI/TSD/UMIP/LA57/VMXE/FSGSBASE/PCIDE/
 * SMEP/SMAP/PKE/CET are not modelled, so the CPUID leaves do not advertise them.
 */
export const CR4_IMPLEMENTED = CR4_DE | CR4_PSE | CR4_PAE | CR4_MCE | CR4_PGE | CR4_PCE | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_OSXSAVE;
/** EFER bits (MSR 0xC0000080, SDM Vol. 3A §2.2.1). */
export const EFER_SCE = 1 << 0, EFER_LME = 1 << 8, EFER_LMA = 1 << 10, EFER_NXE = 1 << 11;

/** Architectural MSRs the vCPU implements itself (SDM Vol. 4); all others are exits. */
export const MSR_TSC = 0x10;
/** SYSENTER/SYSEXIT's target segment, stack and entry point (SDM Vol. 4 Table 2-2: IA32_SYSENTER_CS/ESP/EIP). */
export const MSR_SYSENTER_CS = 0x174, MSR_SYSENTER_ESP = 0x175, MSR_SYSENTER_EIP = 0x176;
export const MSR_EFER = 0xc0000080;
export const MSR_STAR = 0xc0000081;
export const MSR_LSTAR = 0xc0000082;
export const MSR_CSTAR = 0xc0000083;
export const MSR_SFMASK = 0xc0000084;
export const MSR_FS_BASE = 0xc0000100;
export const MSR_GS_BASE = 0xc0000101;
export const MSR_KERNEL_GS_BASE = 0xc0000102;
export const MSR_TSC_AUX = 0xc0000103;

/** Page-table entry bits (SDM Vol. 3A §4.5, Table 4-19 and friends). */
export const PTE_P = 1 << 0, PTE_RW = 1 << 1, PTE_US = 1 << 2, PTE_A = 1 << 5, PTE_D = 1 << 6, PTE_PS = 1 << 7;
/** Page-fault error code bits (SDM Vol. 3A §4.7). */
export const PFEC_P = 1, PFEC_W = 2, PFEC_U = 4, PFEC_RSVD = 8, PFEC_I = 16;
