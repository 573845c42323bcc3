/**
 * The vCPU's hardware random number source (what rdrand reads; rdseed is not offered: CPUID.7 reports no RDSEED): the host's CSPRNG, taken
 * 1 KiB at a time so an instruction costs an array read, not a system call.
 */
import { randomFillSync } from "node:crypto";

export class EntropySource {
  private readonly pool = new Uint32Array(256);
  private next = this.pool.length;

  /** 32 random bits, as an unsigned number's int32 image (the register file's lane format). */
  random32(): number {
    if (this.next === this.pool.length) { randomFillSync(this.pool); this.next = 0; }
    return this.pool[this.next++]! | 0;
  }
}
