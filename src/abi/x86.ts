/**
 * Architectural x86 numbers both hypervisors' exit code names (Intel SDM; AMD APM agrees), and
 * the interrupt-vector brand. The CPU keeps its own flag masks (src/machine/flags.ts) and the
 * local APIC its MSR and bits (src/platform/lapic.ts).
 */

/**
 * An interrupt or exception vector, 0–255 (SDM Vol. 3A §6.2): 0–31 are the architecture's
 * exceptions, 32–255 are free for external and inter-processor interrupts.
 */
export type Vector = number & { readonly __brand: "Vector" };

/** A vector from a number, refused (RangeError naming it) unless an integer 0–255. */
export function vector(n: number): Vector {
  if (!(Number.isInteger(n) && n >= 0 && n <= 255)) throw new RangeError(`interrupt vector ${n} is not 0..255 (SDM Vol. 3A §6.2)`);
  return n as Vector;
}

/** Exception vectors (SDM Vol. 3A Table 6-1): #UD invalid opcode, #GP general protection. */
export const EXC_UD = 6 as Vector;
export const EXC_GP = 13 as Vector;

/** RFLAGS.IF, bit 9 (SDM Vol. 1 §3.4.3.2, Figure 3-8): maskable interrupts are taken when set. */
export const RFLAGS_IF = 1 << 9;

/**
 * CPUID leaves 0x40000000–0x4fffffff: no processor returns information there; they are left to a
 * hypervisor (SDM Vol. 2A, CPUID: "Invalid. No existing or future CPU will return processor
 * identification or feature information if the initial EAX value is in the range 40000000H to
 * 4FFFFFFFH").
 */
export const CPUID_HYPERVISOR_FIRST = 0x40000000;
export const CPUID_HYPERVISOR_END = 0x50000000;

/** The Bochs/QEMU debug console port (QEMU hw/char/debugcon.c: iobase 0xe9): bytes written are printed. */
export const DEBUGCON_PORT = 0xe9;

/**
 * What an IN from a port no device decodes returns: all ones of the access size (nothing drives
 * the bus, which floats high; the value a PC's ISA bus and QEMU's unassigned-port handler give).
 */
export function unclaimedPortRead(size: 1 | 2 | 4): number {
  return size === 4 ? 0xffffffff : (1 << (size * 8)) - 1;
}
