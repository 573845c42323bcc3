/**
 * The compiled-code cache (src/machine/code-cache.ts): a block's translation is found again by
 * its address, mode and exact bytes, by any machine of the process (a second boot, a second
 * domain), or from a cache file in another process. A hit must be exactly what a fresh compile
 * gives: different bytes, another mode or a single-step compile at the same address never hit.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CodeCache } from "../../src/machine/code-cache";
import type { Block } from "../../src/machine/codegen";
import { longModeGuest, nasm, runTo } from "./helpers";

/** Sums 1..50 through a called function: five blocks (entry, call, f, loop test, hlt). */
const SUM = `
  mov rcx, 50
  xor rdx, rdx
again:
  call f
  dec rcx
  jnz again
  hlt
f: add rdx, rcx
  ret`;

function boot(src: string, cache: CodeCache | undefined): ReturnType<typeof longModeGuest> {
  const g = longModeGuest(nasm(src, 64, 0x400000));
  g.m.codeCache = cache;
  return g;
}

const fns = (blocks: Iterable<unknown>): Set<unknown> => new Set([...blocks].map((b) => (b as Block).fn));

describe("the code cache shared by the machines of one process", () => {
  it("a second machine running the same program reuses every block's function", () => {
    const cache = new CodeCache();
    const a = boot(SUM, cache);
    runTo(a.v, "hlt");
    expect(a.v.getReg("rdx")).toBe(1275n);
    expect(a.v.dispatch.reused).toBe(0);
    const b = boot(SUM, cache);
    runTo(b.v, "hlt");
    expect(b.v.getReg("rdx")).toBe(1275n);
    expect(b.v.dispatch.compiled).toBe(a.v.dispatch.compiled);
    expect(b.v.dispatch.reused).toBe(b.v.dispatch.compiled);
    // The very same function objects: V8's feedback and optimized code go with them.
    expect(fns(b.m.code.values())).toEqual(fns(a.m.code.values()));
    expect(cache.stats()).toMatchObject({ hits: b.v.dispatch.compiled, loadedHits: 0 });
  });

  it("different bytes at the same address are compiled afresh", () => {
    const cache = new CodeCache();
    runTo(boot(SUM, cache).v, "hlt");
    // Same layout, one immediate differs: f adds twice rcx.
    const b = boot(SUM.replace("f: add rdx, rcx", "f: lea rdx, [rdx + rcx * 2]"), cache);
    runTo(b.v, "hlt");
    expect(b.v.getReg("rdx")).toBe(2550n);
    // Only f's block changed: the other four are reused.
    expect(b.v.dispatch.reused).toBe(b.v.dispatch.compiled - 1);
  });

  it("a single-step compile of the same address is its own entry (one instruction per step)", () => {
    const cache = new CodeCache();
    runTo(boot(SUM, cache).v, "hlt");
    const b = boot(SUM, cache);
    for (let k = 1; k <= 4; k++) {
      b.v.step();
      expect(b.v.icount).toBe(k);
    }
    // mov ecx (nasm's 5-byte form), xor, call, then f's add: just past the add, at f + 3.
    expect(b.v.getReg("rdx")).toBe(50n);
    expect(b.v.getReg("rip")).toBe(BigInt(0x400000 + 5 + 3 + 5 + 3 + 2 + 1 + 3));
  });

  it("blocks compiled while a breakpoint is set are not kept (breakpoints end blocks early)", () => {
    const cache = new CodeCache();
    const a = boot(SUM, cache);
    a.v.addBreakpoint(0x400000 + 5); // the xor after mov
    expect(a.v.run(1000).kind).toBe("breakpoint");
    expect(cache.size).toBe(0);
  });

  it("code patched by the guest is not taken from the cache; patched back, it is", () => {
    const cache = new CodeCache();
    const patcher = `
  mov rcx, 4
  xor rdx, rdx
again:
  call f
  add rdx, rax
  xor byte [rel f + 1], 4      ; f's "mov eax, 1" and "mov eax, 5" in turn
  dec rcx
  jnz again
  hlt
  align 256
f: mov eax, 1
  ret`;
    const a = boot(patcher, cache);
    runTo(a.v, "hlt");
    expect(a.v.getReg("rdx")).toBe(12n); // 1 + 5 + 1 + 5
    // f was compiled from two different byte strings; the second and third patches hit the cache.
    expect(a.v.dispatch.reused).toBeGreaterThanOrEqual(2);
  });
});

describe("the code cache file (across processes)", () => {
  it("a cache saved after one run lets a fresh cache run the same program with no decode", () => {
    const first = new CodeCache();
    runTo(boot(SUM, first).v, "hlt");
    const file = join(mkdtempSync(join(tmpdir(), "codecache-")), "blocks.jsonl");
    expect(first.save(file)).toBe(first.size);

    const second = new CodeCache();
    expect(second.load(file)).toBe(first.size);
    const b = boot(SUM, second);
    runTo(b.v, "hlt");
    expect(b.v.getReg("rdx")).toBe(1275n);
    expect(b.v.dispatch.reused).toBe(b.v.dispatch.compiled);
    expect(second.stats()).toMatchObject({ loaded: first.size, loadedHits: b.v.dispatch.compiled, misses: 0 });
  });

  it("refuses a file of another format or an entry that does not match its hash, adding nothing", () => {
    const cache = new CodeCache();
    runTo(boot(SUM, cache).v, "hlt");
    const dir = mkdtempSync(join(tmpdir(), "codecache-"));
    const file = join(dir, "blocks.jsonl");
    cache.save(file);
    const lines = readFileSync(file, "utf8").split("\n");
    const entry = JSON.parse(lines[2]!) as { bytes: string };
    const bytes = Buffer.from(entry.bytes, "base64");
    bytes[0]! ^= 1;
    entry.bytes = bytes.toString("base64");
    const bad = join(dir, "bad.jsonl");
    writeFileSync(bad, [lines[0], lines[1], JSON.stringify(entry), ...lines.slice(3)].join("\n"));
    const fresh = new CodeCache();
    expect(() => fresh.load(bad)).toThrow(`${bad}:3: entry does not match its content hash`);
    expect(fresh.size).toBe(0);
    const other = join(dir, "other.jsonl");
    writeFileSync(other, `{"format":"something-else/9"}\n`);
    expect(() => fresh.load(other)).toThrow(/not a code cache of format xenlab-code-cache\/2/);
  });
});
