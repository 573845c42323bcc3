/** Console input through the ring, and Jupyter interrupts stopping long runs cleanly. */
import { afterEach, describe, expect, it } from "vitest";
import { XenHost } from "../../src/xen/host";
import { CONSOLE_PFN } from "../../src/xen/builder";
import { KeyboardInterrupt, setInterruptSource } from "../../src/interrupt";
import { labCode } from "./helpers";

afterEach(() => setInterruptSource(() => false));

describe("PV console input", () => {
  it("typed input lands in the in[] ring, the guest is woken by the console event and echoes it", () => {
    const host = new XenHost({ pcpus: 1, memoryMiB: 128 });
    const page = CONSOLE_PFN * 4096;
    // Echo loop: drain in[in_cons..in_prod) to console_io one byte at a time, else block.
    const d = host.createLabDomain("echo", labCode(`
      mov r15, rsi
      mov rbx, ${page}               ; the console page (above 2 GiB: no 32-bit displacement)
    again:
      mov eax, [rbx + 3072]          ; in_cons
      cmp eax, [rbx + 3076]          ; in_prod
      je sleep
      and eax, 1023
      movzx ecx, byte [rbx + rax]
      mov [rel chr], cl
      inc dword [rbx + 3072]
      xor edi, edi
      mov esi, 1
      lea rdx, [rel chr]
      call HC(18)
      jmp again
    sleep:
      mov byte [r15], 0
      mov qword [r15 + 8], 0
      mov qword [r15 + 2048], 0
      mov edi, 1
      xor esi, esi
      call HC(29)
      jmp again
    chr: db 0`));
    host.run({ ns: 1e6 });
    expect(d.vcpus[0]!.runstate).toBe("blocked");
    expect(host.consoleInput(d, "hello xen\n")).toBe(10);
    host.run({ ns: 1e6 });
    expect(host.dmesg).toContain("(d1) hello xen");
    expect(d.vcpus[0]!.runstate).toBe("blocked");
  });
});

describe("interrupts", () => {
  it("a Jupyter interrupt stops host.run between slices; the host stays consistent and runs again", () => {
    const host = new XenHost({ pcpus: 2, memoryMiB: 128 });
    const d = host.createLabDomain("spin", labCode("l: inc rax\n jmp l"));
    const t0 = Date.now();
    setInterruptSource(() => Date.now() - t0 > 150);
    expect(() => host.run({ ns: 1e12 })).toThrow(KeyboardInterrupt);
    const took = Date.now() - t0;
    expect(took).toBeLessThan(150 + 100 + 200); // interrupt checked every ~20 ms of wall time
    setInterruptSource(() => false);
    const now = host.now, rax = d.vcpus[0]!.cpu!.getReg("rax");
    expect(host.now % host.quantumNs).toBe(0); // stopped on a quantum boundary
    const r = host.run({ ns: 1e6 });
    expect(r.endNs).toBe(now + 1e6);
    expect(d.vcpus[0]!.cpu!.getReg("rax")).toBeGreaterThan(rax);
  });
});
