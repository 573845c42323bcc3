/**
 * 64-bit mul/imul, emitted inline (src/machine/emit/mul64.ts), against the host CPU: one-operand
 * mul/imul (RDX:RAX, CF/OF), two- and three-operand imul with live flags (CF/OF from the signed
 * 128-bit product) and with dead flags (low half only), and Linux's lib/mpi mul_1 step
 * (mul; add; adc), over operands built to drive every carry of the 16-bit-limb schoolbook.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { AF, CaseInput, Form, PF, Rng, SF, ZF } from "./diff-forms";
import { runDifferential } from "./differential-run";
import { buildNativeRunner } from "./helpers";

const PER_FORM = Number(process.env.XENLAB_MUL_CASES ?? 6000);
const SEED = Number(process.env.XENLAB_DIFF_SEED ?? 20261204);

let runner = "";
beforeAll(() => {
  runner = buildNativeRunner("runner", "runner.asm", "runner.c");
});

const LIMBS = [0n, 1n, 0x7fffn, 0x8000n, 0xfffen, 0xffffn];
/**
 * A 64-bit operand whose four 16-bit limbs are each an edge (0, 1, 0x7fff, 0x8000, 0xfffe, 0xffff)
 * or random: partial products then sit at the 2^16/2^32 boundaries where a dropped carry shows.
 */
function operand(r: Rng): bigint {
  const k = r.int(8);
  if (k === 0) return r.next();
  if (k === 1) return BigInt.asUintN(64, 1n << BigInt(r.int(64))) - BigInt(r.int(3)); // 2^n, 2^n-1, 2^n-2
  let v = 0n;
  for (let i = 0; i < 4; i++) v |= (r.int(3) === 0 ? r.next() & 0xffffn : LIMBS[r.int(LIMBS.length)]!) << BigInt(16 * i);
  return k === 2 ? BigInt.asUintN(64, -v) : v;
}

/** Operand registers of these forms: rax, rdx, rbx, rsi, r9, r10, r8 and the qword at [r15+8]. */
function tweak(_f: Form, input: CaseInput, r: Rng): void {
  for (const i of [0, 2, 3, 6, 9, 10, 8]) input.regs[i] = operand(r);
  const m = operand(r);
  for (let k = 0; k < 8; k++) input.mem[8 + k] = Number((m >> BigInt(8 * k)) & 0xffn);
}

function forms(): Form[] {
  const undef = () => SF | ZF | AF | PF;
  const f: Form[] = [];
  const add = (asm: string, mn: string, u: () => number, then?: string) => f.push({ asm, mn, size: 8, undef: u, ...(then ? { then } : {}) });
  for (const op of ["mul", "imul"]) {
    for (const src of ["rbx", "rax", "rdx", "qword [r15+8]"]) {
      add(`${op} ${src}`, op, undef);
      // Flags dead: the next instruction overwrites them all (the emitter drops CF/OF).
      add(`${op} ${src}`, op, () => AF, "test r14, r14");
    }
    // lib/mpi mul_1: the product's low half plus the carry limb, its high half plus CF.
    add(`${op} rbx`, op, () => 0, "add rax, r8 | adc rdx, 0");
  }
  for (const [asm, dead] of [
    ["imul rbx, rsi", false], ["imul rax, qword [r15+8]", false], ["imul r9, r10, -7", false],
    ["imul rdx, rdx, 0x12345678", false], ["imul rbx, rbx", false], ["imul r9, r10, -0x80000000", false],
    ["imul rbx, rsi", true], ["imul rax, qword [r15+8]", true], ["imul r9, r10, 0x7fffffff", true], ["imul rbx, rbx", true],
  ] as const) add(asm, "imul", dead ? () => AF : undef, dead ? "test r14, r14" : undefined);
  return f;
}

describe("64-bit mul/imul inline against the host CPU", () => {
  it(`matches the host on ${PER_FORM} operand pairs per form`, () => {
    const list = forms();
    const r = runDifferential(runner, list, { perForm: PER_FORM, seed: SEED, tweak });
    if (r.failing.length) console.log("failing forms:", r.failing.join(" | "));
    expect(r.compared).toBe(list.length * PER_FORM);
    expect(r.report).toBe("");
  });
});
