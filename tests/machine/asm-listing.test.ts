/**
 * The %%asm listing says what nasm's own listing (`nasm -l`) says: each source line at nasm's
 * address with nasm's bytes, data lines shown as the data they are (a string is never read as
 * instructions), and every label, local ones under their parent, at the address nasm's symbol
 * table gives it.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { Assembler } from "../../src/machine";
import { listAssembly } from "../../src/machine/asm-listing";
import { nasmObject } from "./helpers";

const ORG = 0x2000n;
const SOURCE = [
  "start:",
  "    mov eax, 10",
  "    lea rsi, [rel msg]",
  ".again:",
  "    dec eax",
  "    jnz .again",
  "    call done",
  "    hlt",
  'msg: db "Hello, world from Xen", 10, 0   ; the string a guest prints',
  "pad: times 12 db 0x90",
  "buf: resb 3",
  "    dq 0x1122334455667788",
  "done:",
  "    ret",
].join("\n");

/** nasm -l's rows: source line → its offset and bytes (continuation rows joined, `<rep N>` expanded). */
function nasmListing(src: string): Map<number, { offset: number; hex: string }> {
  const dir = mkdtempSync(join(tmpdir(), "lst-"));
  writeFileSync(join(dir, "a.asm"), `bits 64\norg ${ORG}\n${src}\n`);
  execFileSync("nasm", ["-f", "bin", "-w-zeroing", "-l", join(dir, "a.lst"), "-o", join(dir, "a.bin"), join(dir, "a.asm")]);
  const out = new Map<number, { offset: number; hex: string }>();
  for (const row of readFileSync(join(dir, "a.lst"), "latin1").split("\n")) {
    const m = /^\s*(\d+) ([0-9A-F]{8}) ([0-9A-F?]+)(?:<rep ([0-9A-F]+)h>)?/.exec(row);
    if (!m) continue;
    const line = Number(m[1]) - 2; // the two lines of preamble above
    const hex = m[3]!.replace(/\?\?/g, "00").repeat(m[4] ? parseInt(m[4], 16) : 1).toLowerCase();
    const seen = out.get(line);
    out.set(line, seen ? { offset: seen.offset, hex: seen.hex + hex } : { offset: parseInt(m[2]!, 16), hex });
  }
  return out;
}

let as: Assembler;
beforeAll(async () => { as = await Assembler.load(); });

describe("the %%asm listing", () => {
  it("gives every line nasm's address and bytes", () => {
    const { bytes, starts } = as.assembleLines(SOURCE, { address: ORG });
    const ours = new Map<number, { offset: number; hex: string }>();
    for (const l of listAssembly(SOURCE, bytes, starts, ORG, 64)) {
      if (!l.bytes.length) continue;
      const seen = ours.get(l.line);
      const hex = Buffer.from(l.bytes).toString("hex");
      ours.set(l.line, seen ? { offset: seen.offset, hex: seen.hex + hex } : { offset: Number(l.address - ORG), hex });
    }
    expect(ours).toEqual(nasmListing(SOURCE));
  });

  it("shows data as data, with the directive as written, and no instruction inside it", () => {
    const { bytes, starts } = as.assembleLines(SOURCE, { address: ORG });
    const listed = listAssembly(SOURCE, bytes, starts, ORG, 64);
    const data = listed.filter((l) => l.kind === "data");
    expect(data.map((l) => l.text)).toEqual(['db "Hello, world from Xen", 10, 0', "times 12 db 0x90", "resb 3", "dq 0x1122334455667788"]);
    expect(Buffer.from(data[0]!.bytes).toString("latin1")).toBe("Hello, world from Xen\n\0");
    const dataStart = data[0]!.address, dataEnd = data[3]!.address + 8n;
    expect(listed.filter((l) => l.kind === "code" && l.address >= dataStart && l.address < dataEnd)).toEqual([]);
    // The code after the data is decoded from its own first byte: `done:` then `ret`.
    expect(listed.slice(-2).map((l) => [l.label, l.text, l.address])).toEqual([["done", "", dataEnd], [undefined, "ret", dataEnd]]);
  });

  it("names each label, local ones under their parent, where nasm's symbol table puts it", () => {
    const { bytes, starts } = as.assembleLines(SOURCE, { address: ORG });
    const listed = listAssembly(SOURCE, bytes, starts, ORG, 64);
    const labels = new Map(listed.filter((l) => l.label).map((l) => [l.label!, Number(l.address - ORG)]));
    expect(labels).toEqual(nasmObject(SOURCE).labels);
    // Branch targets are named by the source's labels.
    expect(listed.find((l) => l.line === 6)!.text).toMatch(/^jne .*; start\.again$/);
    expect(listed.find((l) => l.line === 7)!.text).toMatch(/^call .*; done$/);
  });

  it("lists 32-bit code at a high address the same way", () => {
    const src = "entry:\n    mov ecx, 3\n.l: loop .l\n    jmp entry\ntext: db 'ok', 0";
    const at = 0xfff0_0000n;
    const { bytes, starts } = as.assembleLines(src, { bits: 32, address: at });
    const listed = listAssembly(src, bytes, starts, at, 32);
    expect(listed.map((l) => [l.label ?? "", l.kind, Number(l.address - at)])).toEqual([
      ["entry", "code", 0], ["", "code", 0], ["entry.l", "code", 5], ["", "code", 7], ["text", "data", 9],
    ]);
  });
});
