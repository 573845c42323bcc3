/**
 * SSE forms for the host-CPU differential test (sse-differential.test.ts) and their inputs: GPRs,
 * flags, an FXSAVE64 image (x87, MXCSR, XMM0-15) and 640 bytes of memory at r15, whose address is
 * 16 mod 64 on both sides (so [r15+16] is 16-byte aligned, [r15+48] 64-byte aligned, [r15+24]
 * misaligned, and the aligned forms' #GP is compared too).
 */
import { Rng, randomValue } from "./diff-forms";

export const STATE = 1296, FX_AT = 144, MEM_AT_STATE = 656, MEM_BYTES = 640;

export interface SseForm {
  /** Instructions, "a | b | c". */
  asm: string;
}

export interface SseInput {
  regs: bigint[];
  flags: number;
  fx: Uint8Array; // 512
  mem: Uint8Array; // 640
}

const X = (n: number) => `xmm${n}`;
/** Destination/source XMM pairs: distinct, same register, high registers. */
const XP: [number, number][] = [[1, 2], [3, 3], [9, 14], [0, 15]];
export const A16 = "[r15+16]", MIS = "[r15+24]";

export function buildSseForms(): SseForm[] {
  const f: SseForm[] = [];
  const add = (asm: string) => f.push({ asm });
  const binary = [
    "pand", "andps", "andpd", "pandn", "andnps", "andnpd", "por", "orps", "orpd", "pxor", "xorps", "xorpd",
    "paddb", "paddw", "paddd", "paddq", "psubb", "psubw", "psubd", "psubq", "paddsb", "paddsw", "paddusb", "paddusw",
    "psubsb", "psubsw", "psubusb", "psubusw", "pmullw", "pmulhw", "pmulhuw", "pmuludq", "pmaddwd", "pavgb", "pavgw", "psadbw",
    "pminub", "pmaxub", "pminsw", "pmaxsw", "pcmpeqb", "pcmpeqw", "pcmpeqd", "pcmpgtb", "pcmpgtw", "pcmpgtd",
    "packsswb", "packuswb", "packssdw",
    "punpcklbw", "punpckhbw", "punpcklwd", "punpckhwd", "punpckldq", "punpckhdq", "punpcklqdq", "punpckhqdq",
    "unpcklps", "unpckhps", "unpcklpd", "unpckhpd",
  ];
  for (const op of binary) {
    for (const [d, s] of XP) add(`${op} ${X(d)}, ${X(s)}`);
    add(`${op} xmm4, ${A16}`);
    add(`${op} xmm5, ${MIS}`); // #GP(0): misaligned
  }
  // pcmpeq with itself is the all-ones idiom; pxor with itself the zero idiom.
  add("pcmpeqd xmm7, xmm7"); add("pxor xmm7, xmm7 | movq rax, xmm7");
  for (const op of ["psllw", "pslld", "psllq", "psrlw", "psrld", "psrlq", "psraw", "psrad"]) {
    for (const n of [0, 1, 7, 15, 16, 31, 32, 63, 64, 200]) add(`${op} xmm${n % 16}, ${n}`);
    add(`${op} xmm1, xmm2`);
    add(`${op} xmm6, ${A16}`);
    add(`and ecx, 127 | movd xmm2, ecx | ${op} xmm3, xmm2`);
  }
  for (const op of ["pslldq", "psrldq"]) for (const n of [0, 1, 3, 8, 15, 16, 255]) add(`${op} xmm${n % 16}, ${n}`);
  for (const op of ["pshufd", "pshuflw", "pshufhw", "shufps", "shufpd"]) {
    for (const imm of [0, 0x1b, 0x4e, 0xe4, 0xff, 0x39]) add(`${op} xmm1, xmm2, ${imm}`);
    add(`${op} xmm3, xmm3, 0x93`);
    add(`${op} xmm4, ${A16}, 0x27`);
    add(`${op} xmm4, ${MIS}, 0x27`);
  }
  // ---- moves ----
  for (const op of ["movdqa", "movaps", "movapd", "movdqu", "movups", "movupd"]) {
    add(`${op} xmm1, xmm2`); add(`${op} xmm10, xmm3`);
    add(`${op} xmm4, ${A16}`); add(`${op} xmm4, ${MIS}`);
    add(`${op} ${A16}, xmm5`); add(`${op} ${MIS}, xmm5`);
  }
  for (const op of ["movntdq", "movntps", "movntpd"]) { add(`${op} ${A16}, xmm6`); add(`${op} ${MIS}, xmm6`); }
  add(`lddqu xmm7, ${MIS}`);
  add(`movntdqa xmm7, ${A16}`);
  add("movnti [r15+8], rax"); add("movnti [r15+12], ecx");
  for (const [a, b] of [["xmm1", "eax"], ["xmm9", "r10d"]]) { add(`movd ${a}, ${b}`); add(`movd ${b}, ${a}`); }
  for (const [a, b] of [["xmm1", "rax"], ["xmm12", "r11"]]) { add(`movq ${a}, ${b}`); add(`movq ${b}, ${a}`); }
  add("movd xmm2, [r15+4]"); add("movd [r15+4], xmm2"); add("movq xmm3, [r15+4]"); add("movq [r15+4], xmm3");
  add("movq xmm4, xmm5"); add("movq xmm11, xmm11");
  for (const op of ["movss", "movsd"]) { add(`${op} xmm1, xmm2`); add(`${op} xmm3, [r15+4]`); add(`${op} [r15+4], xmm6`); add(`${op} xmm13, xmm8`); }
  for (const op of ["movhps", "movlps", "movhpd", "movlpd"]) { add(`${op} xmm1, [r15+4]`); add(`${op} [r15+4], xmm2`); }
  add("movhlps xmm1, xmm2"); add("movlhps xmm3, xmm4"); add("movhlps xmm5, xmm5");
  for (const op of ["pmovmskb", "movmskps", "movmskpd"]) { add(`${op} eax, xmm1`); add(`${op} r9d, xmm12`); }
  for (const imm of [0, 3, 7, 9]) { add(`pextrw eax, xmm1, ${imm}`); add(`pinsrw xmm2, ecx, ${imm}`); add(`pinsrw xmm2, [r15+6], ${imm}`); }
  // ---- state ----
  add("fxsave64 [r15+48]"); add("fxsave64 [r15+56]");
  add("fxsave64 [r15+48] | mov dword [r15+72], 0x1f80 | pxor xmm1, xmm1 | fxrstor64 [r15+48]");
  // x87 and XMM registers from random memory (FIP and FDP below 2^32: 64-bit values beyond
  // the canonical range are not modelled exactly).
  add("mov dword [r15+72], 0x1f80 | mov dword [r15+60], 0 | mov dword [r15+68], 0 | fxrstor64 [r15+48]");
  add("mov dword [r15+72], 0x1f80 | mov dword [r15+60], 0 | mov dword [r15+68], 0 | mov eax, 3 | xor edx, edx | mov qword [r15+560], rax | mov qword [r15+568], rdx | mov qword [r15+576], rdx | xrstor64 [r15+48]");
  add("mov dword [r15+72], 0x10000 | fxrstor64 [r15+48]"); // reserved MXCSR bit: #GP
  for (const ins of ["xsave", "xsaveopt", "xsavec", "xsave64", "xsavec64"]) {
    add(`mov eax, 3 | xor edx, edx | ${ins} [r15+48]`);
    add(`mov eax, 1 | xor edx, edx | ${ins} [r15+48]`);
    add(`mov eax, 2 | xor edx, edx | ${ins} [r15+48]`);
    add(`mov eax, 3 | xor edx, edx | ${ins} [r15+16]`); // misaligned: #GP
    add(`mov eax, 3 | xor edx, edx | pxor xmm0, xmm0 | pxor xmm1, xmm1 | pxor xmm2, xmm2 | ${ins} [r15+48]`);
  }
  add("mov eax, 3 | xor edx, edx | xsave64 [r15+48] | pxor xmm1, xmm1 | xrstor64 [r15+48]");
  add("mov eax, 3 | xor edx, edx | xsavec64 [r15+48] | pxor xmm1, xmm1 | xrstor64 [r15+48]");
  add("mov eax, 3 | xor edx, edx | xsave64 [r15+48] | mov byte [r15+560], 0 | xrstor64 [r15+48]"); // XSTATE_BV 0: init
  add("mov eax, 3 | xor edx, edx | xsave64 [r15+48] | mov byte [r15+560], 2 | xrstor64 [r15+48]");
  add("mov eax, 3 | xor edx, edx | xsave64 [r15+48] | mov byte [r15+568], 1 | xrstor64 [r15+48]"); // XCOMP_BV != 0 in standard form: #GP
  add("mov eax, 3 | xor edx, edx | xsavec64 [r15+48] | mov byte [r15+560], 0 | mov eax, 1 | xrstor64 [r15+48]");
  // ---- floating point ----
  for (const op of ["add", "sub", "mul", "div", "min", "max", "sqrt"]) {
    for (const sfx of ["ss", "sd", "ps", "pd"]) {
      const ins = op + sfx;
      for (const [d, s] of [[1, 2], [3, 3], [9, 14], [0, 5], [6, 7]] as const) add(`${ins} ${X(d)}, ${X(s)}`);
      if (sfx[0] === "s") add(`${ins} xmm4, [r15+4]`);
      else { add(`${ins} xmm4, ${A16}`); add(`${ins} xmm5, ${MIS}`); }
    }
  }
  for (const sfx of ["ss", "sd", "ps", "pd"]) {
    for (let p = 0; p < 8; p++) { add(`cmp${sfx} xmm1, xmm2, ${p}`); add(`cmp${sfx} xmm6, xmm6, ${p}`); }
    add(`cmp${sfx} xmm3, ${sfx[0] === "s" ? "[r15+4]" : A16}, 1`);
  }
  for (const op of ["comiss", "comisd", "ucomiss", "ucomisd"]) {
    add(`${op} xmm1, xmm2`); add(`${op} xmm3, xmm3`); add(`${op} xmm8, [r15+4]`);
    add(`${op} xmm1, xmm2 | setb al | sete bl | setp cl | seta dl`);
  }
  for (const op of ["cvtsi2ss", "cvtsi2sd"]) { add(`${op} xmm1, eax`); add(`${op} xmm2, rcx`); add(`${op} xmm3, dword [r15+4]`); add(`${op} xmm4, qword [r15+4]`); add(`${op} xmm5, r9`); }
  for (const op of ["cvtss2si", "cvtsd2si", "cvttss2si", "cvttsd2si"]) { add(`${op} eax, xmm1`); add(`${op} rcx, xmm2`); add(`${op} r10, xmm9`); add(`${op} edx, [r15+4]`); add(`${op} rbx, [r15+4]`); }
  for (const op of ["cvtss2sd", "cvtsd2ss", "cvtdq2ps", "cvtps2dq", "cvttps2dq", "cvtdq2pd", "cvtpd2dq", "cvttpd2dq", "cvtps2pd", "cvtpd2ps"]) {
    add(`${op} xmm1, xmm2`); add(`${op} xmm3, xmm3`); add(`${op} xmm10, xmm4`);
    add(`${op} xmm5, ${["cvtss2sd", "cvtsd2ss", "cvtdq2pd", "cvtps2pd"].includes(op) ? "[r15+4]" : A16}`);
  }
  // ---- SSE3, SSSE3, SSE4.1, SSE4.2 ----
  const binary4 = [
    "pshufb", "pabsb", "pabsw", "pabsd", "psignb", "psignw", "psignd", "pmaddubsw", "pmulhrsw", "phaddw", "phsubw", "phaddsw", "phsubsw", "phaddd", "phsubd",
    "pminsb", "pmaxsb", "pminuw", "pmaxuw", "pminsd", "pmaxsd", "pminud", "pmaxud", "pmulld", "pmuldq", "pcmpeqq", "pcmpgtq", "packusdw",
    "movshdup", "movsldup", "phminposuw", "pblendvb", "blendvps", "blendvpd", "addsubps", "addsubpd", "haddps", "haddpd", "hsubps", "hsubpd",
  ];
  for (const op of binary4) {
    for (const [d, s] of [[1, 2], [3, 3], [9, 14], [0, 5]] as const) add(`${op} ${X(d)}, ${X(s)}`);
    add(`${op} xmm4, ${A16}`); add(`${op} xmm5, ${MIS}`);
  }
  for (const op of ["palignr", "pblendw", "blendps", "blendpd"]) for (const imm of [0, 1, 5, 8, 15, 16, 17, 31, 32, 0xa5]) add(`${op} xmm1, xmm2, ${imm}`);
  add(`palignr xmm3, ${A16}, 7`);
  for (const k of ["bw", "bd", "bq", "wd", "wq", "dq"]) for (const sx of ["sx", "zx"]) { add(`pmov${sx}${k} xmm1, xmm2`); add(`pmov${sx}${k} xmm3, [r15+4]`); }
  add("movddup xmm1, xmm2"); add("movddup xmm3, [r15+4]");
  for (const [d, s] of [[1, 2], [3, 3], [4, 7]]) add(`ptest xmm${d}, xmm${s} | setz al | setc bl | seto cl | sets dl`);
  add(`ptest xmm1, ${A16} | setz al | setc bl`);
  for (const imm of [0, 3, 9, 15]) { add(`pextrb eax, xmm1, ${imm}`); add(`pextrb [r15+4], xmm2, ${imm}`); add(`pinsrb xmm2, ecx, ${imm}`); add(`pinsrb xmm3, [r15+5], ${imm}`); }
  for (const imm of [0, 1, 2, 3]) {
    add(`pextrd eax, xmm1, ${imm}`); add(`pextrd [r15+4], xmm2, ${imm}`); add(`pinsrd xmm2, ecx, ${imm}`); add(`extractps r9d, xmm5, ${imm}`);
    add(`pextrq rax, xmm1, ${imm & 1}`); add(`pinsrq xmm2, rcx, ${imm & 1}`); add(`pinsrq xmm2, [r15+4], ${imm & 1}`);
  }
  for (const imm of [0x00, 0x1f, 0x4c, 0xa2, 0xff]) { add(`insertps xmm1, xmm2, ${imm}`); add(`insertps xmm3, [r15+4], ${imm}`); }
  for (const op of ["roundss", "roundsd", "roundps", "roundpd"]) for (const imm of [0, 1, 2, 3, 4, 8, 9, 12]) add(`${op} xmm1, xmm2, ${imm}`);
  add(`roundsd xmm4, [r15+4], 1`); add(`roundpd xmm4, ${A16}, 2`);
  for (const [dst, src] of [["eax", "cl"], ["eax", "cx"], ["eax", "ecx"], ["rax", "rcx"], ["rax", "bl"], ["r9d", "byte [r15+3]"], ["r9d", "word [r15+3]"], ["r9d", "dword [r15+3]"], ["r9", "qword [r15+3]"]]) add(`crc32 ${dst}, ${src}`);
  for (const imm of [0x00, 0x01, 0x10, 0x11, 0xee, 0xff]) { add(`pclmulqdq xmm1, xmm2, ${imm}`); add(`pclmulqdq xmm3, xmm3, ${imm}`); add(`pclmulqdq xmm9, xmm14, ${imm}`); }
  add(`pclmulqdq xmm4, ${A16}, 0x10`); add(`pclmulqdq xmm5, ${MIS}, 0x01`);
  for (let imm = 0; imm < 8; imm++) { add(`mpsadbw xmm1, xmm2, ${imm}`); add(`mpsadbw xmm3, xmm3, ${imm | 0xf8}`); }
  add(`mpsadbw xmm4, ${A16}, 5`); add(`mpsadbw xmm5, ${MIS}, 2`);
  for (const op of ["aesenc", "aesenclast", "aesdec", "aesdeclast", "aesimc"]) {
    for (const [d, s] of [[1, 2], [3, 3], [9, 14], [0, 15]]) add(`${op} xmm${d}, xmm${s}`);
    add(`${op} xmm4, ${A16}`); add(`${op} xmm5, ${MIS}`);
  }
  for (const imm of [0x00, 0x01, 0x1b, 0x36, 0x80, 0xff]) { add(`aeskeygenassist xmm1, xmm2, ${imm}`); add(`aeskeygenassist xmm3, xmm3, ${imm}`); }
  add(`aeskeygenassist xmm4, ${A16}, 0x40`);
  add("stmxcsr [r15+8]");
  add("and dword [r15+8], 0xffff | ldmxcsr [r15+8] | stmxcsr [r15+12]");
  add("ldmxcsr [r15+8]"); // random bits: mostly #GP
  return f;
}

