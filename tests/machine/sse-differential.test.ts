/**
 * SSE differential test against the host CPU: every form of sse-forms.ts is assembled by nasm and
 * run natively (tests/machine/native/sse-runner.*: the x87/SSE state comes from an FXSAVE64 image
 * through the host's own FXRSTOR64 and goes back out through its FXSAVE64; a fault is caught and
 * its vector recorded) and on the emulator from the same input. GPRs, flags, the exception
 * vector, XMM0-15, MXCSR, the x87 area and 640 bytes of memory must match exactly.
 *
 * On the emulator side the FXSAVE image is decoded and encoded here, from the SDM's table (Vol. 2A
 * FXSAVE Table 3-46), not with the emulator's own FXRSTOR/FXSAVE, so those instructions are
 * checked by their own forms against the host.
 *
 * The vCPU is an Intel model; on another vendor's host, host-fxsave.ts (FOP/FIP/FDP, MXCSR_MASK,
 * probed from the host) and dotProductNaNsAgree (which NaN DPPS/DPPD propagate) name the only
 * differences allowed, each a property of the processor rather than of the instruction.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { CR4_OSFXSR, CR4_OSXMMEXCPT, CR4_OSXSAVE, MXCSR_MASK, Vcpu, writeIdtGate, writeStandardGdt } from "../../src/machine";
import { Rng } from "./diff-forms";
import { FX_AT, MEM_AT_STATE, MEM_BYTES, STATE, SseForm, SseInput, buildSseForms, buildMmxForms, buildSseExtraForms, buildSseStringForms, randomMmxInput, randomSseInput, randomTextInput } from "./sse-forms";
import { ApproxStats, approxLane, buildApproxForms, compareApprox } from "./sse-approx";
import { assembleSlots, buildNativeRunner, loadCaseGprs, slotGuest } from "./helpers";
import { HostFxsave, asHostWouldStore, storedImageOffsets } from "./host-fxsave";

const CASES_TARGET = Number(process.env.XENLAB_SSE_CASES ?? 100_000);
const STRING_CASES = Number(process.env.XENLAB_SSE_STRING_CASES ?? 40_000);
const MMX_CASES = Number(process.env.XENLAB_MMX_CASES ?? 30_000);
const EXTRA_CASES = Number(process.env.XENLAB_SSE_EXTRA_CASES ?? 30_000);
const APPROX_CASES = Number(process.env.XENLAB_SSE_APPROX_CASES ?? 20_000);
const SEED = Number(process.env.XENLAB_DIFF_SEED ?? 20261203);
const SLOT = 96;
const CODE_AT = 0x400000;
/** 16 mod 64 like the native buffer (state + 656 in a 64-byte-aligned array). */
const MEM_AT = 0x600010;
const GDT_AT = 0x1000, IDT_AT = 0x2000;
/** Exception vector v is delivered to a hlt at STUBS + v. */
const STUBS = 0x3000;
const NO_VECTOR = 255;

let runner = "";
let hostFx: HostFxsave;
beforeAll(() => {
  runner = buildNativeRunner("sse-runner", "sse-runner.asm", "sse-runner.c");
  hostFx = probeHostFxsave();
  console.log(`host FXSAVE: ${JSON.stringify(hostFx)}`);
});

/** One slot per case, run by the native runner: the state after each. */
function runNative(slots: Uint8Array, cases: { form: number; input: SseInput }[]): Buffer {
  const rec = SLOT + STATE;
  const inBuf = Buffer.alloc(cases.length * rec);
  cases.forEach((c, k) => {
    const s = slots.subarray(c.form * SLOT, c.form * SLOT + SLOT);
    if (s[0]! > SLOT - 1 - 14) throw new Error(`slot ${c.form} is too long for the native slot`);
    Buffer.from(s).copy(inBuf, k * rec);
    encodeInput(c.input).copy(inBuf, k * rec + SLOT);
  });
  const out = execFileSync(runner, { input: inBuf, maxBuffer: 1 << 30 });
  expect(out.length).toBe(cases.length * STATE);
  return out;
}

