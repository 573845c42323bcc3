/**
 * rcpps/rcpss/rsqrtps/rsqrtss against the host with the SDM's bound instead of bit equality
 * (SDM Vol. 2B RCPPS: "|Relative Error| <= 1.5 * 2^-12"; the host's table is not public and
 * src/machine/vec-approx.ts computes its own value inside the bound). Special operands (±0,
 * denormals, ±inf, NaNs, negative rsqrt operands) have results the SDM fixes: those must be
 * bit-equal, as must every lane the instruction does not write. A normal operand's result must be
 * within the bound of the exact value on both sides; rcp of an operand whose reciprocal is within
 * the bound of 2^-126 may be flushed to zero or not ("depending on the implementation").
 */
import { A16, MIS, SseForm } from "./sse-forms";
import { Rng } from "./diff-forms";

export const BOUND = 1.5 * 2 ** -12;

export interface ApproxForm extends SseForm {
  sqrt: boolean;
  /** Destination XMM register, and where the operand's lanes come from: an XMM register or a memory offset from r15. */
  dst: number;
  src: { xmm: number } | { mem: number };
  lanes: number;
}

export function buildApproxForms(): ApproxForm[] {
  const f: ApproxForm[] = [];
  for (const sqrt of [false, true]) {
    const ps = sqrt ? "rsqrtps" : "rcpps", ss = sqrt ? "rsqrtss" : "rcpss";
    for (const [d, s] of [[1, 2], [3, 3], [9, 14], [0, 15]] as const) {
      f.push({ asm: `${ps} xmm${d}, xmm${s}`, sqrt, dst: d, src: { xmm: s }, lanes: 4 });
      f.push({ asm: `${ss} xmm${d}, xmm${s}`, sqrt, dst: d, src: { xmm: s }, lanes: 1 });
    }
    f.push({ asm: `${ps} xmm4, ${A16}`, sqrt, dst: 4, src: { mem: 16 }, lanes: 4 });
    f.push({ asm: `${ps} xmm5, ${MIS}`, sqrt, dst: 5, src: { mem: 24 }, lanes: 4 }); // #GP(0)
    f.push({ asm: `${ss} xmm6, [r15+4]`, sqrt, dst: 6, src: { mem: 4 }, lanes: 1 });
  }
  return f;
}

/** An operand lane: every exponent, the values around rcp's flush threshold, and the special classes. */
export function approxLane(r: Rng): number {
  const sign = r.int(4) === 0 ? 0x80000000 : 0;
  const mant = r.int(1 << 23);
  switch (r.int(8)) {
    case 0: return [0, 0x80000000, 1, 0x807fffff, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc12345, 0x7f800001, 0x7fa00000, 0x00800000, 0x7f7fffff][r.int(12)]! >>> 0;
    case 1: return (sign | mant) >>> 0; // denormal
    case 2: return (sign | ((252 + r.int(2)) << 23) | mant) >>> 0; // 2^125..2^127: rcp near 2^-126
    case 3: return (sign | (127 << 23) | mant) >>> 0; // [1, 2)
    case 4: return (sign | (r.int(2) ? 0x7fff00 | r.int(256) : r.int(256)) | ((1 + r.int(254)) << 23)) >>> 0; // mantissa edges
    default: return (sign | ((1 + r.int(254)) << 23) | mant) >>> 0;
  }
}

const f32 = new DataView(new ArrayBuffer(4));
const asFloat = (b: number) => { f32.setUint32(0, b >>> 0); return f32.getFloat32(0); };

export interface ApproxStats { lanes: number; equal: number; maxEmu: number; maxHost: number }

/**
 * Compares one case's XMM area (FXSAVE bytes 160..415) of the emulator and the host; returns the
 * differences found (empty when they agree as the SDM requires). `faulted`: the instruction took
 * an exception on the host (then nothing was written and every lane must be equal).
 */
export function compareApprox(form: ApproxForm, fx: Uint8Array, mem: Uint8Array, emu: Uint8Array, host: Uint8Array, faulted: boolean, st: ApproxStats): string[] {
  const errs: string[] = [];
  const get = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset).getUint32(at, true);
  for (let reg = 0; reg < 16; reg++) {
    for (let lane = 0; lane < 4; lane++) {
      const at = 160 + reg * 16 + lane * 4;
      const e = get(emu, at), h = get(host, at);
      const x = "xmm" in form.src ? get(fx, 160 + form.src.xmm * 16 + lane * 4) : get(mem, form.src.mem + lane * 4);
      if (faulted || reg !== form.dst || lane >= form.lanes || !isNormal(x) || (form.sqrt && x >>> 31 === 1)) {
        // Unwritten lanes, and the results the SDM fixes (±0, denormals, ±inf, NaNs, rsqrt of a
        // negative value): bit-equal.
        if (e !== h) errs.push(`xmm${reg}[${lane}] (operand ${hex(x)}) emu ${hex(e)} host ${hex(h)}`);
        continue;
      }
      st.lanes++;
      if (e === h) st.equal++;
      const exact = form.sqrt ? 1 / Math.sqrt(asFloat(x)) : 1 / asFloat(x);
      for (const [who, v] of [["emu", e], ["host", h]] as const) {
        const err = within(form.sqrt, exact, v);
        if (err === undefined) errs.push(`xmm${reg}[${lane}] of ${hex(x)}: ${who} ${hex(v)} is not within 1.5*2^-12 of ${exact}`);
        else if (who === "emu") st.maxEmu = Math.max(st.maxEmu, err); else st.maxHost = Math.max(st.maxHost, err);
      }
    }
  }
  return errs;
}

const hex = (v: number) => (v >>> 0).toString(16).padStart(8, "0");
const isNormal = (b: number) => ((b >>> 23) & 0xff) !== 0 && ((b >>> 23) & 0xff) !== 0xff;

/** The relative error of result bits v, or undefined when v is not acceptable. */
function within(sqrt: boolean, exact: number, v: number): number | undefined {
  const got = asFloat(v);
  // "Tiny results are always flushed to 0.0": never a denormal.
  if (got !== 0 && Math.abs(got) < 2 ** -126) return undefined;
  // rcp's flush of tiny results: a zero of the operand's sign is allowed near 2^-126.
  if (!sqrt && got === 0 && Math.sign(1 / got) === Math.sign(exact) && Math.abs(exact) <= 2 ** -126 * (1 + BOUND)) return 0;
  if (!Number.isFinite(got) || got === 0 || Math.sign(got) !== Math.sign(exact)) return undefined;
  const err = Math.abs(got - exact) / Math.abs(exact);
  return err <= BOUND ? err : undefined;
}
