/**
 * The vCPU's CPUID as a compiler's runtime reads it: libgcc's __builtin_cpu_supports (its own
 * decoding of CPUID leaves 1, 7, 0xD and 0x80000001, and its psABI level rules) runs on the
 * emulator, answered by the Xen host's CPUID (src/xen/cpuid.ts, which Hyper-V also falls back
 * to). The vCPU is x86-64-v2 (CX16, LAHF/SAHF, POPCNT, SSE3, SSSE3, SSE4.1, SSE4.2) and reports
 * nothing it does not execute: no AVX, hence not v3.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { domId } from "../../src/machine";
import { vcpuId } from "../../src/platform/ids";
import { xenCpuid } from "../../src/xen/cpuid";
import { TMP, runElfGuest } from "./helpers";

function build(define: string): string {
  const out = join(TMP, `levels-${define}`);
  execFileSync("gcc", ["-O2", "-ffreestanding", "-nostdlib", "-mno-red-zone", "-static", "-no-pie", "-fno-pic", `-D${define}`, "-o", out, join(__dirname, "programs", "levels.c"), "-lgcc"]);
  return out;
}

describe("CPUID as libgcc's __builtin_cpu_supports reads it on the vCPU", () => {
  it("x86-64-v2 and each of its features; no AVX, AVX2 or v3", () => {
    const native = execFileSync(build("NATIVE")).toString();
    expect(native).toMatch(/^x86-64-v2 yes$/m); // the host (the oracle for the rest) is v2
    const { out } = runElfGuest(build("EMU"), undefined, (x, v) => {
      if (x.kind !== "cpuid") return false;
      v.completeCpuid(...xenCpuid(x.leaf, x.subleaf, { domid: domId(1), vcpuId: vcpuId(0), nrVcpus: 1, viridian: false }));
      return true;
    });
    const said = Object.fromEntries(out.trim().split("\n").map((l) => l.split(" ")));
    for (const f of ["mmx", "sse", "sse2", "sse3", "ssse3", "sse4.1", "sse4.2", "popcnt", "pclmul", "aes", "x86-64", "x86-64-v2"]) expect(said[f], f).toBe("yes");
    for (const f of ["avx", "avx2", "x86-64-v3"]) expect(said[f], f).toBe("no");
  });
});