/** host-fxsave.ts: what this host's FXRSTOR+FXSAVE give back of FOP/FIP/FDP and MXCSR_MASK. */
function probeHostFxsave(): HostFxsave {
  const input = (fcw: number, fsw: number) => {
    const inp = randomSseInput(new Rng(SEED));
    const dv = new DataView(inp.fx.buffer, inp.fx.byteOffset, 512);
    dv.setUint16(0, fcw, true); dv.setUint16(2, fsw, true); dv.setUint8(4, 0); // empty stack
    dv.setUint16(6, 0x123, true); dv.setBigUint64(8, 0x1234_11223344n, true); dv.setBigUint64(16, 0x5678_55667788n, true);
    dv.setUint32(24, 0x1f80, true);
    return inp;
  };
  // Every exception masked and FSW 0: none pending; IE unmasked and FSW 0x8081 (IE, ES, B): one
  // pending, as an unmasked invalid operation leaves it.
  const inputs = [input(0x37f, 0), input(0x37e, 0x8081)];
  const out = runNative(assembleSlots([["nop"]], SLOT), inputs.map((inp) => ({ form: 0, input: inp })));
  const fx = (k: number) => out.subarray(k * STATE + FX_AT, k * STATE + FX_AT + 32);
  const pointers = (b: Uint8Array) => hex(b, 6, 24);
  const clear = pointers(fx(0)), pending = pointers(fx(1)), given = pointers(inputs[0]!.fx);
  if (clear !== given && /[^0]/.test(clear)) throw new Error(`host FXSAVE gave FOP/FIP/FDP ${clear} for ${given} with ES clear: neither kept nor zero`);
  // With an exception pending every host keeps them (the x87 handler reads them), on AMD at
  // times as 32-bit offsets (host-fxsave.ts).
  expect([given, "2301" + "4433221100000000" + "8877665500000000"], "FOP/FIP/FDP with an x87 exception pending").toContain(pending);
  const host = { keepsPointersWithoutException: clear === given, mxcsrMask: fx(0).readUInt32LE(28) };
  // Every MXCSR bit the vCPU implements must be one the host implements too, or the oracle
  // could not run the same MXCSR values.
  expect((host.mxcsrMask & MXCSR_MASK) >>> 0, `host MXCSR_MASK 0x${host.mxcsrMask.toString(16)}`).toBe(MXCSR_MASK);
  return host;
}

function encodeInput(inp: SseInput): Buffer {
  const b = Buffer.alloc(STATE);
  for (let i = 0; i < 16; i++) b.writeBigUInt64LE(BigInt.asUintN(64, inp.regs[i]!), i * 8);
  b.writeBigUInt64LE(BigInt(inp.flags), 128);
  Buffer.from(inp.fx).copy(b, FX_AT);
  Buffer.from(inp.mem).copy(b, MEM_AT_STATE);
  return b;
}

// ---- the FXSAVE64 image on the emulator side, field by field (SDM Vol. 2A Table 3-46) ----
function loadFx(v: Vcpu, fx: Uint8Array): void {
  const dv = new DataView(fx.buffer, fx.byteOffset, 512);
  v.fcw = dv.getUint16(0, true); v.fsw = dv.getUint16(2, true);
  const tags = dv.getUint8(4);
  let ftw = 0;
  for (let i = 0; i < 8; i++) ftw |= ((tags >> i) & 1 ? 0 : 3) << (2 * i);
  v.ftw = ftw;
  v.fop87 = dv.getUint16(6, true) & 0x7ff;
  v.fip = Number(dv.getBigUint64(8, true)); v.fdp = Number(dv.getBigUint64(16, true)); v.fcs = 0; v.fds = 0;
  v.mxcsr = dv.getUint32(24, true);
  const top = (v.fsw >> 11) & 7;
  for (let i = 0; i < 8; i++) for (let k = 0; k < 5; k++) v.fpr[((top + i) & 7) * 5 + k] = dv.getUint16(32 + 16 * i + 2 * k, true);
  for (let i = 0; i < 64; i++) v.xmm[i] = dv.getInt32(160 + 4 * i, true);
}

