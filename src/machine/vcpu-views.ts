/** Inspection of a vCPU for views: disassembly at RIP, recent instructions, page-table walks. */
import type { Vcpu } from "./vcpu";
import type { Block } from "./codegen";
import { CR4_PAE, CR4_PSE, EFER_LMA, PTE_PS } from "./registers";
import { PAGE_SIZE, gva, mfn } from "./types";
import { PageWalk, type WalkLevel, type WalkResult } from "./page-walk";
import { disassemble, symbolizerFrom } from "./disasm";

const TWO32 = 4294967296;

/**
 * Disassembles `count` instructions at RIP (starting at the enclosing symbol when it is close,
 * so the lines before RIP decode on real instruction boundaries).
 */
export function disassembly(c: Vcpu, count = 12): { lines: ReturnType<typeof disassemble>; current: bigint } {
  const sym = c.symbols.size ? symbolizerFrom(c.symbols) : undefined;
  let start = c.rip;
  if (sym) {
    const w = sym(gvaToU64(c.rip));
    const m = w ? /^(.*?)(?:\+0x([0-9a-f]+))?$/.exec(w) : null;
    const off = m && m[2] ? parseInt(m[2], 16) : 0;
    if (m && off <= 48) start = c.rip - off;
  }
  if (start === c.rip) {
    // No symbol just above RIP: begin at the earliest of the last instructions executed that lies
    // shortly before it (x86 cannot be decoded backwards, but an executed instruction is a true
    // boundary), so after `hlt` the view shows the code that ran, not only the bytes after it.
    const cur = gvaToU64(c.rip);
    const before = recentInstructions(c, 6).map((r) => r.address).filter((a) => a < cur && cur - a <= 64n);
    if (before.length) start = c.rip - Number(cur - before.reduce((a, b) => (a < b ? a : b)));
  }
  const cur = gvaToU64(c.rip);
  let all = decodeFrom(c, start, count * 15 + (c.rip - start), sym);
  // Code that changed since it ran (or overlapping instructions) may not decode onto RIP.
  if (start !== c.rip && !all.some((l) => l.address === cur)) all = decodeFrom(c, c.rip, count * 15, sym);
  const at = all.findIndex((l) => l.address === cur);
  const from = at > 4 ? at - 4 : 0;
  return { lines: all.slice(from, from + count), current: cur };
}

function decodeFrom(c: Vcpu, start: number, length: number, sym: ReturnType<typeof symbolizerFrom> | undefined): ReturnType<typeof disassemble> {
  const bytes: number[] = [];
  for (let k = 0; k < length; k++) {
    try {
      const phys = c.fetchPhys(c.linearIp(start + k));
      bytes.push(c.machine.memory.view(mfn(Math.floor(phys / PAGE_SIZE))).getUint8(phys % PAGE_SIZE));
    } catch {
      break;
    }
  }
  return disassemble(Uint8Array.from(bytes), gvaToU64(start), c.mode64 ? 64 : c.code16 ? 16 : 32, { symbols: sym });
}

/**
 * The last `count` instructions executed, oldest first, re-decoded from the trace ring's block
 * starts and lengths (a block's instructions are consecutive), plus the recorded events.
 */
export function recentInstructions(c: Vcpu, count = 32): { address: bigint; text: string }[] {
  const out: { address: bigint; text: string }[] = [];
  const blocks = c.trace.recentBlocks();
  for (let b = blocks.length - 1; b >= 0 && out.length < count; b--) {
    const [start, n] = blocks[b]!;
    if (n <= 0) continue;
    const bytes: number[] = [];
    for (let k = 0; k < n * 15 && k < 4096 + 15; k++) {
      try {
        const phys = c.fetchPhys(c.linearIp(start + k));
        bytes.push(c.machine.memory.view(mfn(Math.floor(phys / PAGE_SIZE))).getUint8(phys % PAGE_SIZE));
      } catch {
        break;
      }
    }
    // A self-looping block retires its instructions `n / length` times in one trace entry.
    const key = (() => { try { return c.fetchPhys(c.linearIp(start)) * 8 + (c.mode64 ? 4 : c.code16 ? 2 : 0); } catch { return -1; } })();
    const blk = c.machine.code.get(key) as Block | undefined;
    const period = blk && blk.va === start ? blk.n : n;
    const lines = disassemble(Uint8Array.from(bytes), gvaToU64(start), c.mode64 ? 64 : c.code16 ? 16 : 32, { count: period });
    const seq: { address: bigint; text: string }[] = [];
    for (let k = 0; k < n && lines.length; k++) seq.push({ address: lines[k % lines.length]!.address, text: lines[k % lines.length]!.text });
    out.unshift(...seq.slice(-(count - out.length)));
  }
  return out;
}