/** Floating-point lane patterns: signed zeros, denormals, infinities, quiet and signalling NaNs with payloads. */
const F32 = [0, 0x80000000, 0x00000001, 0x807fffff, 0x00800000, 0x7f7fffff, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00001, 0x7f800001, 0xff812345, 0x3f800000, 0xbf800000, 0x4b000000];
const F64H = [0, 0x80000000, 0x00000000, 0x800fffff, 0x00100000, 0x7fefffff, 0x7ff00000, 0xfff00000, 0x7ff80000, 0xfff80000, 0x7ff00000, 0xfff12345, 0x3ff00000, 0xbff00000, 0x43300000];

function lane(r: Rng): number {
  const k = r.int(8);
  // A float32 of modest magnitude (exponents -4..4): sums cancel and round in interesting ways.
  if (k === 7) return ((r.int(2) << 31) | ((123 + r.int(9)) << 23) | r.int(1 << 23)) >>> 0;
  if (k === 0) return F32[r.int(F32.length)]!;
  if (k === 1) return [0, 0xffffffff, 0x80000000, 0x7fffffff, 0x80808080, 0x7f7f7f7f, 0x00ff00ff, 0x8000ffff][r.int(8)]!;
  return Number(r.next() & 0xffffffffn);
}

export function randomSseInput(r: Rng): SseInput {
  const regs: bigint[] = [];
  for (let i = 0; i < 16; i++) regs.push(randomValue(r));
  regs[4] = 0n; regs[15] = 0n;
  const flags = Number(r.next() & 0x8d5n) | 2;
  const fx = new Uint8Array(512);
  const dv = new DataView(fx.buffer);
  // FCW as the processor holds it (bit 6 reads 1, bits 15:13 read 0); FSW with ES and B set iff an
  // unmasked exception flag is set (SDM Vol. 1 §8.1.3).
  const fcw = Number(r.next() & 0x1f3fn) | 0x40;
  let fsw = Number(r.next() & 0x7f7fn);
  if ((fsw & ~fcw & 0x3f) !== 0) fsw |= 0x8080;
  dv.setUint16(0, fcw, true);
  dv.setUint16(2, fsw, true);
  dv.setUint8(4, r.int(256)); // abridged FTW
  dv.setUint16(6, r.int(2048), true); // FOP
  dv.setBigUint64(8, r.next() & 0x7fffffffffffn, true); // FIP
  dv.setBigUint64(16, r.next() & 0x7fffffffffffn, true); // FDP
  // MXCSR: random flags, DAZ, RC, FTZ; exceptions all masked in two cases of three, else
  // random masks (then #XM is compared too).
  const masks = r.int(3) === 0 ? Number(r.next() & 0x1f80n) : 0x1f80;
  dv.setUint32(24, masks | Number(r.next() & 0xe07fn), true);
  for (let i = 0; i < 8; i++) {
    dv.setBigUint64(32 + 16 * i, r.next(), true);
    dv.setUint16(40 + 16 * i, Number(r.next() & 0xffffn), true);
  }
  for (let i = 0; i < 16; i++) {
    if (r.int(3) === 0) {
      // a pair of doubles
      for (let q = 0; q < 2; q++) {
        const modest = ((r.int(2) << 31) | ((1019 + r.int(9)) << 20) | r.int(1 << 20)) >>> 0;
        dv.setUint32(160 + 16 * i + 8 * q + 4, r.int(2) ? modest : F64H[r.int(F64H.length)]! | (r.int(2) ? r.int(16) : 0), true);
        dv.setUint32(160 + 16 * i + 8 * q, r.int(3) === 0 ? 0 : r.int(3) === 0 ? 1 : Number(r.next() & 0xffffffffn), true);
      }
    } else for (let k = 0; k < 4; k++) dv.setUint32(160 + 16 * i + 4 * k, lane(r), true);
  }
  const mem = new Uint8Array(MEM_BYTES);
  const mv = new DataView(mem.buffer);
  for (let i = 0; i < MEM_BYTES; i += 4) mv.setUint32(i, lane(r), true);
  // A double at [r15+4] (the scalar and 64-bit memory forms' operand) half of the time.
  if (r.int(2)) mv.setUint32(8, ((r.int(2) << 31) | ((1019 + r.int(9)) << 20) | r.int(1 << 20)) >>> 0, true);
  return { regs, flags, fx, mem };
}

