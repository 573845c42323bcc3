/**
 * 64-bit multiplies emitted inline (issue 15: X.mul1/X.umulhi calls were the hot spot of
 * Linux's lib/mpi mul_1/addmul_1 loops, 55% of a boot's instructions).
 *
 * Operands arrive in the block's locals as int32 halves: a = aH:aL, b = bH:bL. A 32x32 product's
 * high word is built from 16-bit limbs so that every partial product stays below 2^32 and every
 * sum below 2^53 (exact in doubles, mostly in V8's int32/uint32 fast paths); low words come from
 * Math.imul. The 128-bit product is the schoolbook sum of the four word products:
 *
 *   W0 = lo(aL*bL)
 *   W1 = hi(aL*bL) + lo(aL*bH) + lo(aH*bL)            carry c1 in 0..2
 *   W2 = hi(aL*bH) + hi(aH*bL) + lo(aH*bH) + c1       carry c2 in 0..2
 *   W3 = hi(aH*bH) + c2
 *
 * Signed (imul): the two's-complement identity a*b = ua*ub - 2^64*((a<0 ? ub : 0) + (b<0 ? ua : 0))
 * (mod 2^128) corrects the high 64 bits. CF=OF when the high half is significant (SDM Vol. 2A
 * MUL/IMUL); SF ZF PF follow the low half as X.mul1 does (the SDM leaves them undefined), AF 0.
 */

/** JS expression: high 32 bits of the unsigned product of int32-held words x and y. */
function hi32(x: string, y: string, p: string): string {
  // p is a fresh prefix for this product's temporaries.
  return `const ${p}l=${x}&65535,${p}h=${x}>>>16,${p}L=${y}&65535,${p}H=${y}>>>16,` +
    `${p}m=${p}h*${p}L,${p}n=${p}l*${p}H,` +
    `${p}t=((${p}l*${p}L)>>>16)+(${p}m&65535)+(${p}n&65535),` +
    `${p}=${p}h*${p}H+(${p}m>>>16)+(${p}n>>>16)+(${p}t>>>16);`;
}

/** Low 64 bits of a*b (the same for signed and unsigned) into rL:rH. */
export function mulLow64(): string {
  return `{${hi32("aL", "bL", "q")}rL=Math.imul(aL,bL);rH=(q+Math.imul(aL,bH)+Math.imul(aH,bL))|0;}`;
}

/**
 * Full 128-bit product: low half into rL:rH, high half into dL:dH (int32 halves), and with
 * `flags` the CF/OF test of the high half left in `t` (1 when significant).
 */
export function mul128(signed: boolean, flags: boolean): string {
  let s = "{" + hi32("aL", "bL", "p") + hi32("aL", "bH", "q") + hi32("aH", "bL", "u") + hi32("aH", "bH", "v");
  s += "const s1=p+(Math.imul(aL,bH)>>>0)+(Math.imul(aH,bL)>>>0),c1=(s1/4294967296)|0;";
  s += "const s2=q+u+(Math.imul(aH,bH)>>>0)+c1,c2=(s2/4294967296)|0;";
  s += "rL=Math.imul(aL,bL);rH=s1|0;dL=s2|0;dH=(v+c2)|0;";
  if (signed) {
    // Subtract b from the high half when a < 0, then a when b < 0 (borrow from dL into dH).
    s += "if(aH<0){t=(dL>>>0)-(bL>>>0);dH=(dH-bH-(t<0?1:0))|0;dL=t|0;}";
    s += "if(bH<0){t=(dL>>>0)-(aL>>>0);dH=(dH-aH-(t<0?1:0))|0;dL=t|0;}";
  }
  if (flags) s += signed ? "t=(dL!==(rH>>31)||dH!==(rH>>31))?1:0;" : "t=(dL|dH)!==0?1:0;";
  return s + "}";
}

/** EFLAGS after a 64-bit multiply whose significance test is in `t`: eager bits as X.mul1 sets them. */
export function mulFlags64(): string {
  return "c.setArith(X.PARITY[rL&255]|((rL|rH)===0?64:0)|(rH<0?128:0)|(t!==0?2049:0));";
}
