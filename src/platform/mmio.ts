/**
 * Completing an access to emulated MMIO (Xen's hvmemul for a guest touching a page the P2M does
 * not back, Hyper-V's instruction emulator for the same). The machine reports the access as a
 * gpa-fault exit without retiring the instruction; this decodes it and, for the forms drivers
 * use on device registers (MOV load/store of a register or immediate, MOVZX/MOVSX loads, XCHG),
 * reads or writes the device and retires the instruction. Any other form is refused by name, so a
 * guest doing something new shows what it did instead of getting a wrong value.
 */
import * as iced from "iced-x86";
import type { Gpa, Vcpu } from "../machine";
import { REGS } from "../machine/operands";

const GPRS = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"] as const;
const { Code, OpKind, Mnemonic } = iced;

export interface MmioTarget {
  read(gpa: Gpa, size: number): bigint;
  write(gpa: Gpa, size: number, value: bigint): void;
}

export class MmioEmulationError extends Error {}

const mask = (size: number) => (1n << BigInt(size * 8)) - 1n;

function readReg(cpu: Vcpu, reg: number): { value: bigint; size: number } {
  const info = REGS.get(reg);
  if (!info) throw new MmioEmulationError(`register operand ${reg} is not a general-purpose register`);
  const full = cpu.getReg(GPRS[info.r]!);
  return { value: (info.h ? full >> 8n : full) & mask(info.s), size: info.s };
}

/** Writes a GPR with x86's rules: 32-bit writes zero the upper half, 8/16-bit merge. */
function writeReg(cpu: Vcpu, reg: number, value: bigint): void {
  const info = REGS.get(reg);
  if (!info) throw new MmioEmulationError(`register operand ${reg} is not a general-purpose register`);
  const name = GPRS[info.r]!;
  const v = value & mask(info.s);
  if (info.s >= 4) { cpu.setReg(name, v); return; }
  const old = cpu.getReg(name);
  const shift = info.h ? 8n : 0n;
  cpu.setReg(name, (old & ~(mask(info.s) << shift)) | (v << shift));
}

const signExtend = (v: bigint, from: number) => BigInt.asIntN(from * 8, v);

/** Code size of each mode: real mode and 16-bit protected-mode segments decode as 16-bit code. */
const BITNESS = { long64: 64, protected32: 32, protected16: 16, real16: 16 } as const;

/**
 * The instruction at RIP, decoded at the vCPU's code size. Outside 64-bit mode RIP is an offset
 * in CS: the bytes are fetched at CS.base + IP (a real-mode CS of F000 puts IP 0x1234 at
 * 0xF1234), and the decoder's IP stays the offset, so nextIP is the next offset (wrapping at 64
 * KiB in 16-bit code, as IP does).
 */
function decodeAt(cpu: Vcpu): iced.Instruction {
  const rip = cpu.getReg("rip");
  const bytes = cpu.readVirt(cpu.mode === "long64" ? rip : cpu.linearIp(Number(rip)), 15);
  const dec = new iced.Decoder(BITNESS[cpu.mode], bytes, iced.DecoderOptions.None);
  dec.ip = rip;
  const ins = dec.decode();
  dec.free();
  return ins;
}

/**
 * Emulates the instruction at RIP whose memory operand is device MMIO at `gpa`, then retires it.
 * Throws MmioEmulationError naming the instruction for a form it does not emulate.
 */
export function emulateMmio(cpu: Vcpu, gpa: Gpa, dev: MmioTarget): void {
  const ins = decodeAt(cpu);
  try {
    const memOp = [0, 1].find((n) => n < ins.opCount && ins.opKind(n) === OpKind.Memory);
    if (memOp === undefined || ins.hasRepPrefix || ins.hasRepnePrefix || ins.hasLockPrefix) throw new MmioEmulationError(`${describe(ins)} cannot be emulated on MMIO`);
    const size = iced.MemorySizeExt.size(ins.memorySize);
    if (!(size === 1 || size === 2 || size === 4 || size === 8)) throw new MmioEmulationError(`${describe(ins)}: a ${size}-byte MMIO access`);
    switch (ins.mnemonic) {
      case Mnemonic.Mov: {
        if (memOp === 0) {
          const k = ins.opKind(1);
          const value = k === OpKind.Register ? readReg(cpu, ins.op1Register).value : BigInt.asUintN(64, ins.immediate(1)) & mask(size);
          dev.write(gpa, size, value);
        } else {
          writeReg(cpu, ins.op0Register, dev.read(gpa, size));
        }
        break;
      }
      case Mnemonic.Movzx:
        writeReg(cpu, ins.op0Register, dev.read(gpa, size));
        break;
      case Mnemonic.Movsx: case Mnemonic.Movsxd:
        writeReg(cpu, ins.op0Register, BigInt.asUintN(64, signExtend(dev.read(gpa, size), size)));
        break;
      case Mnemonic.Xchg: {
        // xchg with memory: the register gets the old value, the device the register's.
        const reg = memOp === 0 ? ins.op1Register : ins.op0Register;
        const old = dev.read(gpa, size);
        dev.write(gpa, size, readReg(cpu, reg).value);
        writeReg(cpu, reg, old);
        break;
      }
      default:
        throw new MmioEmulationError(`${describe(ins)} cannot be emulated on MMIO`);
    }
    if (ins.code === Code.INVALID) throw new MmioEmulationError("invalid instruction");
    cpu.setReg("rip", ins.nextIP);
    cpu.icount++;
  } finally {
    ins.free();
  }
}

function describe(ins: iced.Instruction): string {
  const f = new iced.Formatter(iced.FormatterSyntax.Nasm);
  const t = f.format(ins);
  f.free();
  return `"${t}"`;
}
