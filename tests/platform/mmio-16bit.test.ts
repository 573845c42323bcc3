/**
 * MMIO from 16-bit code: a device register touched by real-mode code (firmware, Linux's real-mode
 * setup) is completed by decoding the instruction as 16-bit code fetched at CS.base + IP, so
 * operand sizes follow the 16-bit defaults (0x66 makes them 32-bit) and the next IP is the
 * instruction's own length. The oracle is the vCPU itself with the same page backed by RAM (its
 * real mode is checked against QEMU in tests/machine/realmode.test.ts): both runs must end with the
 * same registers, and the device must hold the bytes RAM holds.
 */
import { describe, expect, it } from "vitest";
import { DeviceBus, PlatformVcpu, vcpuId } from "../../src/platform";
import { Machine, Vcpu, domId, gfn, gpa } from "../../src/machine";
import { nasm } from "../machine/helpers";

const WINDOW = 0xb8000; // one frame, RAM in one run and a device in the other
const CODE_CS = 0xf000, CODE_IP = 0x100; // linear 0xF0100: a based CS, as firmware runs

const PROGRAM = `
  mov ax, 0xb800
  mov ds, ax
  mov ax, 0x7000
  mov ss, ax
  mov sp, 0x1000
  mov word [0x10], 0x1234        ; a 16-bit immediate store
  mov ax, 0xbeef
  mov [0x12], ax                 ; a 16-bit register store
  mov eax, 0xcafebabe
  mov [0x14], eax                ; 0x66: a 32-bit store in 16-bit code
  mov byte [0x18], 0x80
  mov bx, [0x10]                 ; 16-bit load
  movzx ecx, byte [0x13]
  movsx dx, byte [0x18]
  mov si, 0x5555
  xchg si, [0x12]                ; the register gets the old value, the device the register's
  mov di, 0x20
  mov [di], al                   ; [di]: 16-bit addressing
  mov bp, 0x30
  mov [ds:bp+2], ax              ; [bp+disp] with a DS override
  mov ebx, 0x20
  mov [ebx*2+0x4], ax            ; 0x67: 32-bit addressing in real mode
  mov ebp, [0x14]
  hlt
`;

interface Run { regs: Record<string, bigint>; window: Uint8Array; accesses: string[] }

function run(mmio: boolean): Run {
  const m = new Machine(16);
  const dom = domId(1);
  const frame = WINDOW >> 12;
  if (mmio) { m.populate(dom, gfn(0), frame); m.populate(dom, gfn(frame + 1), 2048 - frame - 1); } else m.populate(dom, gfn(0), 2048);
  m.guest(dom).write(CODE_CS * 16 + CODE_IP, nasm(PROGRAM, 16, CODE_IP));
  const cpu = new Vcpu(m, dom, 0, { mode: "real16", cs: CODE_CS, rip: CODE_IP });
  const regsOf = new Uint8Array(4096);
  const accesses: string[] = [];
  const bus = new DeviceBus();
  bus.add({
    name: "window", mmio: [{ base: gpa(WINDOW), size: 4096 }],
    mmioRead: (_v, g, n) => { accesses.push(`r${n}@${(g - WINDOW).toString(16)}`); let x = 0n; for (let i = n - 1; i >= 0; i--) x = (x << 8n) | BigInt(regsOf[g - WINDOW + i]!); return x; },
    mmioWrite: (_v, g, n, val) => { accesses.push(`w${n}@${(g - WINDOW).toString(16)}=${val.toString(16)}`); for (let i = 0; i < n; i++) regsOf[g - WINDOW + i] = Number((val >> BigInt(8 * i)) & 0xffn); },
  });
  const pv: PlatformVcpu = { key: "t", index: vcpuId(0), cpu, inject: (vec) => cpu.injectInterrupt(vec) };
  for (let guard = 0; guard < 100; guard++) {
    const x = cpu.run(10_000);
    if (x.kind === "hlt") break;
    if (x.kind !== "gpa-fault") throw new Error(`unexpected exit ${x.kind}: ${JSON.stringify(x)}`);
    expect(bus.handle(pv, x)).toBe("handled");
  }
  const regs: Record<string, bigint> = {};
  for (const r of ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "rip", "rflags"] as const) regs[r] = cpu.getReg(r);
  return { regs, window: mmio ? regsOf : m.guest(dom).read(WINDOW, 4096), accesses };
}

describe("MMIO completed from 16-bit code", () => {
  it("real-mode accesses to a device window leave what the same code leaves with RAM there", () => {
    const ram = run(false), dev = run(true);
    expect(dev.regs).toEqual(ram.regs);
    expect(Buffer.from(dev.window).equals(Buffer.from(ram.window))).toBe(true);
    // The device saw each access at its 16-bit code's size (0x66 → 4 bytes), in program order.
    expect(dev.accesses).toEqual([
      "w2@10=1234", "w2@12=beef", "w4@14=cafebabe", "w1@18=80",
      "r2@10", "r1@13", "r1@18", "r2@12", "w2@12=5555",
      "w1@20=be", "w2@32=babe", "w2@44=babe", "r4@14",
    ]);
    expect(ram.regs.rbx).toBe(0x20n);
    expect(ram.regs.rcx).toBe(0xben);
    expect(ram.regs.rdx & 0xffffn).toBe(0xff80n);
    expect(ram.regs.rsi & 0xffffn).toBe(0xbeefn);
    expect(ram.regs.rbp).toBe(0xcafebaben);
  });
});
