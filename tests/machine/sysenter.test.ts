/**
 * SYSENTER/SYSEXIT in 32-bit protected mode (SDM Vol. 2B; what 32-bit Linux's vDSO uses for
 * system calls): the selectors come from IA32_SYSENTER_CS (CS, CS + 8 at CPL 0; CS + 16 | 3,
 * CS + 24 | 3 at CPL 3), the stacks and entry from the MSRs, ECX and EDX; with
 * IA32_SYSENTER_CS[15:2] = 0 both are #GP(0). The program's records must equal QEMU TCG's. (The IA-32e forms are in compat-mode.test.ts.)
 */
import { describe, expect, it } from "vitest";
import { qemuAvailable, runFirmware, runOnQemu } from "./realmode-helpers";
import { decodeRecords, pmFirmware, probe } from "./paging-helpers";

const image = pmFirmware(`
  PROBE 0x02, sysexit            ; IA32_SYSENTER_CS = 0: #GP(0)
  PROBE 0x05, sysenter           ; likewise
  mov ecx, 0x174
  mov eax, 0x08
  xor edx, edx
  wrmsr
  mov ecx, 0x175
  mov eax, 0x8800
  wrmsr
  mov ecx, 0x176
  mov eax, LIN(kentry)
  wrmsr
  pushfd
  or dword [esp], 0x3000         ; IOPL 3: the user side writes records too
  popfd
  mov edx, LIN(user)
  mov ecx, 0x7800
  sysexit
user:
  MARK 0x01
  mov ax, cs
  movzx eax, ax
  call out_val
  mov ax, ss
  movzx eax, ax
  call out_val
  VAL esp
  MARK 0x03
  sysenter
kentry:
  MARK 0x04
  mov ax, cs
  movzx eax, ax
  call out_val
  mov ax, ss
  movzx eax, ax
  call out_val
  VAL esp
  mov ecx, 0x176
  rdmsr
  call out_val
`);
const v = (x: number) => `V ${x.toString(16).padStart(8, "0")}`;

describe("SYSENTER/SYSEXIT in protected mode", () => {
  const ours = runFirmware(image);
  const lines = decodeRecords(ours.out);

  it("sysexit enters CPL 3 with CS = IA32_SYSENTER_CS + 16 | 3, SS = + 24 | 3, ESP = ECX", () => {
    expect(ours.end).toBe("exit-port");
    expect(probe(lines, 1)).toEqual([v(0x1b), v(0x23), v(0x7800)]);
  });
  it("sysexit and sysenter with IA32_SYSENTER_CS = 0 are #GP(0)", () => {
    for (const id of [2, 5]) expect(probe(lines, id).map((l) => l.replace(/ cr2=\w+ eip=\w+/, ""))).toEqual(["F 13 ec=00000000"]);
  });
  it("sysenter enters CPL 0 with CS = IA32_SYSENTER_CS, SS = CS + 8, ESP = IA32_SYSENTER_ESP", () => {
    expect(probe(lines, 4).slice(0, 3)).toEqual([v(0x08), v(0x10), v(0x8800)]);
    expect(ours.v.cpl).toBe(0);
    expect(ours.v.mode).toBe("protected32");
  });
  it.runIf(qemuAvailable())("QEMU's TCG writes the same records", () => {
    expect(lines).toEqual(decodeRecords(runOnQemu(image)));
  });
});
