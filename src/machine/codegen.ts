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
import { Ctx, emit } from "./emit";
import { MAX_BLOCK, flagLiveness, nextFop } from "./flag-analysis";
import type { CachedBlock } from "./machine";
import type { Vcpu } from "./vcpu";

const { Decoder, DecoderOptions, Instruction, Mnemonic, Code, DecoderError } = iced;

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
  /** Chaining cache: the last two successors, valid for one vCPU TLB generation. */
  s1va: number; s1: Block | undefined; s2va: number; s2: Block | undefined; sgen: number;
}

/** Compiles the block at `va` (mode taken from the vCPU). */
export function compileBlock(c: Vcpu, va: number, key: number, single: boolean): Block {
  const m64 = c.mode64;
  const bytes = c.fetchBytes(va, 4096 - (va & 4095) + 15);
  const firstPage = va - (va & 4095);
  const dead = single ? [] : flagLiveness(bytes, va, m64);
  const decoder = new Decoder(m64 ? 64 : 32, bytes, DecoderOptions.None);
  decoder.ip = BigInt.asUintN(64, BigInt(va));
  const ins = new Instruction();
  const body: string[] = [];
  const ips: number[] = [];
  const unimplemented: string[] = [];
  let n = 0;
  let ended = false;
  let knownFop = -1;
  let selfLoop = false;
  let ip = va;
  try {
    while (n < (single ? 1 : MAX_BLOCK)) {
      if (n > 0 && (ip - (ip & 4095) !== firstPage || c.hasBreakpoint(ip))) break;
      if (!decoder.canDecode) {
        if (n === 0) c.fetchPhys(va + bytes.length); // raises the fetch fault for the next page
        break;
      }
      decoder.decodeOut(ins);
      if (decoder.lastError === DecoderError.NoMoreBytes) {
        if (n === 0) c.fetchPhys(va + bytes.length);
        break;
      }
      const next = ip + ins.length;
      ips.push(ip);
      const ctx: Ctx = { ins, i: n, rip: ip, next, m64, end: false, writes: false, fop: knownFop, start: va, selfLoop: false, flagsDead: dead[n] === true };
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
      body.push(/c\.\w+\(|X\.\w+\(|throw/.test(code) ? `c.ix=${n};${code}` : code);
      knownFop = nextFop(Mnemonic[ins.mnemonic]!, knownFop, code);
      if (ctx.selfLoop) selfLoop = true;
      if (ctx.writes && !ctx.end) body.push(`if(c.stop!==0){c.rip=${next};return ${n + 1};}`);
      n++;
      ip = next;
      if (ctx.end) { ended = true; break; }
    }
  } finally {
    ins.free();
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
  const fn = new Function("X", source)(X) as BlockFn;
  const frames: number[] = [Math.floor(c.fetchPhys(va) / 4096)];
  const lastByte = ip - 1;
  if (lastByte - (lastByte & 4095) !== firstPage) frames.push(Math.floor(c.fetchPhys(lastByte) / 4096));
  return { valid: true, single, frames, key, va, fn, n, ips, source: c.machine.keepSource ? source : "", unimplemented, s1va: NaN, s1: undefined, s2va: NaN, s2: undefined, sgen: -1 };
}

