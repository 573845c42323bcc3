/** Test helpers: nasm-assembled child code, a fresh host. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CHILD_LAYOUT } from "../../src/hyperv";

/** Assembles 64-bit code at the child's image address with nasm. */
export function nasm(src: string): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), "xenlab-hvasm-"));
  writeFileSync(join(dir, "a.asm"), `bits 64\norg ${CHILD_LAYOUT.image}\n${src}\n`);
  execFileSync("nasm", ["-f", "bin", "-o", join(dir, "a.bin"), join(dir, "a.asm")]);
  return new Uint8Array(readFileSync(join(dir, "a.bin")));
}

/** Guest prologue: guest OS id, hypercall page at 0x3000 (enabled). */
export const ENABLE_HYPERCALLS = `
  mov ecx, 0x40000000
  mov eax, 0x00020600
  mov edx, 0x81000000
  wrmsr
  mov ecx, 0x40000001
  mov eax, 0x3001
  xor edx, edx
  wrmsr
`;
