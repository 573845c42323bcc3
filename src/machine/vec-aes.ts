/**
 * AES-NI (SDM Vol. 2A AESENC/AESENCLAST/AESDEC/AESDECLAST/AESIMC/AESKEYGENASSIST; FIPS-197 for
 * the transformations). The state is the XMM register with byte i = row i mod 4 of column
 * i div 4. The S-boxes are computed from their definition (the inverse in GF(2^8) modulo
 * x^8+x^4+x^3+x+1, then the affine map), not copied from a table.
 */
import { VEC_RES } from "./cpu-state";
import type { CpuState } from "./cpu-state";

type V = CpuState;

/** Multiplication in GF(2^8) with the AES polynomial 0x11b. */
function gmul(a: number, b: number): number {
  let r = 0;
  for (; b; b >>= 1) { if (b & 1) r ^= a; a = (a << 1) ^ (a & 0x80 ? 0x11b : 0); }
  return r;
}

const SBOX = new Uint8Array(256), INV_SBOX = new Uint8Array(256);
for (let x = 0; x < 256; x++) {
  let inv = 0;
  if (x) for (let y = 1; y < 256; y++) if (gmul(x, y) === 1) { inv = y; break; }
  const rot = (v: number, n: number) => ((v << n) | (v >> (8 - n))) & 255;
  const s = inv ^ rot(inv, 1) ^ rot(inv, 2) ^ rot(inv, 3) ^ rot(inv, 4) ^ 0x63;
  SBOX[x] = s; INV_SBOX[s] = x;
}

const R = VEC_RES * 16;

function shiftRows(b: Uint8Array, from: number, inverse: boolean): void {
  for (let c = 0; c < 4; c++) for (let r = 0; r < 4; r++) b[R + r + 4 * c] = b[from + r + 4 * ((c + (inverse ? 4 - r : r)) & 3)]!;
}

function mixColumns(b: Uint8Array, inverse: boolean): void {
  const m = inverse ? [14, 11, 13, 9] : [2, 3, 1, 1];
  for (let c = 0; c < 4; c++) {
    const a = [b[R + 4 * c]!, b[R + 4 * c + 1]!, b[R + 4 * c + 2]!, b[R + 4 * c + 3]!];
    for (let r = 0; r < 4; r++) b[R + 4 * c + r] = gmul(a[r]!, m[0]!) ^ gmul(a[(r + 1) & 3]!, m[1]!) ^ gmul(a[(r + 2) & 3]!, m[2]!) ^ gmul(a[(r + 3) & 3]!, m[3]!);
  }
}

/** One round: aesenc/aesenclast (decrypt false), aesdec/aesdeclast (decrypt true); d ^= round key s at the end. */
export function aesRound(c: V, d: number, s: number, decrypt: boolean, last: boolean): void {
  const b = c.vb;
  shiftRows(b, d * 16, decrypt);
  const box = decrypt ? INV_SBOX : SBOX;
  for (let i = 0; i < 16; i++) b[R + i] = box[b[R + i]!]!;
  if (!last) mixColumns(b, decrypt);
  for (let i = 0; i < 16; i++) b[d * 16 + i] = b[R + i]! ^ b[s * 16 + i]!;
}

/** aesimc: InvMixColumns of s into d (a decryption round key from an encryption one). */
export function aesimc(c: V, d: number, s: number): void {
  const b = c.vb;
  for (let i = 0; i < 16; i++) b[R + i] = b[s * 16 + i]!;
  mixColumns(b, true);
  for (let i = 0; i < 16; i++) b[d * 16 + i] = b[R + i]!;
}

/** aeskeygenassist: SubWord and RotWord(SubWord) ^ RCON of s's dwords 1 and 3. */
export function aeskeygenassist(c: V, d: number, s: number, rcon: number): void {
  const x = c.vd;
  const sub = (w: number) => (SBOX[w & 255]! | (SBOX[(w >>> 8) & 255]! << 8) | (SBOX[(w >>> 16) & 255]! << 16) | (SBOX[w >>> 24]! << 24)) | 0;
  const rot = (w: number) => ((w >>> 8) | (w << 24)) | 0;
  const x1 = sub(x[s * 4 + 1]!), x3 = sub(x[s * 4 + 3]!);
  x[d * 4] = x1; x[d * 4 + 1] = rot(x1) ^ rcon; x[d * 4 + 2] = x3; x[d * 4 + 3] = rot(x3) ^ rcon;
}