/**
 * The SSE4.2 string compares: every imm8 value 0..127 (format, aggregation, polarity, output
 * selection) for each of the four instructions with a register source, a subset with a
 * misaligned memory source (never #GP) and with REX.W (64-bit lengths), and bit 7 set (ignored).
 */
export function buildSseStringForms(): SseForm[] {
  const f: SseForm[] = [];
  const add = (asm: string) => f.push({ asm });
  for (const op of ["pcmpestri", "pcmpestrm", "pcmpistri", "pcmpistrm"]) {
    for (let imm = 0; imm < 128; imm++) add(`${op} xmm1, xmm2, ${imm}`);
    for (const imm of [0x00, 0x04, 0x08, 0x0c, 0x1a, 0x3d, 0x44, 0x4c, 0x72, 0x0d, 0x80 | 0x0c]) {
      add(`${op} xmm3, [r15+24], ${imm}`);
      add(`${op} xmm9, xmm9, ${imm}`);
      if (op.startsWith("pcmpe")) add(`o64 ${op} xmm4, xmm13, ${imm}`);
    }
  }
  add("pcmpistri xmm1, xmm2, 0x0c | setc al | setz bl | sets dl | seto r8b | lahf | mov r9d, eax");
  return f;
}

const BYTES = [0, 1, 0x61, 0x62, 0x63, 0x64, 0x7f, 0x80, 0xff];
const WORDS = [0, 1, 0x61, 0x62, 0x63, 0x6162, 0x7fff, 0x8000, 0xffff];

