/**
 * x87 forms and inputs for the differential test against the host CPU (x87-differential.test.ts):
 * every load/store format, the arithmetic, compare and control instructions, over edge values
 * (±0, denormals, pseudo-denormals, ±inf, quiet and signalling NaNs, the indefinite, unnormals and
 * pseudo-NaNs, values at the single/double/extended range limits and rounding ties) under every
 * rounding mode and precision control, with masked and unmasked exceptions.
 */
/** xorshift32: a reproducible stream of unsigned 32-bit numbers. */
export class Rng {
  private s: number;
  constructor(seed: number) { this.s = seed >>> 0 || 1; }
  next(): number {
    let x = this.s;
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    this.s = x;
    return x;
  }
}

/** What the snippet reads at [r15+8]: decides how memory is filled. */
export type MemKind = "m32" | "m64" | "m80" | "i16" | "i32" | "i64" | "bcd" | "env" | "save" | "cw" | "none";

export interface X87Form {
  asm: string;
  mem: MemKind;
  /** Memory bytes [from, to) not compared (fnstenv/fnsave's instruction and data pointers). */
  ignoreMem?: [number, number][];
  /** Several instructions: run with every exception masked (a pending one would fault the next). */
  multi?: boolean;
}

export interface X87Input {
  /** The 108-byte FSAVE image loaded with frstor. */
  image: Uint8Array;
  rax: bigint;
  rflags: number;
  mem: Uint8Array; // 128 bytes at r15
}

const J = 1n << 63n;

export function buildX87Forms(): X87Form[] {
  const forms: X87Form[] = [];
  const add = (asm: string, mem: MemKind = "none", extra: Partial<X87Form> = {}) => forms.push({ asm, mem, ...extra });
  const sti = [0, 1, 2, 3, 5, 7];
  // ---- loads ----
  add("fld dword [r15+8]", "m32"); add("fld qword [r15+8]", "m64"); add("fld tword [r15+8]", "m80");
  for (const i of sti) add(`fld st${i}`);
  add("fild word [r15+8]", "i16"); add("fild dword [r15+8]", "i32"); add("fild qword [r15+8]", "i64");
  add("fbld tword [r15+8]", "bcd");
  for (const k of ["fld1", "fldz", "fldpi", "fldl2e", "fldl2t", "fldlg2", "fldln2"]) add(k);
  // ---- stores ----
  for (const op of ["fst", "fstp"]) {
    add(`${op} dword [r15+8]`, "m32"); add(`${op} qword [r15+8]`, "m64");
    for (const i of sti) add(`${op} st${i}`);
  }
  add("fstp tword [r15+8]", "m80");
  for (const op of ["fist", "fistp"]) { add(`${op} word [r15+8]`, "i16"); add(`${op} dword [r15+8]`, "i32"); }
  add("fistp qword [r15+8]", "i64");
  for (const s of ["word", "dword", "qword"]) add(`fisttp ${s} [r15+8]`, "i16");
  add("fbstp tword [r15+8]", "bcd");
  for (const i of sti) add(`fxch st${i}`);
  for (const cc of ["b", "e", "be", "u", "nb", "ne", "nbe", "nu"]) for (const i of [1, 3]) add(`fcmov${cc} st0, st${i}`);
  // ---- arithmetic ----
  for (const op of ["fadd", "fsub", "fsubr", "fmul", "fdiv", "fdivr"]) {
    add(`${op} dword [r15+8]`, "m32"); add(`${op} qword [r15+8]`, "m64");
    add(`${op.replace("f", "fi")} word [r15+8]`, "i16"); add(`${op.replace("f", "fi")} dword [r15+8]`, "i32");
    for (const i of [0, 1, 2, 6]) add(`${op} st0, st${i}`);
    for (const i of [1, 3]) { add(`${op} st${i}, st0`); add(`${op}p st${i}, st0`); }
  }
  for (const k of ["fsqrt", "fabs", "fchs", "frndint", "fprem", "fprem1", "fscale", "fxtract"]) add(k);
  // ---- compares ----
  for (const op of ["fcom", "fcomp"]) { add(`${op} dword [r15+8]`, "m32"); add(`${op} qword [r15+8]`, "m64"); }
  for (const op of ["fcom", "fcomp", "fucom", "fucomp"]) for (const i of [1, 2, 0]) add(`${op} st${i}`);
  add("fcompp"); add("fucompp");
  for (const op of ["ficom", "ficomp"]) { add(`${op} word [r15+8]`, "i16"); add(`${op} dword [r15+8]`, "i32"); }
  for (const op of ["fcomi", "fcomip", "fucomi", "fucomip"]) for (const i of [1, 4]) add(`${op} st0, st${i}`);
  add("ftst"); add("fxam");
  // ---- control ----
  add("fninit"); add("fnclex"); add("fldcw [r15+8]", "cw"); add("fnstcw [r15+8]"); add("fnstsw [r15+8]"); add("fnstsw ax");
  for (const i of [0, 1, 4]) { add(`ffree st${i}`); }
  add("fincstp"); add("fdecstp"); add("fwait"); add("fnop");
  const env: [number, number][] = [[12, 28]];
  add("fnstenv [r15+8]", "none", { ignoreMem: env.map(([a, b]) => [a + 8, b + 8]) });
  add("o16 fnstenv [r15+8]", "none", { ignoreMem: [[6 + 8, 10 + 8], [10 + 8, 14 + 8]] });
  add("fldenv [r15+8]", "env"); add("fnsave [r15+8]", "none", { ignoreMem: env.map(([a, b]) => [a + 8, b + 8]) });
  add("frstor [r15+8]", "save");
  // ---- sequences (gcc-style code: load, compute, store; masked exceptions) ----
  add("fld qword [r15+8] | fmul st0, st0 | fstp qword [r15+16]", "m64", { multi: true });
  add("fild dword [r15+8] | fld1 | fdivrp st1, st0 | fstp tword [r15+16]", "i32", { multi: true });
  add("fld dword [r15+8] | fld st0 | fsqrt | fxch st1 | fcomip st0, st1 | fstp st0", "m32", { multi: true });
  add("fnstcw [r15+0] | fldcw [r15+8] | fistp qword [r15+16] | fldcw [r15+0]", "cw", { multi: true });
  return forms;
}

