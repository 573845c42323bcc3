/**
 * rdrand as the SDM defines it (Vol. 2B RDRAND) and as this machine's own CPU executes it: a
 * random value in the destination and CF=1 with OF, SF, ZF, AF, PF cleared; the 32-bit form
 * zero-extends into the upper half, the 16-bit form keeps bits 63:16. The same snippet runs on the
 * host CPU (gcc, inline assembly) and on the vCPU, and the parts that are not random (flags and the
 * bits the instruction must keep or clear) must agree. CPUID.1:ECX.RDRAND (bit 30) says so; rdseed,
 * which CPUID does not offer, stays #UD.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { architecturalCpuid } from "../../src/machine/cpu-features";
import { runTo, sysGuest } from "./helpers";

/** The snippet: every arithmetic flag set by popf, then rdrand into 64-, 32- and 16-bit registers. */
const SNIPPET = [
  "mov rax, 0x8d5", "push rax", "popf",        // CF PF AF ZF SF OF = 1
  "rdrand r8", "pushf", "pop r9",               // r9 = RFLAGS after rdrand r8
  "mov r10, -1", "rdrand r10d",                 // upper half must become zero
  "mov r11, -1", "rdrand r11w",                 // bits 63:16 must stay ones
  "mov rcx, -1", "rdrand rbx", "setc cl", "rdrand rdx", "cmp rbx, rdx", "setne ch", // two reads differ
];
/** What the test compares: RFLAGS' arithmetic bits, r10 >> 32, r11 >> 16, CF, "differ". */
const summary = (r9: bigint, r10: bigint, r11: bigint, rcx: bigint) =>
  `flags=${(r9 & 0x8d5n).toString(16)} hi32=${(r10 >> 32n).toString(16)} hi48=${(r11 >> 16n).toString(16)} cf=${rcx & 0xffn} differ=${(rcx >> 8n) & 0xffn}`;

function onHost(): string {
  const dir = mkdtempSync(join(tmpdir(), "xenlab-rdrand-"));
  const c = `#include <stdio.h>
#include <stdint.h>
int main(void) {
  uint64_t r9, r10, r11, rcx;
  __asm__ volatile(${JSON.stringify(SNIPPET.join("\n") + "\nmov %0, r9\nmov %1, r10\nmov %2, r11\nmov %3, rcx\n")}
    : "=m"(r9), "=m"(r10), "=m"(r11), "=m"(rcx) : : "rax", "rbx", "rcx", "rdx", "r8", "r9", "r10", "r11", "cc", "memory");
  printf("%lx %lx %lx %lx\\n", r9, r10, r11, rcx);
  return 0;
}`;
  writeFileSync(join(dir, "rdrand.c"), c);
  execFileSync("gcc", ["-O1", "-masm=intel", "-o", join(dir, "rdrand"), join(dir, "rdrand.c")]);
  const [r9, r10, r11, rcx] = execFileSync(join(dir, "rdrand"), { encoding: "utf8" }).trim().split(" ").map((h) => BigInt("0x" + h));
  return summary(r9!, r10!, r11!, rcx!);
}

describe("rdrand", () => {
  it("sets CF, clears OF SF ZF AF PF, zero-extends the 32-bit form and keeps bits 63:16 of the 16-bit form, as the host CPU does", () => {
    const { v } = sysGuest(`start:\n${SNIPPET.join("\n")}\nhlt`);
    runTo(v, "hlt");
    const mine = summary(v.getReg("r9"), v.getReg("r10"), v.getReg("r11"), v.getReg("rcx"));
    expect(mine).toBe("flags=1 hi32=0 hi48=ffffffffffff cf=1 differ=1");
    expect(mine).toBe(onHost());
  });

  it("CPUID.1:ECX bit 30 reports it; rdseed (not reported: CPUID.7 is empty) is #UD", () => {
    expect(architecturalCpuid(1, 0, { apicId: 0, nrVcpus: 1 })[2] & (1 << 30)).toBe(1 << 30);
    expect(architecturalCpuid(7, 0, { apicId: 0, nrVcpus: 1 })[1] & (1 << 18)).toBe(0);
    const { v } = sysGuest(`start:\n rdseed rax\n hlt\nvec_6:\n mov ebx, 6\n hlt`);
    runTo(v, "hlt");
    expect(v.getReg("rbx")).toBe(6n);
  });
});
