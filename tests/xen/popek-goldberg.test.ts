/**
 * Notebook 09's Popek–Goldberg experiment, checked against the host CPU: a deprivileged kernel's
 * `cli` traps (#GP, a SIGSEGV in a Linux process), its `popfq` with IF clear does not trap and
 * leaves IF set (SDM Vol. 2B, POPF: IF unchanged when CPL > IOPL). The guest program is the one the
 * notebook's `%%asm pg` cell holds; its ring-3 bytes run natively as an ordinary process (ring 3,
 * IOPL 0), and both must agree.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { assemble } from "../../src/machine";
import { LAB } from "../../src/xen/builder";
import { XenHost } from "../../src/xen/host";

const RFLAGS_IF = 1n << 9n; // SDM Vol. 1 §3.4.3
const NOTEBOOKS = join(__dirname, "..", "..", "notebooks");

/** The `%%asm pg` cell of a notebook 09 copy, without its magic line. */
function pgProgram(file: string): string {
  const nb = JSON.parse(readFileSync(join(NOTEBOOKS, file), "utf8")) as { cells: { source: string | string[] }[] };
  const cells = nb.cells.map((c) => (Array.isArray(c.source) ? c.source.join("") : c.source)).filter((s) => s.startsWith("%%asm pg\n"));
  expect(cells, `${file} has one %%asm pg cell`).toHaveLength(1);
  return cells[0]!.slice("%%asm pg\n".length);
}

/** Where a byte sequence starts in `code` (-1 if nowhere). */
function find(code: Uint8Array, seq: readonly number[], from = 0): number {
  for (let i = from; i + seq.length <= code.length; i++) if (seq.every((b, k) => code[i + k] === b)) return i;
  return -1;
}

// The ring-3 code starts with cli; pushfq (fa 9c) and ends before its int 0x30 (cd 30).
const CLI_PUSHF = [0xfa, 0x9c], INT_30 = [0xcd, 0x30];

/** The ring-3 part and where it starts: from `user:` up to (not including) its closing `int 0x30`. */
function ring3(code: Uint8Array): { at: number; bytes: Uint8Array } {
  const at = find(code, CLI_PUSHF);
  expect(at, "the program has its ring-3 cli; pushfq").toBeGreaterThan(0);
  expect(find(code, CLI_PUSHF, at + 1), "only once").toBe(-1);
  const end = find(code, INT_30, at);
  expect(end).toBeGreaterThan(at);
  return { at, bytes: code.subarray(at, end) };
}

describe("Popek and Goldberg in one experiment (notebook 09)", () => {
  for (const file of ["09-performance.ipynb", "solutions/09-performance-solutions.ipynb"]) {
    it(`${file}: in ring 3, cli traps once and popfq silently keeps IF, on the vCPU as on the host CPU`, async () => {
      const code = await assemble(pgProgram(file), { address: LAB.code });
      const { at, bytes: user } = ring3(code);
      const cliAt = LAB.code + at;

      // The vCPU: the guest's own "VMM" (its ring-0 #GP handler) counts traps in r13 and records
      // the trapping RIP in r15; r14 holds the flags after the popfq.
      const host = new XenHost({ pcpus: 1, memoryMiB: 64 });
      const d = host.createLabDomain("pg", code, { extra: 'on_poweroff = "preserve"' });
      const r = host.run({ until: () => d.isShutdown, maxInstructions: 1_000_000 });
      expect(r.stoppedBy).toBe("until");
      expect(d.shutdownReason).toBe("poweroff");
      const cpu = d.vcpus[0]!.cpu!;
      const guest = { traps: Number(cpu.getReg("r13")), trapAt: Number(cpu.getReg("r15")) - cliAt, ifAfterPopf: (cpu.getReg("r14") & RFLAGS_IF) !== 0n };
      // Neither the #GP nor the popf left the guest: the only VM exit is the shutdown hypercall.
      expect(Object.fromEntries(d.exitCounts)).toEqual({ hypercall: 1 });

      // The host CPU: the same ring-3 bytes in a Linux process, whose SIGSEGV handler plays the
      // VMM the same way (count, record, step over the one-byte instruction).
      const dir = mkdtempSync(join(tmpdir(), "xenlab-pg-"));
      const bytes = [0x41, 0x56, ...user, 0x4c, 0x89, 0xf0, 0x41, 0x5e, 0xc3]; // push r14; ...; mov rax, r14; pop r14; ret
      writeFileSync(join(dir, "pg.c"), `
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
static const unsigned char code[] = { ${bytes.join(", ")} };
static unsigned char *base;
static volatile long traps = 0, trap_at = -1;
static void on_segv(int sig, siginfo_t *si, void *ctx) {
  ucontext_t *uc = ctx;
  traps++;
  trap_at = (long)((unsigned char *)uc->uc_mcontext.gregs[REG_RIP] - base) - 2; /* after push r14 */
  uc->uc_mcontext.gregs[REG_RIP] += 1;
}
int main(void) {
  struct sigaction sa; memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv; sa.sa_flags = SA_SIGINFO; sigaction(SIGSEGV, &sa, 0);
  base = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  memcpy(base, code, sizeof code);
  unsigned long flags = ((unsigned long (*)(void))base)();
  printf("%ld %ld %d\\n", traps, trap_at, (int)((flags >> 9) & 1));
  return 0;
}
`);
      execFileSync("gcc", ["-O1", "-o", join(dir, "pg"), join(dir, "pg.c")]);
      const [traps, trapAt, ifBit] = execFileSync(join(dir, "pg"), { encoding: "utf8" }).trim().split(" ").map(Number);
      const native = { traps, trapAt, ifAfterPopf: ifBit === 1 };

      expect(native).toEqual({ traps: 1, trapAt: 0, ifAfterPopf: true });
      expect(guest).toEqual(native);
    });
  }
});
