/**
 * x87 differential test against the host CPU: each form of x87-forms.ts is assembled by nasm and
 * run natively (tests/machine/native/x87runner: frstor an FSAVE image, run the snippet, fnsave)
 * and on the emulator from the same state. FCW, FSW (TOP, condition codes, exception flags, ES/B),
 * the tag word, all eight registers (80 bits each), RAX, the arithmetic flags and 128 bytes of
 * memory must match bit for bit. Not compared: the last instruction/data pointers and opcode
 * (the host runs the snippet at another address, and this Sapphire Rapids host stores FOP/FDP
 * only for unmasked exceptions and zeroes FCS/FDS, CPUID.7.EBX[6,13], which the vCPU does not
 * advertise).
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { Vcpu } from "../../src/machine";
import { Rng, X87Input, buildX87Forms, randomX87Input } from "./x87-forms";
import { TMP, assembleSlots, slotGuest } from "./helpers";

const CASES_TARGET = Number(process.env.XENLAB_X87_CASES ?? 60_000);
const SEED = Number(process.env.XENLAB_X87_SEED ?? 20261203);
const SLOT = 32;
const CODE_AT = 0x400000;
const MEM_AT = 0x600000;
const REC = 32 + 256;

let runner = "";
beforeAll(() => {
  const dir = join(__dirname, "native");
  runner = join(TMP, "x87runner");
  execFileSync("nasm", ["-f", "elf64", "-o", join(TMP, "x87runner.o"), join(dir, "x87runner.asm")]);
  execFileSync("gcc", ["-O2", "-o", runner, join(dir, "x87runner.c"), join(TMP, "x87runner.o")]);
});

function encode(inp: X87Input): Buffer {
  const b = Buffer.alloc(256);
  Buffer.from(inp.image).copy(b, 0);
  b.writeBigUInt64LE(inp.rax, 112);
  b.writeBigUInt64LE(BigInt(inp.rflags), 120);
  Buffer.from(inp.mem).copy(b, 128);
  return b;
}

/** Loads the emulator's x87 state from an FSAVE image (ST(i) → physical register (TOP+i)&7). */
function loadState(v: Vcpu, img: Uint8Array): void {
  const dv = new DataView(img.buffer, img.byteOffset);
  v.fcw = dv.getUint16(0, true); v.fsw = dv.getUint16(4, true); v.ftw = dv.getUint16(8, true);
  const top = (v.fsw >> 11) & 7;
  for (let i = 0; i < 8; i++) for (let w = 0; w < 5; w++) v.fpr[5 * ((top + i) & 7) + w] = dv.getUint16(28 + 10 * i + 2 * w, true);
}

interface X87State { fcw: number; fsw: number; ftw: number; regs: string[] }

function stateOfImage(b: Buffer, off: number): X87State {
  const regs: string[] = [];
  for (let i = 0; i < 8; i++) regs.push(b.subarray(off + 28 + 10 * i, off + 38 + 10 * i).toString("hex"));
  return { fcw: b.readUInt16LE(off), fsw: b.readUInt16LE(off + 4), ftw: b.readUInt16LE(off + 8), regs };
}

function stateOfVcpu(v: Vcpu): X87State {
  const top = (v.fsw >> 11) & 7;
  const regs: string[] = [];
  for (let i = 0; i < 8; i++) {
    const b = Buffer.alloc(10);
    for (let w = 0; w < 5; w++) b.writeUInt16LE(v.fpr[5 * ((top + i) & 7) + w]!, 2 * w);
    regs.push(b.toString("hex"));
  }
  return { fcw: v.fcw, fsw: v.fsw, ftw: v.fpu.fullTag(), regs };
}

