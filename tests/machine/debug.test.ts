/** Stepping, budgets, breakpoints on ELF symbols, watchpoints, virtual time and the trace ring. */
import { describe, expect, it } from "vitest";
import { buildWorkloads, longModeGuest, nasm, runElfGuest } from "./helpers";

describe("control and debugging", () => {
  const { emu } = buildWorkloads();

  it("step() retires exactly one instruction; run(n) stops after exactly n", () => {
    const { v } = longModeGuest(nasm(`
      mov ecx, 100
    l: add eax, ecx
      dec ecx
      jnz l
      hlt`, 64, 0x400000));
    expect(v.step()).toMatchObject({ kind: "budget", rip: 0x400005 });
    expect(v.icount).toBe(1);
    expect(v.step()).toMatchObject({ kind: "budget", rip: 0x400007 });
    expect(v.run(100 - 2)).toMatchObject({ kind: "budget" });
    expect(v.icount).toBe(100);
    // 1 + 3*100 + 1 instructions in all
    expect(v.run(10_000).kind).toBe("hlt");
    expect(v.icount).toBe(302);
    expect(v.getReg("rax")).toBe(5050n);
  });

  it("rdtsc reads virtual time: instructions retired before it", () => {
    const { v } = longModeGuest(nasm("nop\nnop\nxor eax, eax\nrdtsc\nhlt", 64, 0x400000));
    v.tscOffset = 1000;
    v.run(100);
    expect(v.getReg("rax")).toBe(1003n);
  });

  it("stops at a breakpoint on an ELF symbol, before the instruction, and resumes past it", () => {
    let hits = 0;
    let at = 0;
    const { out, v } = runElfGuest(emu, (v) => { at = v.addBreakpoint("puthex"); }, (x, v) => {
      if (x.kind !== "breakpoint") return false;
      expect(x.rip).toBe(at);
      expect(x.symbol).toBe("puthex");
      expect(v.rip).toBe(at);
      hits++;
      return true;
    });
    expect(hits).toBe(9); // one call per result line
    expect(out).toMatch(/^sieve 000000000000198e/);
    void v;
  });

  it("stops after a store to a watched address, with the value written", () => {
    let seen: { address: number; value: bigint } | undefined;
    let arr = 0;
    runElfGuest(emu, (v) => { arr = v.symbols.get("arr")!; v.addWatchpoint(arr, 4); }, (x, v) => {
      if (x.kind !== "watchpoint") return false;
      if (!seen) {
        seen = { address: x.address, value: x.value };
        expect(BigInt(new DataView(v.readVirt(arr, 4).buffer).getUint32(0, true))).toBe(x.value);
      }
      return true;
    });
    expect(seen?.address).toBe(arr);
    // first value stored in arr[0]: seed = 42 * 1664525 + 1013904223 (mod 2^32)
    expect(seen?.value).toBe(BigInt((42 * 1664525 + 1013904223) % 2 ** 32));
  });

  it("is deterministic: the same program retires the same number of instructions", () => {
    const a = runElfGuest(emu).v.icount;
    const b = runElfGuest(emu).v.icount;
    expect(a).toBe(b);
  });

  it("keeps a trace ring of recent blocks and events; requestStop gives an interrupt exit", () => {
    const { v } = longModeGuest(nasm("l: jmp l", 64, 0x400000));
    expect(v.run(500).kind).toBe("budget");
    const blocks = v.trace.recentBlocks();
    expect(blocks.length).toBeGreaterThan(0);
    expect(blocks.every(([a]) => a === 0x400000)).toBe(true);
    const recent = v.recentInstructions(5);
    expect(recent).toHaveLength(5);
    expect(recent.every((r) => r.address === 0x400000n && r.text === "jmp short 0x400000")).toBe(true);
    // a self-looping block: one trace entry covers many iterations
    const { v: w } = longModeGuest(nasm("mov ecx, 50\nl: inc eax\ndec ecx\njnz l\nhlt", 64, 0x400000));
    expect(w.run(1000).kind).toBe("hlt");
    expect(w.recentInstructions(7).map((r) => r.text.split(" ")[0])).toEqual(["inc", "dec", "jne", "inc", "dec", "jne", "hlt"]);
    expect(w.traceView(3)["text/plain"]).toMatch(/last 3 instructions[\s\S]*jne[\s\S]*hlt[\s\S]*last events:[\s\S]*exit hlt/);
    v.requestStop();
    expect(v.run(500)).toMatchObject({ kind: "interrupt" });
    expect(v.trace.recentEvents().at(-1)?.text).toBe("exit interrupt");
  });
});