function saveFx(v: Vcpu, into: Uint8Array): void {
  const dv = new DataView(into.buffer, into.byteOffset, 512);
  dv.setUint16(0, v.fcw, true); dv.setUint16(2, v.fsw, true);
  let tags = 0;
  for (let i = 0; i < 8; i++) if (((v.ftw >> (2 * i)) & 3) !== 3) tags |= 1 << i;
  dv.setUint8(4, tags); dv.setUint8(5, 0);
  dv.setUint16(6, v.fop87, true);
  dv.setBigUint64(8, BigInt(v.fip), true); dv.setBigUint64(16, BigInt(v.fdp), true);
  dv.setUint32(24, v.mxcsr, true); dv.setUint32(28, MXCSR_MASK, true);
  const top = (v.fsw >> 11) & 7;
  for (let i = 0; i < 8; i++) {
    for (let k = 0; k < 5; k++) dv.setUint16(32 + 16 * i + 2 * k, v.fpr[((top + i) & 7) * 5 + k]!, true);
    for (let k = 10; k < 16; k++) dv.setUint8(32 + 16 * i + k, 0);
  }
  for (let i = 0; i < 64; i++) dv.setInt32(160 + 4 * i, v.xmm[i]!, true);
}

const hex = (b: Uint8Array, from: number, to: number) => Buffer.from(b.subarray(from, to)).toString("hex");

describe("SSE differential test against the host CPU", () => {
  it(`matches the host on ${CASES_TARGET}+ generated cases`, () => {
    differential(buildSseForms(), CASES_TARGET, randomSseInput);
  });
  // Text-like registers and memory (a small alphabet with nulls, lengths near the bounds in
  // EAX/EDX), so every aggregation and polarity meets matches, misses and string ends.
  it(`pcmpestri/pcmpestrm/pcmpistri/pcmpistrm in all imm8 modes match the host on ${STRING_CASES}+ cases`, () => {
    differential(buildSseStringForms(), STRING_CASES, randomTextInput);
  });
  it(`MMX (MM registers aliasing the x87 stack, emms, movd/movq, pshufw, SSE/SSSE3 MM forms) matches the host on ${MMX_CASES}+ cases`, () => {
    differential(buildMmxForms(), MMX_CASES, randomMmxInput);
  });
  it(`dpps/dppd (every imm8), maskmovdqu and cvtpi2ps/cvtpi2pd/cvt(t)ps2pi/cvt(t)pd2pi match the host on ${EXTRA_CASES}+ cases`, () => {
    const forms = buildSseExtraForms();
    differential(forms, EXTRA_CASES, randomMmxInput, HOST_VENDOR === "GenuineIntel" ? undefined : (f, _inp, emu, host) => dotProductNaNsAgree(forms[f]!.asm, emu, host));
  });
  // The SDM bounds these approximations instead of fixing them (sse-approx.ts): each side's
  // result must be within 1.5*2^-12 of the exact value, the special results bit-equal.
  it(`rcpps/rcpss/rsqrtps/rsqrtss are within the SDM's bound on the host and here, ${APPROX_CASES}+ cases`, () => {
    const forms = buildApproxForms();
    const st: ApproxStats = { lanes: 0, equal: 0, maxEmu: 0, maxHost: 0 };
    differential(forms, APPROX_CASES, randomApproxInput, (f, inp, emu, host, faulted) => compareApprox(forms[f]!, inp.fx, inp.mem, emu, host, faulted, st));
    console.log(`rcp/rsqrt: ${st.lanes} approximated lanes, ${st.equal} bit-equal to the host; max relative error emu ${(st.maxEmu * 4096).toFixed(3)}*2^-12, host ${(st.maxHost * 4096).toFixed(3)}*2^-12`);
    expect(st.lanes).toBeGreaterThan(APPROX_CASES);
    expect(st.maxEmu).toBeLessThanOrEqual(2 ** -12 * 1.0001);
  });
});

