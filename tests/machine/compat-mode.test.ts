/**
 * Compatibility mode under long mode (SDM Vol. 3A §5.8.8 and §6.14; Vol. 2A CALL, RET, IRET):
 * tests/machine/programs/compat.asm far-calls, far-returns and far-jumps between 64-bit and
 * 32-bit code segments, takes an interrupt and page faults in compatibility mode at CPL 0 and 3,
 * executes iretd there, and goes through SYSENTER/SYSEXIT (both forms). Its records must equal QEMU TCG's for the same image, and each
 * probe's frame and stack are written out below from the SDM's rules.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { qemuAvailable, runFirmware, runOnQemu } from "./realmode-helpers";
import { decodeRecords, firmwareImage, probe } from "./paging-helpers";

const image = firmwareImage(readFileSync(join(__dirname, "programs", "compat.asm"), "utf8"));
const v = (x: number) => `V ${x.toString(16).padStart(8, "0")}`;
const q = (x: number) => `Q ${x.toString(16).padStart(16, "0")}`;
/** An address in the image (F0000-FFFFF): a return address or the RIP of a frame. */
const ROM_V = /^V 000f[0-9a-f]{4}$/, ROM_Q = /^Q 00000000000f[0-9a-f]{4}$/;
const CODE32 = 0x08, DATA = 0x10, CODE64 = 0x18, UCODE32 = 0x23, UDATA = 0x2b;

const SDM_EXPECTED: [number, (string | RegExp)[], string][] = [
  [0x01, [v(0x9000 - 8), ROM_V, v(CODE64), q(0x9000)], "64-bit far call with a 32-bit operand (m16:32) pushes CS and EIP as 4 bytes each; retf in compatibility mode returns to 64-bit code"],
  [0x0a, [q(0x9000 - 16), ROM_Q, q(CODE64), q(0x9000)], "the REX.W far call (m16:64) pushes 8-byte CS and RIP; retfq pops them"],
  [0x02, [], "a far jump (m16:32) from 64-bit code into a 32-bit code segment"],
  [0x03, [ROM_V, v(CODE32), q(0x9000 - 8), v(0x9000)], "a direct far call (ptr16:32) from compatibility mode to 64-bit code; its 32-bit retf comes back"],
  [0x04, [q(0x8ff0 - 40), ROM_Q, q(CODE32), q(0x16), q(0x8ffc), q(DATA), v(0x8ffc)],
    "an interrupt in compatibility mode: 64-bit gate and frame (RIP, CS, RFLAGS, RSP, SS), RSP aligned down to 16 first (§6.14.2); iretq restores ESP"],
  [0x05, [/^F 14 ec=00000000 cr2=00200010 eip=000f[0-9a-f]{4}$/, v(0x9000)], "#PF in compatibility mode through the 64-bit IDT, CR2 the 32-bit address"],
  [0x0b, [/^F 14 ec=0000000b cr2=00600010 eip=000f[0-9a-f]{4}$/], "a 4-level PDE with bit 40 (above MAXPHYADDR) set: P|W|RSVD"],
  [0x06, [v(0x9000), q(0x9000), q(0x9000)], "iretd in compatibility mode to the same level pops EIP, CS, EFLAGS only, to 32-bit and to 64-bit code"],
  [0x07, [], "iretq to CPL 3, 32-bit code"],
  [0x08, [/^F 14 ec=00000004 cr2=00200010 eip=000f[0-9a-f]{4}$/, v(0x7000)], "#PF at CPL 3 in compatibility mode: U/S=1; the stack switch and back"],
  [0x09, [q(0x8800 - 40), ROM_Q, q(UCODE32), q(0x3046), q(0x7000), q(UDATA)], "int from CPL 3 compatibility code: RSP from TSS.RSP0, the user SS:RSP and IOPL 3 in the frame"],
  [0x10, [/^F 13 ec=00000000 cr2=00200010 eip=000f[0-9a-f]{4}$/, ROM_V], "sysenter with IA32_SYSENTER_CS = 0 is #GP(0); IA32_SYSENTER_EIP reads back"],
  [0x11, [v(CODE64 | 3), v(0x20 | 3), v(0x6800)], "sysexit (32-bit): CS = IA32_SYSENTER_CS + 16 | 3, SS = CS + 8, ESP = ECX, in compatibility mode"],
  [0x12, [v(CODE32), v(DATA), q(0x8400)], "sysenter from compatibility mode: CS = IA32_SYSENTER_CS (a 64-bit cache in IA-32e mode), SS = CS + 8, RSP = IA32_SYSENTER_ESP"],
  [0x13, [v(UDATA), v(0x30 | 3), q(0x6000)], "sysexitq: CS = IA32_SYSENTER_CS + 32 | 3 in 64-bit mode, SS = CS + 8, RSP = RCX"],
  [0x0f, [], "(end)"],
];

describe("compatibility mode", () => {
  const ours = runFirmware(image);
  const lines = decodeRecords(ours.out);

  it("runs to the exit port in 64-bit mode", () => {
    expect(ours.end).toBe("exit-port");
    expect(ours.v.mode).toBe("long64");
  });

  for (const [id, want, what] of SDM_EXPECTED) {
    it(`probe 0x${id.toString(16)}: ${what}`, () => {
      const got = probe(lines, id);
      expect(got.length, got.join(" | ")).toBe(want.length);
      want.forEach((w, k) => (typeof w === "string" ? expect(got[k]).toBe(w) : expect(got[k]).toMatch(w)));
    });
  }

  it("every probe has an expectation here", () => {
    expect(lines.filter((l) => l.startsWith("M ")).map((l) => parseInt(l.slice(2), 16))).toEqual(SDM_EXPECTED.map(([id]) => id));
  });

  it.runIf(qemuAvailable())("QEMU's TCG writes the same records (but for P in the reserved-bit error code, which QEMU 7.2 omits)", () => {
    // The vCPU is an Intel model: SYSENTER/SYSEXIT work in IA-32e mode (AMD's #UD them there).
    const qemu = decodeRecords(runOnQemu(image, "qemu64,vendor=GenuineIntel"));
    // SDM Vol. 3A §4.7: "bit 3 of the error code can be set only if bit 0 is also set".
    const fixed = qemu.map((l) => l.replace(/^F 14 ec=(\w+)/, (m, ec: string) => (parseInt(ec, 16) & 8 ? `F 14 ec=${(parseInt(ec, 16) | 1).toString(16).padStart(8, "0")}` : m)));
    expect(qemu.filter((l, k) => l !== fixed[k])).toHaveLength(1); // probe 0x0b
    expect(lines).toEqual(fixed);
  });
});