/** 16 bytes of text: bytes or words from a small alphabet, a null with probability ~1/10. */
function text(r: Rng, into: DataView, at: number): void {
  const words = r.int(2) === 1, noNull = r.int(3) === 0;
  for (let i = 0; i < (words ? 8 : 16); i++) {
    const pick = (a: number[]) => a[1 + r.int(a.length - 1)]!;
    const v = !noNull && r.int(10) === 0 ? 0 : words ? pick(WORDS) : pick(BYTES);
    if (words) into.setUint16(at + 2 * i, v, true); else into.setUint8(at + i, v);
  }
}

/** A length register: mostly -17..17, sometimes a value far beyond the bounds. */
function length(r: Rng): bigint {
  const k = r.int(8);
  if (k === 0) return randomValue(r);
  if (k === 1) return [0x80000000n, 0xffffffffn, 0x7fffffffn, 0x100000000n, 0xffffffff00000005n, -0x80000000n][r.int(6)]!;
  return BigInt(r.int(35) - 17);
}

/** randomSseInput with text-like XMM registers and memory and small EAX/EDX lengths. */
export function randomTextInput(r: Rng): SseInput {
  const inp = randomSseInput(r);
  const fx = new DataView(inp.fx.buffer);
  for (let i = 0; i < 16; i++) text(r, fx, 160 + 16 * i);
  const mv = new DataView(inp.mem.buffer);
  for (let at = 0; at < 64; at += 16) text(r, mv, at);
  inp.regs[0] = length(r);
  inp.regs[2] = length(r);
  return inp;
}

