/**
 * The bench's workload programs (bench/workloads/*.c) as a specification of what the bench may
 * claim: one static ELF, run unchanged natively, under qemu-x86_64 and on the vCPU, prints the same
 * line each way; and `prog 2` retires exactly twice the instructions of `prog 1` on the vCPU
 * (plus a constant), so the native and qemu slopes between run counts measure the same work the
 * vCPU's count describes.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ElfFile } from "../../src/machine";
import { load, runOnce } from "../../bench/workload-vcpu";
import { TMP } from "./helpers";

const SRC = join(__dirname, "..", "..", "bench", "workloads");
const NAMES = readdirSync(SRC).filter((f) => f.endsWith(".c")).map((f) => f.slice(0, -2));
const FLAGS = ["-O2", "-ffreestanding", "-nostdlib", "-static", "-no-pie", "-fno-pic", "-mno-sse", "-fno-stack-protector"];

describe("bench workloads: one ELF, three ways", () => {
  it("there are at least 8 programs", () => expect(NAMES.length).toBeGreaterThanOrEqual(8));
  const stubPath = join(TMP, "syscall-stub.bin");
  execFileSync("nasm", ["-f", "bin", "-o", stubPath, join(SRC, "syscall-stub.asm")]);
  const stub = new Uint8Array(readFileSync(stubPath));
  const qemu = existsSync("/usr/bin/qemu-x86_64") ? "/usr/bin/qemu-x86_64" : undefined;

  for (const name of NAMES) {
    it(`${name}: the vCPU prints what the host CPU prints, and two runs are twice the work`, () => {
      const elfPath = join(TMP, `wl-${name}`);
      execFileSync("gcc", [...FLAGS, "-o", elfPath, join(SRC, `${name}.c`)]);
      const native = execFileSync(elfPath).toString();
      expect(native).toMatch(new RegExp(`^${name} [0-9a-f]{16}\\n$`));
      expect(execFileSync(elfPath, ["3"]).toString()).toBe(native); // every run computes the same
      if (qemu) expect(execFileSync(qemu, [elfPath]).toString()).toBe(native);
      const elf = new ElfFile(new Uint8Array(readFileSync(elfPath)));
      const one = runOnce(load(elf, stub));
      const two = runOnce(load(elf, stub, ["2"]));
      expect(one.out).toBe(native);
      expect(two.out).toBe(native);
      expect(one.icount).toBeGreaterThan(5_000_000);
      // Start-up and the final print are a few hundred instructions; the runs themselves are equal.
      expect(Math.abs(two.icount - 2 * one.icount)).toBeLessThan(2000);
    });
  }
});
