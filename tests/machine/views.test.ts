/** Views: registers with decoded flags, disassembly around RIP with symbols, page-table walks. */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { gfn } from "../../src/machine";
import { buildWorkloads, runElfGuest, sysGuest } from "./helpers";

describe("views", () => {
  it("registers: every GPR in hex, RFLAGS decoded, control registers, HTML too", () => {
    const { v } = sysGuest("start:\n hlt\n");
    v.setReg("rax", 0xdeadbeefcafef00dn);
    v.setReg("r15", 1);
    v.setFlags(0x8c3); // CF ZF SF OF + bit 1
    const b = v.toMimeBundle();
    expect(b["text/plain"]).toMatch(/rax deadbeefcafef00d/);
    expect(b["text/plain"]).toMatch(/r15 0000000000000001/);
    expect(b["text/plain"]).toMatch(/rflags 000008c3 \[CF ZF SF OF\]/);
    expect(b["text/plain"]).toMatch(/mode long64 cpl 0/);
    expect(String(b["text/html"])).toContain("<table");
  });

  it("after hlt, with no symbols, the disassembly shows the code that ran up to RIP", () => {
    const { v } = sysGuest("start:\n mov eax, 1\n add eax, 2\n push rax\n hlt\n");
    v.symbols.clear();
    const x = v.run(100);
    expect(x.kind).toBe("hlt");
    const view = v.disassemblyView(6)["text/plain"].split("\n");
    // The instructions executed, in order, then RIP (the byte after hlt) marked.
    const ran = view.slice(0, view.findIndex((l) => l.startsWith("=>")));
    expect(ran.map((l) => l.trim().split(/\s{2,}/).at(-1))).toEqual(["mov eax, 1", "add eax, 2", "push rax", "hlt"]);
    expect(view.find((l) => l.startsWith("=>"))).toContain((0x400000 + 5 + 3 + 1 + 1).toString(16));
  });

  it("disassembly around RIP starts at the symbol and its boundaries agree with objdump", () => {
    const { emu } = buildWorkloads();
    let listing: { lines: { address: bigint; text: string }[]; current: bigint } | undefined;
    let view = "";
    runElfGuest(emu, (v) => { v.addBreakpoint("puthex"); }, (x, v) => {
      if (x.kind !== "breakpoint") return false;
      if (!listing) {
        v.step(); v.step(); v.step(); // move a few instructions into puthex
        listing = v.disassembly(10);
        view = v.disassemblyView(10)["text/plain"];
      }
      return true;
    });
    expect(view).toMatch(/^puthex:$/m);
    expect(view).toMatch(/^=> /m);
    const objdump = execFileSync("objdump", ["-d", "--no-show-raw-insn", "-M", "intel", emu]).toString();
    const addrs = new Set([...objdump.matchAll(/^\s+([0-9a-f]+):/gm)].map((m) => BigInt("0x" + m[1])));
    for (const l of listing!.lines) expect(addrs.has(l.address), l.text).toBe(true);
    expect(listing!.lines.map((l) => l.address)).toContain(listing!.current);
  });

  it("page walk: the four levels chain through their entries down to the guest frame and machine frame", () => {
    const { v, m } = sysGuest("start:\n hlt\n", [{ va: 0x900000, gpa: 0x900000, pages: 1, writable: false }]);
    const w = v.pageWalk(0x900123);
    expect(w.levels.map((l) => l.level)).toEqual([4, 3, 2, 1]);
    for (let i = 0; i < 3; i++) expect(Number(w.levels[i]!.entry & 0xffffffffff000n)).toBe(w.levels[i + 1]!.tableGpa);
    expect(w.levels[3]!.flags).toEqual(["P"]);
    expect(w.gpa).toBe(0x900123);
    expect(w.mfn).toBe(m.p2m(v.domain).lookup(gfn(0x900))!.mfn);
    const b = w.toMimeBundle();
    expect(b["text/plain"]).toMatch(/PT .*\[256\] = .* P \(leaf\)/);
    expect(String(b["image/svg+xml"])).toMatch(/^<svg/);
    const miss = v.pageWalk(0x40000000);
    expect(miss.fault).toMatch(/not present at PDPT/);
  });
});
