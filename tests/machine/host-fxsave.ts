/**
 * Where the host's FXSAVE image may lawfully differ from the vCPU's, whatever the instruction did.
 *
 * The vCPU is a GenuineIntel model (src/machine/cpu-features.ts). An AMD host (AMD64 APM Vol. 5,
 * FXSAVE/FXRSTOR) differs in two fields of the same image, both properties of the processor and
 * not of the instruction under test:
 * - FOP, FIP and FDP (bytes 6..23) are stored as zero and not restored while FSW.ES is clear:
 *   no x87 exception is pending, so there are no "error pointers" to keep. With ES set they are
 *   kept, but FIP and FDP sometimes come back as 32-bit offsets (bytes 12..15 and 20..23 zero):
 *   seen on an AMD EPYC host in a few cases per 100,000, different ones from run to run, so the
 *   kernel's state switch between the runner's FXRSTOR and FXSAVE is the likely cause. Intel keeps
 *   the last x87 instruction's 64-bit pointers either way.
 * - MXCSR_MASK (bytes 28..31) lists the MXCSR bits the processor implements; AMD's has bit 17
 *   (MM, misaligned-access exception mask) beside the 16 bits the vCPU implements.
 * The host's behaviour is probed (not looked up by vendor), so a host that keeps its pointers is
 * compared on them byte for byte, and a mask that lacks a bit the vCPU implements fails the probe.
 */
export interface HostFxsave {
  /** FXRSTOR then FXSAVE gave back FOP/FIP/FDP with FSW.ES clear (Intel); false: zero (AMD). */
  keepsPointersWithoutException: boolean;
  /** MXCSR_MASK from the host's own FXSAVE. */
  mxcsrMask: number;
}

const FSW_ES = 0x80;

/**
 * Makes the vCPU's image `emu` (at offset `at`) say what this host stores for the same machine
 * state, in the two fields above only: the mask where `emu` holds the vCPU's (`vcpuMask`), the
 * pointers where ES is clear and the host's image `native` holds zeros there. A form that did not
 * store those bytes leaves the input in both images, which stays compared as it is.
 */
export function asHostWouldStore(host: HostFxsave, emu: Uint8Array, native: Uint8Array, at: number, vcpuMask: number): void {
  const dv = new DataView(emu.buffer, emu.byteOffset + at, 32);
  if (dv.getUint32(28, true) === vcpuMask) dv.setUint32(28, host.mxcsrMask, true);
  const zero = (from: number, to: number) => {
    if (native.subarray(at + from, at + to).every((b) => b === 0)) emu.fill(0, at + from, at + to);
  };
  if (host.keepsPointersWithoutException) return;
  if ((dv.getUint16(2, true) & FSW_ES) === 0) zero(6, 24);
  else { zero(12, 16); zero(20, 24); }
}

/** The XSAVE/FXSAVE images a form stores into the test's memory window, by their offsets in it. */
export function storedImageOffsets(asm: string): number[] {
  return [...asm.matchAll(/\b(?:fx|x)save\w*\s+\[r15\+(\d+)\]/g)].map((m) => Number(m[1]));
}
