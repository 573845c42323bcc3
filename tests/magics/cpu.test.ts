/**
 * %%asm and %step as a notebook user drives them: assemble into a guest, step it, watch the
 * registers; the encodings checked against nasm, the results against what the code computes.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cells, CollectedOutputs } from "../support/cells";

let cells: Cells;
const cell = (code: string) => cells.run(code);
const text = (c: CollectedOutputs) => c.text;

beforeAll(async () => {
  cells = new Cells();
  const setup = await cell(`
    const m = new Machine(16);
    m.populate(domId(1), gfn(0), 512);
    const g = m.guest(domId(1));
    const { cr3 } = buildPageTables(g, 0x100000, [{ va: 0, gpa: 0, pages: 256 }]);
    const vcpu = new Vcpu(m, domId(1), 0, { mode: "long64", rip: 0x2000, rsp: 0x8000, cr3 });`);
  expect(setup.errors).toEqual([]);
});
afterAll(() => cells.close());

const PROGRAM = "mov ecx, 10\nxor eax, eax\nagain: add eax, ecx\nloop again\nhlt";

describe("%%asm", () => {
  it("assembles at RIP, writes the guest's memory with nasm's encoding, and lists the code", async () => {
    const out = await cell(`%%asm vcpu\n${PROGRAM}`);
    expect(out.errors).toEqual([]);
    expect(text(out)).toMatch(/2000\s+b9 0a 00 00 00\s+mov ecx, 0xa\n.*2009\s+e2 fc\s+loop 0x2007/s);
    // nasm, assembling the same source at the same origin, gives the same bytes.
    const dir = mkdtempSync(join(tmpdir(), "asm-"));
    writeFileSync(join(dir, "p.asm"), `bits 64\norg 0x2000\n${PROGRAM}\n`);
    execFileSync("nasm", ["-f", "bin", "-o", join(dir, "p.bin"), join(dir, "p.asm")]);
    const nasm = [...readFileSync(join(dir, "p.bin"))];
    const guest = await cell(`Array.from(g.read(0x2000, ${nasm.length}))`);
    const bytes = JSON.parse(text(guest).replace(/\s+/g, ""));
    expect(bytes).toEqual(nasm);
  });

  it("lists labels as labels and data as data, as nasm -l does", async () => {
    const out = await cell(`%%asm vcpu\n    lea rsi, [rel msg]\n    hlt\nmsg: db "Longhorn", 10`);
    expect(out.errors).toEqual([]);
    // The string is its bytes beside its directive, under its label, never "instructions".
    expect(text(out)).toMatch(/\nmsg:\n\s+0+2008\s+4c 6f 6e 67 68 6f 72 6e\s+db "Longhorn", 10\n\s+0+2010\s+0a\s*$/);
    expect(text(out)).toMatch(/lea rsi, \[rel 0x2008\] ; msg/);
  });

  it("names the line of an assembly error", async () => {
    const out = await cell("%%asm vcpu\nmov eax, 1\nfrobnicate eax\nhlt");
    expect(out.errors[0]!.ename).toBe("AssemblyError");
    expect(out.errors[0]!.evalue).toMatch(/line 2/);
  });

  it("refuses an address the guest has not mapped, and a name that is not a vCPU", async () => {
    expect((await cell("%%asm vcpu --at 0x40000000\nnop")).errors[0]!.evalue).toMatch(/not mapped executable/);
    expect((await cell("%%asm m\nnop")).errors[0]!.evalue).toBe("%%asm: m is not a vCPU");
  });
});

describe("%step", () => {
  it("steps one instruction at a time and shows the registers", async () => {
    await cell(`%%asm vcpu\n${PROGRAM}`);
    const one = await cell("%step vcpu");
    expect(text(one)).toMatch(/^vcpu: 1 instruction stepped; \d+ retired in all/);
    expect(text(one)).toMatch(/rcx 000000000000000a/);
  });

  it("stops at the hlt exit before N, with eax holding 10+9+...+1", async () => {
    const out = await cell("%step 100");
    expect(text(out)).toMatch(/stopped by a hlt exit/);
    expect(text(out)).toMatch(/rax 0000000000000037/);
  });

  it("shows the top of the stack, read through the guest's page tables", async () => {
    await cell("%%asm vcpu\npush 0x1234abcd\npush 7\nhlt");
    const out = await cell("%step 2 vcpu");
    expect(out.text).toMatch(/stack:\nrsp\+00  0000000000007ff0  0000000000000007\n\s+\+08  0000000000007ff8  000000001234abcd/);
  });

  it("--panel draws one panel and redraws it in place on later steps", async () => {
    await cell("%%asm vcpu\nmov eax, 1\nmov eax, 2\nhlt");
    const first = await cell("%step vcpu --panel main");
    expect(first.displays).toHaveLength(1);
    expect(first.displays[0]!.id).toBe("step-panel-main");
    expect(first.results).toHaveLength(0);
    const second = await cell("%step vcpu --panel main");
    expect(second.displays).toHaveLength(0);
    expect(second.updates).toHaveLength(1);
    expect(second.updates[0]!.id).toBe("step-panel-main");
    expect(second.updates[0]!.bundle["text/plain"]).toMatch(/rax 0000000000000002/);
  });

  it("checks its arguments", async () => {
    expect((await cell("%step 0")).errors[0]!.evalue).toMatch(/N must be between 1 and 1000000/);
    expect((await cell("%step 2 nothere")).errors[0]!.evalue).toMatch(/^%step: nothere is not defined/);
    const other = await cell("const other = new Vcpu(m, domId(1), 1, { mode: 'long64', rip: 0x2000, rsp: 0x9000, cr3 })");
    expect(other.errors).toEqual([]);
    expect((await cell("%step")).errors[0]!.evalue).toMatch(/several vCPUs are in scope \(vcpu, other\); name one/);
  });
});

describe("a host domain as the target", () => {
  it("%%asm and %step act on vCPU 0 of a lab domain named on the line", async () => {
    const made = await cell("const lab = host.createLabDomain('asmlab', Uint8Array.from([0xf4]), { paused: true }); lab.name");
    expect(made.errors).toEqual([]);
    const asm = await cell("%%asm asmlab\nmov eax, 7\nadd eax, 5\nhlt");
    expect(asm.errors).toEqual([]);
    expect(asm.text).toContain("asmlab:0's address space");
    const stepped = await cell("%step 3 asmlab:0");
    expect(stepped.text).toMatch(/^asmlab:0: 3 instructions stepped, stopped by a hlt exit/);
    expect(stepped.text).toMatch(/rax 000000000000000c/);
  });
});

describe("%cpu stats", () => {
  // 100 calls of a function that only returns: per iteration the blocks [call f], [ret] and
  // [dec ecx; jnz l]; the first block also holds `mov ecx, 100`, the last is [hlt].
  const LOOP = "mov ecx, 100\nl: call f\ndec ecx\njnz l\nhlt\nf: ret";

  it("counts the blocks run, how they were found, compiles and exits, as text and as a chart", async () => {
    const made = await cell("const looper = new Vcpu(m, domId(1), 2, { mode: 'long64', rip: 0x3000, rsp: 0x9800, cr3 })");
    expect(made.errors).toEqual([]);
    expect((await cell(`%%asm looper\n${LOOP}`)).errors).toEqual([]);
    expect(text(await cell("looper.run(10000).kind"))).toContain("hlt");
    const out = await cell("%cpu stats looper");
    expect(out.errors).toEqual([]);
    // 1 + 100 * 4 + 1 instructions; 1 + 100 + 100 + 99 + 1 blocks; 5 distinct blocks compiled.
    expect(text(out)).toMatch(/^vCPU looper: 402 instructions in 301 blocks/);
    expect(text(out)).toMatch(/, 5 compiled \(0 of them reused from the code cache\)\n/);
    const chained = Number(/dispatch: (\d+) chained/.exec(text(out))![1]);
    expect(chained).toBeGreaterThan(290); // a loop this small runs almost entirely on links
    expect(text(out)).toMatch(/exits: hlt 1\n/);
    const svg = out.results[0]!["image/svg+xml"] as string;
    expect(svg).toMatch(/data-part="chained" data-value="\d+"/);
    expect(svg).toContain('data-part="hlt" data-value="1"');
  });

  it("counts a code-frame invalidation when the code is rewritten, and the recompiles", async () => {
    expect((await cell(`%%asm looper --at 0x3000\n${LOOP}`)).errors).toEqual([]);
    expect(text(await cell("looper.run(10000).kind"))).toContain("hlt");
    const out = text(await cell("%cpu stats looper"));
    // The same bytes at the same address: the 5 recompiles take their code from the code cache.
    expect(out).toMatch(/, 10 compiled \(5 of them reused from the code cache\)\n/);
    expect(Number(/(\d+) code-frame invalidations/.exec(out)![1])).toBeGreaterThanOrEqual(1);
    expect(out).toMatch(/exits: hlt 2\n/);
  });

  it("checks its arguments", async () => {
    expect((await cell("%cpu")).errors[0]!.evalue).toMatch(/usage: %cpu stats \[VCPU\]/);
    expect((await cell("%cpu stats nothere")).errors[0]!.evalue).toMatch(/nothere is not defined/);
  });
});
