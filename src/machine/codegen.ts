/**
 * Decode with iced-x86 and compile a basic block to one JavaScript function.
 *
 * A block runs from its first instruction to the first branch, exiting or system instruction,
 * breakpoint, page end or MAX_BLOCK instructions. Each instruction becomes a few lines of JS
 * specialised for its operands (register numbers, immediates and sizes are constants), so the
 * hot path has no dispatch, no allocation and no BigInt. The function returns the number of
 * instructions retired and leaves `c.rip` at the next instruction; before any instruction that
 * can fault it stores its index in `c.ix`, so the run loop can report the exact RIP.
 */
import * as iced from "iced-x86";
import * as X from "./alu";
import * as V from "./vec";
import { Ctx, emit } from "./emit/index";
import { MAX_BLOCK, flagLiveness, nextFop } from "./flag-analysis";
import type { CachedBlock } from "./machine";
import { Translation, contentHash } from "./code-cache";
import type { Vcpu } from "./vcpu";

const { Decoder, DecoderOptions, Code, DecoderError } = iced;

export type BlockFn = (c: Vcpu, R: Int32Array, H: Int32Array, lim: number) => number;

export interface Block extends CachedBlock {
  va: number;
  fn: BlockFn;
  n: number;
  /** Address of each instruction (and one past the last). */
  ips: number[];
  /** Generated source, kept when `machine.keepSource` is set (for inspection). */
  source: string;
  /** Mnemonics that compiled to #UD. */
  unimplemented: string[];
  /** Compiled for single-stepping (one instruction). */
  single: boolean;
  /** Chaining cache: the last two successors (each checked against its key on entry). */
  s1va: number; s1: Block | undefined; s2va: number; s2: Block | undefined;
}

/**
 * The block at `va` (mode taken from the vCPU): its translation comes from the machine's code
 * cache when the same bytes were compiled at the same address before (by any machine in this
 * process, or a loaded cache file), else it is decoded and emitted here. Only the frame facts
 * (`frames`, `spans`, `key`) and the links are this machine's own.
 */
export function compileBlock(c: Vcpu, va: number, key: number, single: boolean): Block {
  const machine = c.machine;
  // Breakpoints end blocks early, so blocks compiled while any is set are neither reused nor kept.
  const cache = machine.breakAddrs.size === 0 && !machine.keepSource ? machine.codeCache : undefined;
  // The key's mode bits (code size, single-step) and the linear address (CS.base + va, which
  // decides where the page ends) are what the translation depends on beside va and the bytes.
  const mode = key % 8;
  const lin0 = c.linearIp(va);
  let t = cache?.find(c, va, lin0, mode);
  let source = "";
  if (t !== undefined) c.dispatch.reused++;
  else {
    const fresh = translate(c, va, mode, single);
    t = fresh.t;
    source = fresh.source;
    if (cache !== undefined && fresh.cacheable) cache.add(t);
  }
  const ips = t.ips as number[];
  const ip = ips[t.n]!;
  const cb = lin0 - va;
  const firstPage = lin0 - (lin0 & 4095);
  // The bytes decoded, per frame: a store outside them leaves the block valid.
  const frames: number[] = [Math.floor(c.fetchPhys(lin0) / 4096)];
  const lastByte = ip - 1 + cb;
  const spans = [lin0 & 4095, Math.min(4096, (lin0 & 4095) + (ip - va))];
  if (lastByte - (lastByte & 4095) !== firstPage) {
    frames.push(Math.floor(c.fetchPhys(lastByte) / 4096));
    spans.push(0, (lastByte & 4095) + 1);
  }
  return { valid: true, single, frames, spans, key, va, fn: t.fn!, n: t.n, ips, source: machine.keepSource ? source : "", unimplemented: t.unimplemented as string[], s1va: NaN, s1: undefined, s2va: NaN, s2: undefined };
}

/**
 * Decodes and emits the block at `va`. `cacheable` is false when the block ended for a reason
 * other than its bytes and address (a breakpoint, or the next page not being readable now).
 */
