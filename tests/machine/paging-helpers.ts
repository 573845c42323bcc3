/**
 * The record stream tests/machine/programs/paging.asm and compat.asm (and the small programs
 * pmFirmware builds) write to the debug port, decoded into lines: 'M id' (a probe starts),
 * 'F vector ec cr2 eip' (a fault the handler saw), 'V value' (32 bits), 'Q value' (64 bits).
 */
import { join } from "node:path";
import { nasm } from "./helpers";

/** Where the firmware sources and their shared pieces (pm32-records.mac, pm32-faults.asm) live. */
const PROGRAMS = join(__dirname, "programs");

export function decodeRecords(b: Uint8Array): string[] {
  const out: string[] = [];
  let i = 0;
  const u32 = () => {
    if (i + 4 > b.length) throw new Error(`record stream ends inside a value at byte ${i}`);
    const v = (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
    i += 4;
    return v.toString(16).padStart(8, "0");
  };
  while (i < b.length) {
    const t = String.fromCharCode(b[i++]!);
    if (t === "M") out.push(`M ${b[i++]!.toString(16).padStart(2, "0")}`);
    else if (t === "F") { const v = b[i++]!; out.push(`F ${v} ec=${u32()} cr2=${u32()} eip=${u32()}`); }
    else if (t === "V") out.push(`V ${u32()}`);
    else if (t === "Q") { const lo = u32(); out.push(`Q ${u32()}${lo}`); }
    else throw new Error(`unknown record tag 0x${t.charCodeAt(0).toString(16)} at byte ${i - 1}`);
  }
  return out;
}

/** The records after `M id` up to the next M record. */
export function probe(lines: string[], id: number): string[] {
  const k = lines.indexOf(`M ${id.toString(16).padStart(2, "0")}`);
  if (k < 0) throw new Error(`probe ${id.toString(16)} never ran; records: ${lines.join(" | ")}`);
  const rest = lines.slice(k + 1);
  const end = rest.findIndex((l) => l.startsWith("M "));
  return end < 0 ? rest : rest.slice(0, end);
}

/** A 64 KiB BIOS image whose reset vector jumps to `start` (16-bit code at F000:0). */
export function firmwareImage(src: string): Uint8Array {
  return nasm(`${src.replace(/^bits 16\norg 0\n/m, "")}\ntimes 0xFFF0 - ($ - $$) db 0\njmp 0xF000:start\ntimes 0x10000 - ($ - $$) db 0`, 16, 0, [PROGRAMS]);
}

/**
 * A firmware image that enters flat 32-bit protected mode (paging off, DS/ES/SS flat, stack at
 * 0x9000), installs #GP and #PF handlers writing 'F' records and resuming at [0x600], and runs
 * `body` (32-bit code; the PROBE/VAL/MARK macros and fault handlers are paging.asm's own,
 * programs/pm32-records.mac and pm32-faults.asm; `out 0xf4` is appended).
 */
export function pmFirmware(body: string): Uint8Array {
  return firmwareImage(`
%define LIN(x) (0xF0000 + (x))
%define RECOVER_AT 0x600
%include "pm32-records.mac"
bits 16
start:
  cli
  xor ax, ax
  mov ss, ax
  mov sp, 0x7000
  o32 lgdt [cs:gdtr]
  mov eax, cr0
  or al, 1
  mov cr0, eax
  jmp dword 0x08:LIN(pm32)
bits 32
pm32:
  mov ax, 0x10
  mov ss, ax
  mov ds, ax
  mov es, ax
  mov esp, 0x9000
  mov edi, 0x1000
  mov ecx, 512
  xor eax, eax
  rep stosd
  mov eax, LIN(gp_handler)
  mov [0x1000 + 13*8], ax
  mov word [0x1000 + 13*8 + 2], 0x08
  mov word [0x1000 + 13*8 + 4], 0x8e00
  shr eax, 16
  mov [0x1000 + 13*8 + 6], ax
  mov eax, LIN(pf_handler)
  mov [0x1000 + 14*8], ax
  mov word [0x1000 + 14*8 + 2], 0x08
  mov word [0x1000 + 14*8 + 4], 0x8e00
  shr eax, 16
  mov [0x1000 + 14*8 + 6], ax
  lidt [LIN(idtr)]
${body}
  mov al, 0
  out 0xf4, al
  hlt
%include "pm32-faults.asm"
align 8
gdt:
  dq 0
  dq 0x00cf9a000000ffff
  dq 0x00cf92000000ffff
gdt_end:
gdtr: dw gdt_end - gdt - 1
      dd LIN(gdt)
idtr: dw 256 * 8 - 1
      dd 0x1000
bits 16
`);
}
