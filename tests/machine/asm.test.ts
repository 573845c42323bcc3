/**
 * keystone (our assembler) against nasm, both read back by iced (our disassembler): for every
 * instruction form of the differential corpus plus control/system instructions, keystone's bytes
 * and nasm's bytes disassemble to the same NASM text, and that text reassembled by nasm means the
 * same instruction again.
 */
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { Assembler, AssemblyError, ElfFile, disassemble, normalizeNumbers, symbolizerFrom } from "../../src/machine";
import { buildForms } from "./diff-forms";
import { buildWorkloads, nasm } from "./helpers";

const SLOT = 32;
function nasmSlots(lines: string[]): Uint8Array[] {
  const src = ["%macro S 1", "  db %%e - %%s", "%%s: %1", "%%e: times 31 - (%%e - %%s) db 0x90", "%endmacro", ...lines.map((l) => `S {${l}}`)].join("\n");
  const b = nasm(src, 64, 0);
  return lines.map((_, i) => b.subarray(i * SLOT + 1, i * SLOT + 1 + b[i * SLOT]!));
}
const text = (b: Uint8Array) => disassemble(b, 0x1000, 64).map((l) => l.text).join("; ");

/**
 * Equivalent encodings the two assemblers choose differently: xchg's operands commute (keystone
 * swaps them), and nasm turns a lone scaled index [r*2] into the shorter [r+r].
 */
function equiv(t: string): string {
  return t
    .replace(/^xchg (\w+), (\w+)$/, (_m, a: string, b: string) => `xchg ${[a, b].sort().join(", ")}`)
    .replace(/\[(\w+)\+\1\]/g, "[$1*2]");
}

/**
 * Lines keystone-wasm 1.0.4 assembles to a different instruction than nasm (found by this test).
 * Kept explicit: the test fails if keystone ever starts agreeing, so the list stays true.
 */
const KEYSTONE_DIVERGES: Record<string, string> = {
  // keystone drops the operand-size prefix: a 64-bit push of a sign-extended imm32 instead of o16 push
  "push word 0x8123": "push 0x8123",
};

let as: Assembler;
beforeAll(async () => { as = await Assembler.load(); });