describe("x87 differential test against the host CPU", () => {
  it(`matches the host on ${CASES_TARGET}+ generated x87 cases`, () => {
    const forms = buildX87Forms();
    const slots = assembleSlots(forms.map((f) => f.asm.split(" | ")));
    expect(slots.length).toBe(forms.length * SLOT);
    const per = Math.ceil(CASES_TARGET / forms.length);
    const rng = new Rng(SEED);
    const cases: { form: number; input: X87Input }[] = [];
    for (let f = 0; f < forms.length; f++) for (let k = 0; k < per; k++) cases.push({ form: f, input: randomX87Input(rng, forms[f]!) });

    const inBuf = Buffer.alloc(cases.length * REC);
    cases.forEach((c, k) => {
      Buffer.from(slots.subarray(c.form * SLOT, c.form * SLOT + SLOT)).copy(inBuf, k * REC);
      encode(c.input).copy(inBuf, k * REC + 32);
    });
    const out = execFileSync(runner, { input: inBuf, maxBuffer: 1 << 30 });
    expect(out.length).toBe(cases.length * 256);

    const { g, v } = slotGuest(slots, CODE_AT);
    const failures = new Map<number, string[]>();
    let compared = 0;
    for (let k = 0; k < cases.length; k++) {
      const { form, input } = cases[k]!;
      const f = forms[form]!;
      loadState(v, input.image);
      v.setReg("rax", input.rax);
      v.setReg("r15", MEM_AT);
      v.setFlags(input.rflags);
      g.write(MEM_AT, input.mem);
      v.rip = CODE_AT + form * SLOT;
      const x = v.run(64);
      const off = k * 256;
      const nat = stateOfImage(out, off);
      const emu = stateOfVcpu(v);
      const errs: string[] = [];
      if (x.kind !== "hlt") errs.push(`exit ${x.kind}${x.kind === "triple-fault" || x.kind === "unsupported" ? ` ${x.reason}` : ""}`);
      if (emu.fcw !== nat.fcw) errs.push(`fcw emu ${emu.fcw.toString(16)} host ${nat.fcw.toString(16)}`);
      if (emu.fsw !== nat.fsw) errs.push(`fsw emu ${emu.fsw.toString(16)} host ${nat.fsw.toString(16)}`);
      if (emu.ftw !== nat.ftw) errs.push(`ftw emu ${emu.ftw.toString(16)} host ${nat.ftw.toString(16)}`);
      for (let i = 0; i < 8; i++) if (emu.regs[i] !== nat.regs[i]) errs.push(`st${i} emu ${emu.regs[i]} host ${nat.regs[i]}`);
      const rax = out.readBigUInt64LE(off + 112);
      if (v.getReg("rax") !== rax) errs.push(`rax emu ${v.getReg("rax").toString(16)} host ${rax.toString(16)}`);
      const fl = Number(out.readBigUInt64LE(off + 120));
      if ((v.getFlags() & 0x8d5) !== (fl & 0x8d5)) errs.push(`flags emu ${(v.getFlags() & 0x8d5).toString(16)} host ${(fl & 0x8d5).toString(16)}`);
      const em = Buffer.from(g.read(MEM_AT, 128));
      const nm = Buffer.from(out.subarray(off + 128, off + 256));
      for (const [a, b] of f.ignoreMem ?? []) { em.fill(0, a, b); nm.fill(0, a, b); }
      if (Buffer.compare(em, nm) !== 0) errs.push(`memory emu ${em.subarray(8, 24).toString("hex")} host ${nm.subarray(8, 24).toString("hex")}`);
      compared++;
      if (errs.length) {
        const list = failures.get(form) ?? [];
        if (list.length < 2) {
          const img = Buffer.from(input.image);
          list.push(`${errs.join("; ")} | in: fcw=${img.readUInt16LE(0).toString(16)} fsw=${img.readUInt16LE(4).toString(16)} ftw=${img.readUInt16LE(8).toString(16)} st0=${img.subarray(28, 38).toString("hex")} st1=${img.subarray(38, 48).toString("hex")} mem8=${Buffer.from(input.mem.subarray(8, 18)).toString("hex")}`);
        }
        failures.set(form, list);
      }
    }
    if (failures.size) console.log(`failing x87 forms (${failures.size}/${forms.length}):`, [...failures.keys()].map((f) => forms[f]!.asm).join(" | "));
    const report = [...failures.entries()].slice(0, Number(process.env.XENLAB_X87_REPORT ?? 20)).map(([f, l]) => `${forms[f]!.asm}:\n   ${l.join("\n   ")}`);
    expect(compared).toBeGreaterThanOrEqual(CASES_TARGET);
    expect(report.join("\n")).toBe("");
  });
});
