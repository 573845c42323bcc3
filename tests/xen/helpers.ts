/** Test helpers: nasm-assembled lab snippets (nasm is the independent assembler). */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LAB } from "../../src/xen/builder";

const TMP = mkdtempSync(join(tmpdir(), "xenlab-xen-"));

/** Assembles 64-bit code at the lab domain's code address; HC(n) is the hypercall-page stub. */
export function labCode(src: string): Uint8Array {
  const f = join(TMP, `a${Math.random().toString(36).slice(2)}.asm`);
  writeFileSync(f, `bits 64\norg ${LAB.code}\n%define HC(n) (${LAB.hypercallPage} + (n)*32)\n${src}\n`);
  execFileSync("nasm", ["-f", "bin", "-o", `${f}.bin`, f]);
  return new Uint8Array(readFileSync(`${f}.bin`));
}
