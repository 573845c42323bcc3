/**
 * The differential harness against the host CPU (shared by differential.test.ts and
 * mul-differential.test.ts): each form is assembled by nasm, run natively (tests/machine/native:
 * a gcc-built runner loads registers, flags and 64 bytes of memory, executes the instruction and
 * stores them back) and on the emulator from the same input. Results must match exactly, except
 * flags the SDM leaves undefined for that input.
 */
import { execFileSync } from "node:child_process";
import { CaseInput, Form, Rng, randomInput } from "./diff-forms";
import { assembleSlots, loadCaseGprs, slotGuest } from "./helpers";

const SLOT = 32;
const CODE_AT = 0x400000;
/** 8 mod 16 like the native buffer (state + 136), so alignment-sensitive forms agree. */
const MEM_AT = 0x600008;

export interface DiffOptions {
  /** Random cases per form (on top of the form's fixed cases). */
  perForm: number;
  seed: number;
  /** Replaces the random input's registers for some forms (operands random inputs hardly reach). */
  tweak?(form: Form, input: CaseInput, rng: Rng): void;
}

export interface DiffResult { compared: number; failing: string[]; report: string }

function encodeState(inp: CaseInput): Buffer {
  const b = Buffer.alloc(200);
  for (let i = 0; i < 16; i++) b.writeBigUInt64LE(BigInt.asUintN(64, inp.regs[i]!), i * 8);
  b.writeBigUInt64LE(BigInt(inp.flags), 128);
  Buffer.from(inp.mem).copy(b, 136);
  return b;
}

interface Result { regs: bigint[]; flags: number; mem: Uint8Array }

function decodeState(b: Buffer, off: number): Result {
  const regs: bigint[] = [];
  for (let i = 0; i < 16; i++) regs.push(b.readBigUInt64LE(off + i * 8));
  return { regs, flags: Number(b.readBigUInt64LE(off + 128)), mem: new Uint8Array(b.subarray(off + 136, off + 200)) };
}

export function runDifferential(runner: string, forms: Form[], opt: DiffOptions): DiffResult {
  const slots = assembleSlots(forms.map((f) => [f.asm, ...(f.then ? f.then.split(" | ") : [])]));
  if (slots.length !== forms.length * SLOT) throw new Error(`assembled ${slots.length} bytes for ${forms.length} slots`);
  const per = opt.perForm;
  const rng = new Rng(opt.seed);
  const cases: { form: number; input: CaseInput }[] = [];
  for (let f = 0; f < forms.length; f++) {
    let made = 0;
    for (let tries = 0; made < per && tries < per * 20; tries++) {
      const input = randomInput(rng);
      opt.tweak?.(forms[f]!, input, rng);
      if (forms[f]!.valid && !forms[f]!.valid!(input)) continue;
      cases.push({ form: f, input });
      made++;
    }
    for (const regs of forms[f]!.cases ?? []) {
      const input = randomInput(rng);
      for (const [r, v] of Object.entries(regs)) input.regs[Number(r)] = v;
      if (forms[f]!.valid && !forms[f]!.valid!(input)) throw new Error(`fixed case for ${forms[f]!.asm} is not valid`);
      cases.push({ form: f, input });
    }
  }
  // ---- native ----
  const inBuf = Buffer.alloc(cases.length * 232);
  cases.forEach((c, k) => {
    Buffer.from(slots.subarray(c.form * SLOT, c.form * SLOT + SLOT)).copy(inBuf, k * 232);
    encodeState(c.input).copy(inBuf, k * 232 + 32);
  });
  const out = execFileSync(runner, { input: inBuf, maxBuffer: 1 << 30 });
  if (out.length !== cases.length * 200) throw new Error(`native runner gave ${out.length} bytes for ${cases.length} cases`);

  // ---- emulator ----
  const { g, v } = slotGuest(slots, CODE_AT);
  const failures = new Map<number, string[]>();
  let compared = 0;
  for (let k = 0; k < cases.length; k++) {
    const { form, input } = cases[k]!;
    loadCaseGprs(v, input, MEM_AT);
    g.write(MEM_AT, input.mem);
    v.rip = CODE_AT + form * SLOT;
    // Run to the hlt after the snippet so the snippet compiles as one block (with flag liveness).
    const x = v.run(64);
    const native = decodeState(out, k * 200);
    const f = forms[form]!;
    const errs: string[] = [];
    if (x.kind !== "hlt") errs.push(`exit ${x.kind}`);
    if (v.rip !== CODE_AT + form * SLOT + slots[form * SLOT]! + 1) errs.push(`rip ${v.rip.toString(16)}`);
    for (let i = 0; i < 15; i++) {
      if (i === 4) continue;
      const e = v.getReg(["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14"][i]!);
      if (e !== native.regs[i]) errs.push(`reg${i} emu ${e.toString(16)} host ${native.regs[i]!.toString(16)}`);
    }
    const mask = 0x8d5 & ~f.undef(input);
    const ef = v.getFlags();
    if ((ef & mask) !== (native.flags & mask)) errs.push(`flags emu ${(ef & 0x8d5).toString(16)} host ${(native.flags & 0x8d5).toString(16)} (compared ${mask.toString(16)})`);
    const em = g.read(MEM_AT, 64);
    if (Buffer.compare(Buffer.from(em), Buffer.from(native.mem)) !== 0) errs.push("memory differs");
    compared++;
    if (errs.length) {
      const list = failures.get(form) ?? [];
      if (list.length < 2) {
        const inRegs = input.regs.map((r, i) => `${i}=${r.toString(16)}`).join(" ");
        list.push(`${errs.join("; ")} | in: ${inRegs} fl=${input.flags.toString(16)}`);
      }
      failures.set(form, list);
    }
  }
  const failing = [...failures.keys()].map((f) => forms[f]!.asm + (forms[f]!.then ? ` | ${forms[f]!.then}` : ""));
  const report = [...failures.entries()].slice(0, 12).map(([f, l]) => `${forms[f]!.asm}:\n   ${l.join("\n   ")}`).join("\n");
  return { compared, failing, report };
}