function translate(c: Vcpu, va: number, mode: number, single: boolean): { t: Translation; source: string; cacheable: boolean } {
  const m64 = c.mode64;
  const code16 = c.code16;
  // `va` is the offset in CS (RIP); bytes are fetched, and pages tracked, at the linear address
  // CS.base + offset (the same number in 64-bit mode).
  const lin0 = c.linearIp(va);
  const cb = lin0 - va;
  const bytes = c.fetchBytes(lin0, 4096 - (lin0 & 4095) + 15);
  const firstPage = lin0 - (lin0 & 4095);
  // One decode per block: the instructions are decoded once into `decoded`; emission reads them
  // twice (first to learn where the block really ends and what each compiles to, then to drop
  // the flag code of instructions whose flags are dead over exactly those instructions).
  const decoder = new Decoder(m64 ? 64 : code16 ? 16 : 32, bytes, DecoderOptions.None);
  decoder.ip = BigInt.asUintN(64, BigInt(va));
  const decoded: iced.Instruction[] = [];
  const body: string[] = [];
  const ips: number[] = [];
  const unimplemented: string[] = [];
  let n = 0;
  let ended = false;
  let selfLoop = false;
  let ip = va;
  let cacheable = true;
  try {
    while (decoded.length < (single ? 1 : MAX_BLOCK)) {
      if (decoded.length > 0 && ip + cb - ((ip + cb) & 4095) !== firstPage) break;
      if (decoded.length > 0 && c.hasBreakpoint(ip)) { cacheable = false; break; }
      if (!decoder.canDecode) {
        if (decoded.length === 0) c.fetchPhys(lin0 + bytes.length); // raises the fetch fault for the next page
        cacheable = false;
        break;
      }
      const ins = decoder.decode();
      if (decoder.lastError === DecoderError.NoMoreBytes) {
        ins.free();
        if (decoded.length === 0) c.fetchPhys(lin0 + bytes.length);
        cacheable = false;
        break;
      }
      decoded.push(ins);
      ip += ins.length;
      if (ins.code === Code.INVALID || ins.flowControl !== iced.FlowControl.Next) break;
    }
    // Pass 1: emit with every instruction's flags live.
    const ctxs: Ctx[] = [];
    const codes: string[] = [];
    let knownFop = -1;
    ip = va;
    for (const ins of decoded) {
      const next = ip + ins.length;
      const ctx: Ctx = { ins, i: n, rip: ip, next, m64, code16, end: false, writes: false, fop: knownFop, start: va, selfLoop: false, flagsDead: false };
      let code: string;
      if (ins.code === Code.INVALID) {
        code = `c.ud(${n},${ip},"invalid opcode");`;
        ctx.end = true;
      } else {
        const r = emit(ctx);
        if (r === undefined) {
          const text = ins.toString();
          unimplemented.push(text);
          code = `c.ud(${n},${ip},${JSON.stringify(text)});`;
          ctx.end = true;
        } else code = r;
      }
      ctxs.push(ctx);
      codes.push(code);
      knownFop = nextFop(ins, knownFop, code);
      ips.push(ip);
      n++;
      ip = next;
      if (ctx.end) { ended = true; break; }
    }
    // Pass 2: liveness over exactly the compiled instructions; re-emit those whose flags are dead.
    const dead = single ? [] : flagLiveness(decoded.slice(0, n), codes);
    for (let j = 0; j < n; j++) {
      const ctx = ctxs[j]!;
      if (dead[j] === true) {
        const again: Ctx = { ...ctx, end: false, writes: false, selfLoop: false, flagsDead: true };
        const r = emit(again);
        if (r !== undefined) codes[j] = r;
      }
      const code = codes[j]!;
      body.push(/c\.\w+\(|X\.\w+\(|throw/.test(code) ? `c.ix=${j};${code}` : code);
      if (ctx.selfLoop) selfLoop = true;
      if (ctx.writes && !ctx.end) body.push(`if(c.stop!==0){c.rip=${ctx.next};return ${j + 1};}`);
    }
  } finally {
    for (const ins of decoded) ins.free();
    decoder.free();
  }
  if (!ended) body.push(`c.rip=${ip};return ${n};`);
  ips.push(ip);
  // A block whose last branch targets its own start runs as a loop inside one call: `lim` is how
  // many iterations the budget allows; c.lb counts instructions retired by earlier iterations.
  let inner = body.join("\n");
  if (selfLoop) inner = inner.replace(/return (\d+);/g, "return c.lb+$1;");
  const source = selfLoop
    ? `return function blk_${Math.abs(va).toString(16)}(c,R,H,lim){var aL=0,aH=0,bL=0,bH=0,rL=0,rH=0,dL=0,dH=0,t=0,ea=0,cy=0;\nfor(;;){\n${inner}\n}};`
    : `return function blk_${Math.abs(va).toString(16)}(c,R,H,lim){var aL=0,aH=0,bL=0,bH=0,rL=0,rH=0,dL=0,dH=0,t=0,ea=0,cy=0;\n${inner}\n};`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const fn = new Function("X", "V", source)(X, V) as BlockFn;
  const decodedBytes = bytes.slice(0, ip - va);
  const t: Translation = { va, lin: lin0, mode, bytes: decodedBytes, hash: contentHash(va, lin0, mode, decodedBytes), n, ips, unimplemented, fn, text: undefined };
  return { t, source, cacheable };
}