const HOST_VENDOR = /^vendor_id\s*:\s*(\S+)/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "unknown";

/**
 * XMM0-15 bit for bit, except that where a DPPS/DPPD lane is a NaN on both sides, either NaN is
 * right: the SDM's pseudo-code fixes which NaN its sums propagate (the vCPU follows it); an AMD
 * host propagates another one, sign included, and its APM does not say which. Every other lane,
 * every non-NaN result and MXCSR stay exact.
 */
function dotProductNaNsAgree(asm: string, emu: Uint8Array, host: Uint8Array): string[] {
  const double = asm.startsWith("dppd"), single = asm.startsWith("dpps");
  const e = Buffer.from(emu.buffer, emu.byteOffset, 512), h = Buffer.from(host.buffer, host.byteOffset, 512);
  const lane = double ? 8 : 4;
  const isNaN = (b: Buffer, at: number) => double
    ? (b.readUInt32LE(at + 4) & 0x7ff00000) === 0x7ff00000 && ((b.readUInt32LE(at + 4) & 0xfffff) | b.readUInt32LE(at)) !== 0
    : (b.readUInt32LE(at) & 0x7f800000) === 0x7f800000 && (b.readUInt32LE(at) & 0x7fffff) !== 0;
  for (let at = 160; at < 416; at += lane) {
    if (e.compare(h, at, at + lane, at, at + lane) === 0) continue;
    if ((double || single) && isNaN(e, at) && isNaN(h, at)) continue;
    return [`xmm emu ${hex(emu, 160, 416)} host ${hex(host, 160, 416)}`];
  }
  return [];
}

/** randomSseInput with every XMM and memory lane from sse-approx.ts's operand mix. */
function randomApproxInput(r: Rng): SseInput {
  const inp = randomSseInput(r);
  const fx = new DataView(inp.fx.buffer), mv = new DataView(inp.mem.buffer);
  for (let i = 0; i < 64; i++) fx.setUint32(160 + 4 * i, approxLane(r), true);
  for (let i = 0; i < 16; i++) mv.setUint32(4 * i, approxLane(r), true);
  return inp;
}