/**
 * MMX forms: MM0..MM7 alias the x87 registers' significands, so the host's FXSAVE image (TOP,
 * tags, bits 79:64 of each register) checks the aliasing and the transition with every form.
 */
export function buildMmxForms(): SseForm[] {
  const f: SseForm[] = [];
  const add = (asm: string) => f.push({ asm });
  const ops = [
    "pand", "pandn", "por", "pxor", "paddb", "paddw", "paddd", "paddq", "psubb", "psubw", "psubd", "psubq",
    "paddsb", "paddsw", "paddusb", "paddusw", "psubsb", "psubsw", "psubusb", "psubusw", "pmullw", "pmulhw", "pmulhuw", "pmuludq", "pmaddwd",
    "pavgb", "pavgw", "psadbw", "pminub", "pmaxub", "pminsw", "pmaxsw", "pcmpeqb", "pcmpeqw", "pcmpeqd", "pcmpgtb", "pcmpgtw", "pcmpgtd",
    "pabsb", "pabsw", "pabsd", "psignb", "psignw", "psignd", "pmaddubsw", "pmulhrsw",
    "packsswb", "packuswb", "packssdw", "punpcklbw", "punpcklwd", "punpckldq", "punpckhbw", "punpckhwd", "punpckhdq",
    "pshufb", "phaddw", "phsubw", "phaddsw", "phsubsw", "phaddd", "phsubd",
  ];
  for (const op of ops) {
    for (const [d, s] of [[1, 2], [3, 3], [0, 7], [6, 5]]) add(`${op} mm${d}, mm${s}`);
    add(`${op} mm4, [r15+${op.startsWith("punpckl") ? 5 : 3}]`);
  }
  for (const op of ["palignr", "pshufw"]) {
    for (const imm of [0, 1, 3, 7, 8, 9, 15, 16, 0x1b, 0xe4, 0xff]) add(`${op} mm1, mm2, ${imm}`);
    add(`${op} mm3, mm3, 0x39`); add(`${op} mm5, [r15+3], 0x4e`);
  }
  for (const op of ["psllw", "pslld", "psllq", "psrlw", "psrld", "psrlq", "psraw", "psrad"]) {
    for (const n of [0, 1, 7, 15, 16, 31, 32, 63, 64, 200]) add(`${op} mm${n % 8}, ${n}`);
    add(`${op} mm1, mm2`); add(`${op} mm6, [r15+16]`);
    add(`and ecx, 127 | movd mm2, ecx | ${op} mm3, mm2`);
  }
  for (const [m, r32, r64] of [["mm1", "eax", "rax"], ["mm7", "r10d", "r11"]]) {
    add(`movd ${m}, ${r32}`); add(`movd ${r32}, ${m}`); add(`movq ${m}, ${r64}`); add(`movq ${r64}, ${m}`);
  }
  add("movd mm2, [r15+4]"); add("movd [r15+4], mm2"); add("movq mm3, [r15+4]"); add("movq [r15+4], mm3");
  add("movq mm4, mm5"); add("movq mm6, mm6"); add("movntq [r15+8], mm1");
  add("movq2dq xmm1, mm2"); add("movq2dq xmm12, mm7"); add("movdq2q mm3, xmm4"); add("movdq2q mm0, xmm15");
  // rdi holds an address that differs between the two sides: cleared after the store (and fnclex
  // first, so no pending-exception #MF stops the form with the address in rdi).
  add("fnclex | lea rdi, [r15+8] | maskmovq mm1, mm2 | xor edi, edi"); add("fnclex | lea rdi, [r15+9] | maskmovq mm5, mm5 | xor edi, edi");
  for (const imm of [0, 1, 2, 3, 5]) { add(`pextrw eax, mm1, ${imm}`); add(`pinsrw mm2, ecx, ${imm}`); add(`pinsrw mm3, [r15+6], ${imm}`); }
  add("pmovmskb eax, mm1"); add("pmovmskb r9d, mm6");
  add("emms"); add("paddb mm1, mm2 | emms");
  // Back to x87: after emms the stack is empty; without it, a push onto the full stack overflows.
  // The x87 instructions' FIP/FDP/FOP differ between the sides (addresses; the host keeps FOP
  // only for unmasked exceptions), so FSW is read into AX and fninit clears the pointers (the
  // registers themselves stay in the image).
  const x87 = (asm: string) => add(`${asm} | fnstsw ax | fninit`);
  x87("paddw mm1, mm2 | emms | fld1 | fldz"); x87("paddw mm1, mm2 | fld1"); x87("movq mm0, rcx | fstp qword [r15+8]");
  // (x87 first: fninit, so no #MF leaves an x87 instruction's address in FIP.)
  x87("fninit | fld1 | paddd mm3, mm3"); x87("fninit | fldz | fldz | movd ebx, mm7"); x87("movq mm2, rcx | fxam");
  return f;
}

