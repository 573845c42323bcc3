/**
 * Differential test against the host CPU: every form from diff-forms.ts is assembled by nasm, run
 * natively (tests/machine/native: a gcc-built runner loads registers, flags and 64 bytes of memory,
 * executes the instruction and stores them back) and on the emulator from the same input. Results
 * must match exactly, except flags the SDM leaves undefined for that input.
 */
import { execFileSync } from "node:child_process";
import { beforeAll, describe, expect, it } from "vitest";
import { CaseInput, Rng, buildForms, randomInput } from "./diff-forms";
import { assembleSlots, buildNativeRunner, slotGuest } from "./helpers";

/** XENLAB_DIFF_CASES / XENLAB_DIFF_SEED widen the run locally (e.g. 500000 cases, another seed). */
const CASES_TARGET = Number(process.env.XENLAB_DIFF_CASES ?? 60_000);
const SEED = Number(process.env.XENLAB_DIFF_SEED ?? 20261124);
const SLOT = 32;
const CODE_AT = 0x400000;
/** 8 mod 16 like the native buffer (state + 136), so alignment-sensitive forms agree. */
const MEM_AT = 0x600008;

let runner = "";
beforeAll(() => {
  runner = buildNativeRunner("runner", "runner.asm", "runner.c");
});

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

describe("differential test against the host CPU", () => {
  it(`matches the host on ${CASES_TARGET}+ generated cases`, () => {
    const forms = buildForms();
    const slots = assembleSlots(forms.map((f) => [f.asm, ...(f.then ? f.then.split(" | ") : [])]));
    expect(slots.length).toBe(forms.length * SLOT);
    const per = Math.ceil(CASES_TARGET / forms.length);
    const rng = new Rng(SEED);
    const cases: { form: number; input: CaseInput }[] = [];
    for (let f = 0; f < forms.length; f++) {
      let made = 0;
      for (let tries = 0; made < per && tries < per * 20; tries++) {
        const input = randomInput(rng);
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
    expect(out.length).toBe(cases.length * 200);

    // ---- emulator ----
    const { g, v } = slotGuest(slots, CODE_AT);
    const failures = new Map<number, string[]>();
    let compared = 0;
    for (let k = 0; k < cases.length; k++) {
      const { form, input } = cases[k]!;
      for (let i = 0; i < 16; i++) {
        v.R[i] = Number(input.regs[i]! & 0xffffffffn) | 0;
        v.H[i] = Number(input.regs[i]! >> 32n) | 0;
      }
      v.setReg("rsp", 0x7ff000);
      v.setReg("r15", MEM_AT);
      v.setFlags(input.flags);
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
    if (failures.size) console.log("failing forms:", [...failures.keys()].map((f) => forms[f]!.asm).join(" | "));
    const report = [...failures.entries()].slice(0, 12).map(([f, l]) => `${forms[f]!.asm}:\n   ${l.join("\n   ")}`);
    expect(compared).toBeGreaterThanOrEqual(50_000);
    expect(report.join("\n")).toBe("");
    expect(failures.size).toBe(0);
  });
});
