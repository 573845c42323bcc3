/** Test helpers: nasm-assembled lab snippets (nasm is the independent assembler). */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CONSOLE_PFN, LAB } from "../../src/xen/builder";

const TMP = mkdtempSync(join(tmpdir(), "xenlab-xen-"));

/** Assembles 64-bit code at the lab domain's code address; HC(n) is the hypercall-page stub. */
export function labCode(src: string): Uint8Array {
  const f = join(TMP, `a${Math.random().toString(36).slice(2)}.asm`);
  writeFileSync(f, `bits 64\norg ${LAB.code}\n%define HC(n) (${LAB.hypercallPage} + (n)*32)\n${src}\n`);
  execFileSync("nasm", ["-f", "bin", "-o", `${f}.bin`, f]);
  return new Uint8Array(readFileSync(`${f}.bin`));
}

/**
 * A lab guest that echoes its PV console: it drains in[in_cons..in_prod) to console_io one byte
 * at a time, and blocks (SCHEDOP_block) when there is nothing to read.
 */
/**
 * nasm: the next byte of the PV console's in[] into ecx, with rbx at the console page (public/io/
 * console.h: in[1024], out[2048], in_cons at 3072, in_prod at 3076); jumps to `empty` when
 * in_cons == in_prod.
 */
export function consoleGetc(empty: string): string {
  return `
      mov eax, [rbx + 3072]          ; in_cons
      cmp eax, [rbx + 3076]          ; in_prod
      je ${empty}
      and eax, 1023
      movzx ecx, byte [rbx + rax]
      inc dword [rbx + 3072]`;
}

export function echoGuest(): Uint8Array {
  return labCode(`
      mov r15, rsi
      mov rbx, ${CONSOLE_PFN * 4096}   ; the console page (above 2 GiB: no 32-bit displacement)
    again:
${consoleGetc("sleep")}
      mov [rel chr], cl
      xor edi, edi
      mov esi, 1
      lea rdx, [rel chr]
      call HC(18)
      jmp again
    sleep:
      mov byte [r15], 0
      mov qword [r15 + 8], 0
      mov qword [r15 + 2048], 0
      mov edi, 1
      xor esi, esi
      call HC(29)
      jmp again
    chr: db 0`);
}

/**
 * GDT + IDT scaffolding for lab guests that take interrupts: `gate VEC, handler` fills a 64-bit
 * interrupt gate in the IDT at 0x9000 (SDM Vol. 3A §6.14.1); code after it starts at `start`.
 */
export const IDT_PRELUDE = `
    lgdt [rel gdtr]
    jmp start
  %macro gate 2
    lea rax, [rel %2]
    mov rdi, 0x9000 + %1*16
    mov [rdi], ax
    mov word [rdi+2], 0x08
    mov word [rdi+4], 0x8e00
    shr rax, 16
    mov [rdi+6], ax
    shr rax, 16
    mov [rdi+8], eax
    mov dword [rdi+12], 0
  %endmacro
  idtr: dw 0x1000 - 1
    dq 0x9000
  gdtr: dw 3*8 - 1
    dq gdt
  gdt: dq 0, 0x00af9a000000ffff, 0x00cf92000000ffff
  start:
    lidt [rel idtr]
`;