describe("assembler and disassembler", () => {
  it("keystone and nasm encodings disassemble identically, and iced's text reassembles with nasm", () => {
    const corpus = [
      ...new Set([
        ...buildForms().map((f) => f.asm),
        "ret", "ret 16", "leave", "push rbx", "pop r12", "push 0x1234", "call rax", "jmp qword [rax+8]",
        "cpuid", "rdtsc", "rdmsr", "wrmsr", "hlt", "pause", "vmcall", "vmmcall", "int 0x80", "iretq", "syscall",
        "lgdt [rax]", "lidt [rbx+16]", "invlpg [rcx]", "mov cr3, rax", "mov rax, cr0", "cli", "sti", "in al, dx", "out 0x80, al",
        "rep movsb", "rep stosq", "repne scasb", "repe cmpsb", "lodsq", "cld", "std", "swapgs", "ud2", "bswap r9",
      ]),
    ];
    const fromNasm = nasmSlots(corpus);
    const mismatches: string[] = [];
    const ksFailed: string[] = [];
    const kept: string[] = [];
    corpus.forEach((line, i) => {
      let kb: Uint8Array;
      try { kb = as.assemble(line, { address: 0x1000 }); } catch { ksFailed.push(line); return; }
      const a = equiv(text(kb)), b = equiv(text(fromNasm[i]!));
      if (line in KEYSTONE_DIVERGES) {
        if (a !== KEYSTONE_DIVERGES[line]) mismatches.push(`${line}: known keystone divergence changed: now ${a}`);
        return;
      }
      if (a !== b) mismatches.push(`${line}: keystone -> ${a} | nasm -> ${b}`);
      kept.push(b);
    });
    expect(mismatches).toEqual([]);
    expect(ksFailed.length, `keystone rejected: ${ksFailed.join(" | ")}`).toBeLessThan(corpus.length * 0.02);
    // iced's NASM text is valid nasm input meaning the same instruction
    const again = nasmSlots(kept.map((t) => t.replace(/ ; .*$/, "")));
    const roundTrip = kept.filter((t, i) => equiv(text(again[i]!)) !== t);
    expect(roundTrip).toEqual([]);
    expect(kept.length).toBeGreaterThan(1200);
  });

  it("reports the failing line of a bad source", () => {
    const err = (() => { try { as.assemble("nop\nmov rax, rbx\nbogus eax, 1\nnop"); return undefined; } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(AssemblyError);
    expect((err as AssemblyError).line).toBe(3);
    expect((err as AssemblyError).message).toMatch(/line 3: .*bogus eax, 1/);
    // forward references are not mistaken for the error
    expect(as.assemble("jmp done\nnop\ndone: ret").length).toBeGreaterThan(0);
  });

  it("disassembles with ELF symbols for branch targets", () => {
    const elf = new ElfFile(new Uint8Array(readFileSync(buildWorkloads().emu)));
    const syms = symbolizerFrom(elf.symbolMap());
    const main = elf.symbolMap().get("main")!;
    const text = elf.sections.find((s) => s.name === ".text")!;
    const off = text.offset + Number(main - text.addr);
    const size = elf.symbols.find((x) => x.name === "main")!.size;
    const lines = disassemble(elf.bytes.subarray(off, off + size), main, 64, { symbols: syms });
    expect(lines[0]!.where).toBe("main");
    expect(lines.some((l) => /^call 0x[0-9a-f]+ ; puthex$/.test(l.text))).toBe(true);
  });
});

describe("keystone number syntax", () => {
  it("reads NASM literals as NASM does (keystone alone takes 10 as 0x10)", async () => {
    const as2 = await Assembler.load();
    for (const [src, imm] of [["mov eax, 10", 10], ["mov eax, 10h", 16], ["mov eax, 0ah", 10], ["mov eax, 101b", 5], ["mov eax, 0x10", 16], ["mov eax, 17q", 15], ["mov eax, -3", -3 >>> 0]] as const) {
      const b = as2.assemble(src);
      expect(new DataView(b.buffer, b.byteOffset).getUint32(1, true), src).toBe(imm);
      expect(b).toEqual(nasm(src, 64, 0));
    }
    expect(normalizeNumbers('db "10", 10 ; 10 things')).toBe("db 0x31, 0x30, 0xa ; 10 things");
    expect(normalizeNumbers("cmp al, '1'")).toBe("cmp al, '1'");
  });

  it("refuses NASM preprocessor directives with the line, instead of hanging in keystone", async () => {
    const as2 = await Assembler.load();
    expect(() => as2.assemble("nop\n%rep 3\nnop\n%endrep")).toThrow(/line 2: .*%rep.*not supported/);
    expect(() => as2.assemble("%define X 1\nmov eax, X")).toThrow(/line 1/);
  });

  it("assembles strings in data directives as nasm does (keystone alone loses the labels after them)", async () => {
    const as2 = await Assembler.load();
    for (const src of ['lea rsi, [rel msg]\nhlt\nmsg: db "Hello, Xen", 10\nafter: dd 0', "msg: db 'Hi', 10\nnext: db 0", "msg: db `tab\\there\\n`, 0\nx: dw 1"]) {
      expect(as2.assemble(src, { address: 0x100000 }), src).toEqual(nasm(src, 64, 0x100000));
    }
    expect(normalizeNumbers("mov eax, [r15+13]")).toBe("mov eax, [r15+0xd]");
  });
});

describe("%%asm flow", () => {
  it("assembles into a domain's memory and the vCPU runs it", async () => {
    const as3 = await Assembler.load();
    const { longModeGuest } = await import("./helpers");
    const { v, m } = longModeGuest(new Uint8Array(0));
    const g = m.guest(v.domain);
    as3.assembleInto(g, 0x400000, [
      "  mov ecx, 10        ; decimal ten",
      "  xor eax, eax",
      "top:",
      "  add eax, ecx",
      "  loop top",
      "  mov [0x500000], rax",
      "  hlt",
    ].join("\n"));
    expect(v.run(1000).kind).toBe("hlt");
    expect(v.getReg("rax")).toBe(55n);
    expect(v.readVirtU64(0x500000)).toBe(55n);
  });
});