/** randomSseInput, with no pending x87 exception three times in four (which every MMX form would #MF on). */
export function randomMmxInput(r: Rng): SseInput {
  const inp = randomSseInput(r);
  if (r.int(4) !== 0) {
    const dv = new DataView(inp.fx.buffer);
    const fcw = dv.getUint16(0, true);
    dv.setUint16(2, dv.getUint16(2, true) & ~(0x8080 | (~fcw & 0x3f)), true);
  }
  return inp;
}

/**
 * dpps/dppd in every imm8 mask combination (products selected by imm8[7:4], results by
 * imm8[3:0]), maskmovdqu, and the MMX<->SSE conversions (cvtpi2ps/cvtpi2pd from MM registers
 * and m64, cvt(t)ps2pi and cvt(t)pd2pi into MM registers; the FXSAVE image checks the x87 → MMX
 * transition of the MM forms and its absence for cvtpi2ps/cvtpi2pd from memory).
 */
export function buildSseExtraForms(): SseForm[] {
  const f: SseForm[] = [];
  const add = (asm: string) => f.push({ asm });
  for (let imm = 0; imm < 256; imm++) add(`dpps xmm1, xmm2, ${imm}`);
  for (const imm of [0xff, 0xf1, 0x71, 0x3f, 0x5a]) { add(`dpps xmm3, xmm3, ${imm}`); add(`dpps xmm9, xmm14, ${imm}`); }
  add(`dpps xmm4, ${A16}, 0xff`); add(`dpps xmm5, ${MIS}, 0xff`);
  for (let imm = 0; imm < 64; imm++) if ((imm & 0x0c) === 0) add(`dppd xmm1, xmm2, ${imm}`);
  for (const imm of [0x33, 0xff, 0x31, 0xcc]) { add(`dppd xmm3, xmm3, ${imm}`); add(`dppd xmm9, xmm14, ${imm}`); add(`dppd xmm1, xmm2, ${imm}`); }
  add(`dppd xmm4, ${A16}, 0x33`); add(`dppd xmm5, ${MIS}, 0x31`);
  // rdi holds an address that differs between the two sides: cleared after the store.
  add("lea rdi, [r15+8] | maskmovdqu xmm1, xmm2 | xor edi, edi"); add("lea rdi, [r15+9] | maskmovdqu xmm5, xmm5 | xor edi, edi");
  add("lea rdi, [r15+3] | maskmovdqu xmm12, xmm0 | xor edi, edi");
  for (const op of ["cvtpi2ps", "cvtpi2pd"]) {
    add(`${op} xmm1, mm2`); add(`${op} xmm9, mm0`); add(`${op} xmm3, mm3`); add(`${op} xmm4, [r15+4]`); add(`${op} xmm15, [r15+3]`);
  }
  for (const op of ["cvtps2pi", "cvttps2pi"]) { add(`${op} mm1, xmm2`); add(`${op} mm7, xmm12`); add(`${op} mm3, [r15+4]`); }
  for (const op of ["cvtpd2pi", "cvttpd2pi"]) { add(`${op} mm1, xmm2`); add(`${op} mm6, xmm15`); add(`${op} mm2, ${A16}`); add(`${op} mm2, ${MIS}`); }
  return f;
}