// ---- values ------------------------------------------------------------------------------------

/** An edge-heavy float80 (significand, sign<<15|exponent). */
export function edgeF80(r: Rng): [bigint, number] {
  const s = r.next() & 1 ? 0x8000 : 0;
  const rnd64 = () => (BigInt(r.next() >>> 0) << 32n) | BigInt(r.next() >>> 0);
  const sigs = () => {
    switch (r.next() % 8) {
      case 0: return J;
      case 1: return (1n << 64n) - 1n;
      case 2: return J | 0x400n; // a tie at double precision
      case 3: return J | (0x80n << 32n); // a tie at single precision
      case 4: return J | (rnd64() & ~0x7ffn) | 0x3ffn;
      default: return J | rnd64();
    }
  };
  const exps = [1, 2, 0x3fff, 0x3ffe, 0x4000, 0x3fff + 62, 0x3fff + 63, 0x3fff + 64, 0x3fff + 15, 0x3fff + 31, 0x3fff - 126, 0x3fff - 127, 0x3fff - 149,
    0x3fff + 127, 0x3fff + 128, 0x3fff - 1022, 0x3fff - 1023, 0x3fff - 1074, 0x3fff + 1023, 0x3fff + 1024, 0x7ffe, 0x7ffd, 0x3fff + 59];
  switch (r.next() % 16) {
    case 0: return [0n, s];
    case 1: return [rnd64() & ~J, s]; // denormal
    case 2: return [J | rnd64(), s]; // pseudo-denormal
    case 3: return [J, s | 0x7fff]; // infinity
    case 4: return [J | (1n << 62n) | (rnd64() & 0xffffn), s | 0x7fff]; // QNaN
    case 5: return [J | (rnd64() & ((1n << 62n) - 1n)) | 1n, s | 0x7fff]; // SNaN
    case 6: return [r.next() & 1 ? 0xc000000000000000n : rnd64() & ~J, r.next() & 1 ? 0xffff : s | 0x7fff]; // indefinite, pseudo-NaN
    case 7: return [rnd64() & ~J, s | (1 + (r.next() % 0x7ffe))]; // unnormal
    case 8: case 9: { // small integers and halves (rounding)
      const n = BigInt(r.next() % 41);
      const half = r.next() & 1;
      const v = n * 2n + BigInt(half);
      if (v === 0n) return [0n, s];
      const L = v.toString(2).length;
      return [v << BigInt(64 - L), s | (0x3fff + L - 1 - half)];
    }
    case 10: case 11: return [sigs(), s | exps[r.next() % exps.length]!];
    default: return [sigs(), s | (0x3fff - 40 + (r.next() % 100))];
  }
}

function put80(b: Uint8Array, off: number, [m, se]: [bigint, number]): void {
  for (let k = 0; k < 8; k++) b[off + k] = Number((m >> BigInt(8 * k)) & 0xffn);
  b[off + 8] = se & 0xff; b[off + 9] = se >> 8;
}

function putLE(b: Uint8Array, off: number, v: bigint, n: number): void {
  const u = BigInt.asUintN(8 * n, v);
  for (let k = 0; k < n; k++) b[off + k] = Number((u >> BigInt(8 * k)) & 0xffn);
}

function edgeInt(r: Rng, bits: number): bigint {
  const lim = 1n << BigInt(bits - 1);
  const picks = [0n, 1n, -1n, lim - 1n, -lim, lim / 2n, 10n, -7n, 1000000007n, 10n ** 17n, 10n ** 18n - 1n];
  const v = r.next() % 3 === 0 ? BigInt(r.next() | 0) * BigInt(r.next() >>> 0) : picks[r.next() % picks.length]!;
  return BigInt.asIntN(bits, v);
}