/** Walks the guest page tables for `va` without changing A/D bits: levels, gpa, machine frame. */
export function pageWalk(c: Vcpu, va: number | bigint): PageWalk {
  const a = gva(va);
  const levels: WalkLevel[] = [];
  const res: WalkResult = { va: gvaToU64(a), levels };
  const show = (lo: number, hi: number, level: number): string[] => {
    const f: string[] = [];
    if (lo & 1) f.push("P");
    if (lo & 2) f.push("RW");
    if (lo & 4) f.push("US");
    if (lo & 0x20) f.push("A");
    if (lo & 0x40) f.push("D");
    if (level > 1 && lo & 0x80) f.push("PS");
    if (hi < 0) f.push("NX");
    return f;
  };
  if (!c.paging) {
    res.paging = "off";
    res.gpa = a >>> 0;
  } else if (c.efer & EFER_LMA) {
    res.paging = "4-level";
    const u48 = a < 0 ? a + 2 ** 48 : a;
    let table = c.cr3 - (c.cr3 % PAGE_SIZE);
    for (let level = 4; level >= 1; level--) {
      const idx = Math.floor(u48 / 2 ** (12 + 9 * (level - 1))) % 512;
      const ea = table + idx * 8;
      const e = readEntry(c, ea, 8);
      if (!e) { res.fault = `table at gpa 0x${ea.toString(16)} has no P2M entry`; break; }
      const [lo, hi] = e;
      const leaf = level === 1 || (level <= 3 && (lo & PTE_PS) !== 0);
      levels.push({ level, tableGpa: table, index: idx, entry: (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0), flags: show(lo, hi, level), leaf: leaf && (lo & 1) === 1 });
      if (!(lo & 1)) { res.fault = `not present at ${["", "PT", "PD", "PDPT", "PML4"][level]}`; break; }
      const base = (hi & 0xfffff) * TWO32 + ((lo & ~0xfff) >>> 0);
      if (leaf) {
        const size = 2 ** (12 + 9 * (level - 1));
        res.gpa = base - (base % size) + (u48 % size);
        break;
      }
      table = base;
    }
  } else {
    // 32-bit and PAE paging (SDM Vol. 3A §4.3, §4.4), as mmu-legacy.ts walks them.
    const u32 = a >>> 0;
    const pae = (c.cr4 & CR4_PAE) !== 0;
    res.paging = pae ? "PAE" : "32-bit";
    let table: number;
    let level: number;
    if (pae) {
      // The PDPTE comes from the register MOV to CR3 loaded, not from memory (§4.4.1).
      const i = u32 >>> 30, lo = c.pdpteLo[i]!, hi = c.pdpteHi[i]!;
      levels.push({ level: 3, tableGpa: (c.cr3 >>> 0) & ~0x1f, index: i, entry: (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0), flags: show(lo, hi, 1).concat("(register)"), leaf: false });
      if (!(lo & 1)) res.fault = `not present at PDPTE ${i}`;
      table = (hi & 0x7f) * TWO32 + ((lo & ~0xfff) >>> 0);
      level = 2;
    } else {
      table = (c.cr3 >>> 0) & ~0xfff;
      level = 2;
    }
    for (; !res.fault && level >= 1; level--) {
      const idx = pae ? (u32 >>> (level === 2 ? 21 : 12)) & 511 : (u32 >>> (level === 2 ? 22 : 12)) & 1023;
      const ea = table + idx * (pae ? 8 : 4);
      const e = readEntry(c, ea, pae ? 8 : 4);
      if (!e) { res.fault = `table at gpa 0x${ea.toString(16)} has no P2M entry`; break; }
      const [lo, hi] = e;
      const large = level === 2 && (lo & PTE_PS) !== 0 && (pae || (c.cr4 & CR4_PSE) !== 0);
      levels.push({ level, tableGpa: table, index: idx, entry: (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0), flags: show(lo, hi, large ? 2 : 1), leaf: (level === 1 || large) && (lo & 1) === 1 });
      if (!(lo & 1)) { res.fault = `not present at ${level === 2 ? "PD" : "PT"}`; break; }
      const base = pae ? (hi & 0x7f) * TWO32 + ((lo & ~0xfff) >>> 0) : (lo & ~0xfff) >>> 0;
      if (large) {
        res.gpa = pae ? base - (base % 2 ** 21) + (u32 % 2 ** 21) : ((lo >>> 13) & 0xff) * TWO32 + ((lo & 0xffc00000) >>> 0) + (u32 % 2 ** 22);
        break;
      }
      if (level === 1) res.gpa = base + (u32 & 4095);
      table = base;
    }
  }
  if (res.gpa !== undefined) {
    const e = c.p2m.raw(Math.floor(res.gpa / PAGE_SIZE));
    if (e >= 0) res.mfn = Math.floor(e / 2);
  }
  return new PageWalk(res);
}

function gvaToU64(a: number): bigint {
  return BigInt.asUintN(64, BigInt(a));
}

/** A page-table entry of 4 or 8 bytes at a guest-physical address as [lo, hi], or undefined without a P2M entry. */
function readEntry(c: Vcpu, ea: number, size: 4 | 8): [number, number] | undefined {
  const e = c.p2m.raw(Math.floor(ea / PAGE_SIZE));
  if (e < 0) return undefined;
  const view = c.machine.memory.view(mfn(Math.floor(e / 2)));
  const off = ea % PAGE_SIZE;
  return [view.getInt32(off, true), size === 8 ? view.getInt32(off + 4, true) : 0];
}