/** Every form against the host; `compareXmm`, when given, replaces the bit-exact XMM comparison. */
type XmmCompare = (form: number, input: SseInput, emuFx: Uint8Array, hostFx: Uint8Array, faulted: boolean) => string[];
function differential(forms: SseForm[], target: number, input: (r: Rng) => SseInput, compareXmm?: XmmCompare): void {
  const slots = assembleSlots(forms.map((f) => f.asm.split(" | ")), SLOT);
  expect(slots.length).toBe(forms.length * SLOT);
  const per = Math.max(8, Math.ceil(target / forms.length));
  const rng = new Rng(SEED);
  const cases: { form: number; input: SseInput }[] = [];
  for (let f = 0; f < forms.length; f++) for (let k = 0; k < per; k++) cases.push({ form: f, input: input(rng) });

  const out = runNative(slots, cases);
  const images = forms.map((f) => storedImageOffsets(f.asm));

  // ---- emulator ----
  const { v, g } = slotGuest(slots, CODE_AT, SLOT);
  const gdt = writeStandardGdt(g, GDT_AT);
  g.write(STUBS, new Uint8Array(32).fill(0xf4));
  for (let vec = 0; vec < 32; vec++) writeIdtGate(g, IDT_AT, vec, STUBS + vec);
  v.gdtrBase = gdt.base; v.gdtrLimit = gdt.limit;
  v.idtrBase = IDT_AT; v.idtrLimit = 32 * 16 - 1;
  v.cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_OSXSAVE;
  v.xcr0 = 3;
  const failures = new Map<number, string[]>();
  const emuFx = new Uint8Array(512);
  for (let k = 0; k < cases.length; k++) {
    const { form, input } = cases[k]!;
    loadCaseGprs(v, input, MEM_AT);
    loadFx(v, input.fx);
    g.write(MEM_AT, input.mem);
    v.rip = CODE_AT + form * SLOT;
    const x = v.run(64);
    const st = out.subarray(k * STATE, (k + 1) * STATE);
    const errs: string[] = [];
    let vector = NO_VECTOR;
    if (x.kind !== "hlt") errs.push(`exit ${x.kind}`);
    else if (x.rip >= STUBS && x.rip < STUBS + 32) vector = x.rip - STUBS;
    else if (x.rip !== CODE_AT + form * SLOT + slots[form * SLOT]!) errs.push(`stopped at ${x.rip.toString(16)}`);
    const nativeVector = Number(st.readBigUInt64LE(136));
    if (vector !== nativeVector) errs.push(`vector emu ${vector} host ${nativeVector}`);
    for (let i = 0; i < 15; i++) {
      if (i === 4) continue;
      const e = BigInt.asUintN(64, (BigInt(v.H[i]!) << 32n) | BigInt(v.R[i]! >>> 0));
      const n = st.readBigUInt64LE(i * 8);
      if (e !== n) errs.push(`reg${i} emu ${e.toString(16)} host ${n.toString(16)}`);
    }
    const ef = v.getFlags() & 0x8d5, nf = Number(st.readBigUInt64LE(128)) & 0x8d5;
    if (ef !== nf) errs.push(`flags emu ${ef.toString(16)} host ${nf.toString(16)}`);
    emuFx.set(input.fx);
    saveFx(v, emuFx);
    const nfx = st.subarray(FX_AT, FX_AT + 512);
    asHostWouldStore(hostFx, emuFx, nfx, 0, MXCSR_MASK);
    // At a fault the host's image comes from the kernel's signal frame, whose bytes 416..463 the
    // kernel's XSAVE does not write (stack contents): compared only without a fault.
    for (const [name, a, b] of [["x87 header", 0, 24], ["mxcsr", 24, 32], ["st", 32, 160], ["xmm", 160, 416], ["reserved", 416, nativeVector === NO_VECTOR ? 464 : 416]] as const) {
      if (name === "xmm" && compareXmm) { errs.push(...compareXmm(form, input, emuFx, nfx, nativeVector !== NO_VECTOR)); continue; }
      if (hex(emuFx, a, b) !== hex(nfx, a, b)) errs.push(`${name} emu ${hex(emuFx, a, b)} host ${hex(nfx, a, b)}`);
    }
    const em = g.read(MEM_AT, MEM_BYTES), nm = st.subarray(MEM_AT_STATE, MEM_AT_STATE + MEM_BYTES);
    for (const at of images[form]!) asHostWouldStore(hostFx, em, nm, at, MXCSR_MASK);
    if (Buffer.compare(Buffer.from(em), Buffer.from(nm)) !== 0) {
      const first = em.findIndex((b, i) => b !== nm[i]);
      errs.push(`memory differs from byte ${first}: emu ${hex(em, first, first + 16)} host ${hex(nm, first, first + 16)}`);
    }
    if (errs.length) {
      // XENLAB_DIFF_INPUTS=1 adds the input's MXCSR and XMM0-15 (for working out a mismatch).
      if (process.env.XENLAB_DIFF_INPUTS) errs.push(`input mxcsr ${hex(input.fx, 24, 28)} xmm ${hex(input.fx, 160, 416)} mem ${hex(input.mem, 0, 32)}`);
      const list = failures.get(form) ?? [];
      if (list.length < 2) list.push(errs.join("; ").slice(0, 900));
      failures.set(form, list);
    }
  }
  const report = [...failures.entries()].slice(0, 16).map(([f, l]) => `${forms[f]!.asm}:\n   ${l.join("\n   ")}`);
  if (failures.size) console.log(`${failures.size} failing forms:`, [...failures.keys()].map((f) => forms[f]!.asm).join(" | "));
  expect(cases.length).toBeGreaterThanOrEqual(target);
  expect(report.join("\n")).toBe("");
}