function edgeIeee(r: Rng, double: boolean): bigint {
  const eb = double ? 11n : 8n, fb = double ? 52n : 23n;
  const s = BigInt(r.next() & 1) << (eb + fb);
  const rnd = () => (BigInt(r.next() >>> 0) << 32n | BigInt(r.next() >>> 0)) & ((1n << fb) - 1n);
  const emax = (1n << eb) - 1n;
  switch (r.next() % 9) {
    case 0: return s;
    case 1: return s | (rnd() | 1n); // denormal
    case 2: return s | (emax << fb); // infinity
    case 3: return s | (emax << fb) | (1n << (fb - 1n)) | (rnd() & 0xffn); // QNaN
    case 4: return s | (emax << fb) | ((rnd() & ((1n << (fb - 1n)) - 1n)) | 1n); // SNaN
    case 5: return s | ((emax - 1n) << fb) | rnd(); // near the largest
    case 6: return s | (1n << fb) | rnd(); // smallest normals
    default: return s | (BigInt(r.next() % Number(emax)) << fb) | rnd();
  }
}

function bcd(r: Rng): Uint8Array {
  const b = new Uint8Array(10);
  const digits = r.next() % 19;
  for (let k = 0; k < 9; k++) {
    const lo = 2 * k < digits ? r.next() % 10 : 0, hi = 2 * k + 1 < digits ? r.next() % 10 : 0;
    b[k] = (hi << 4) | lo;
  }
  b[9] = r.next() & 1 ? 0x80 : 0;
  return b;
}

/** The tag a value gets (SDM Vol. 1 §8.1.7): 0 valid, 1 zero, 2 special. */
export function tagOf(m: bigint, se: number): number {
  const e = se & 0x7fff;
  if (e === 0) return m === 0n ? 1 : 2;
  if (e === 0x7fff || (m & J) === 0n) return 2;
  return 0;
}

export function randomX87Input(r: Rng, form: X87Form): X87Input {
  const image = new Uint8Array(108);
  const dv = new DataView(image.buffer);
  const rcs = r.next() & 3;
  const pcs = [0, 2, 3, 3, 3, 1][r.next() % 6]!;
  let masks = form.multi || r.next() % 4 !== 0 ? 0x3f : r.next() & 0x3f;
  if (r.next() % 8 === 0) masks = 0x3f;
  const fcw = 0x40 | masks | (pcs << 8) | (rcs << 10);
  const top = r.next() & 7;
  const cc = r.next() & 0x4700;
  const sticky = r.next() % 3 === 0 ? r.next() & masks & 0x3f : 0;
  const fsw = cc | (top << 11) | sticky | (sticky & 1 && r.next() & 1 ? 0x40 : 0);
  const used = 1 + (r.next() % 8);
  let ftw = 0;
  for (let i = 0; i < 8; i++) {
    const v = edgeF80(r);
    const phys = (top + i) & 7;
    const empty = i >= used && r.next() % 4 !== 0 ? true : r.next() % 10 === 0;
    put80(image, 28 + 10 * i, v);
    ftw |= (empty ? 3 : tagOf(v[0], v[1])) << (2 * phys);
  }
  dv.setUint16(0, fcw, true); dv.setUint16(2, 0xffff, true);
  dv.setUint16(4, fsw, true); dv.setUint16(6, 0xffff, true);
  dv.setUint16(8, ftw, true); dv.setUint16(10, 0xffff, true);
  const mem = new Uint8Array(128);
  for (let k = 0; k < 128; k++) mem[k] = r.next() & 0xff;
  switch (form.mem) {
    case "m32": putLE(mem, 8, edgeIeee(r, false), 4); break;
    case "m64": putLE(mem, 8, edgeIeee(r, true), 8); break;
    case "m80": put80(mem, 8, edgeF80(r)); break;
    case "i16": putLE(mem, 8, edgeInt(r, 16), 2); break;
    case "i32": putLE(mem, 8, edgeInt(r, 32), 4); break;
    case "i64": putLE(mem, 8, edgeInt(r, 64), 8); break;
    case "bcd": mem.set(bcd(r), 8); break;
    case "cw": {
      // In a sequence the next instruction waits: a control word unmasking a sticky flag would fault it.
      const cw = !form.multi && r.next() % 3 === 0 ? r.next() & 0xffff : 0x40 | 0x3f | ((r.next() & 0xf) << 8);
      putLE(mem, 8, BigInt(cw), 2);
      break;
    }
    case "env": case "save": {
      // An environment/state image as frstor accepts it (flags sticky only where masked).
      const other = randomX87Input(r, { asm: "", mem: "none" });
      if (form.mem === "env") mem.set(other.image.subarray(0, 28), 8);
      else mem.set(other.image, 8);
      break;
    }
    default: break;
  }
  const rflags = (r.next() & 0x8d5) | 2;
  const rax = (BigInt(r.next() >>> 0) << 32n) | BigInt(r.next() >>> 0);
  return { image, rax, rflags, mem };
}
