import { describe, expect, it } from "vitest";
import { XenHost } from "../../src/xen/host";
import { labCode } from "./helpers";

describe("lab domain smoke", () => {
  it("console_io through the hypercall page, then SCHEDOP_shutdown(poweroff)", () => {
    const host = new XenHost({ pcpus: 2, memoryMiB: 256 });
    const code = labCode(`
      mov edi, 0          ; CONSOLEIO_write
      mov esi, msg_len
      lea rdx, [rel msg]
      call HC(18)
      mov [rel res], rax
      mov dword [rel reason], 0
      mov edi, 2          ; SCHEDOP_shutdown
      lea rsi, [rel reason]
      call HC(29)
      ud2
    msg: db "hello from d1", 10
    msg_len equ $ - msg
    reason: dd 0
    res: dq 0`);
    const d = host.createLabDomain("smoke", code);
    expect(d.domid).toBe(1);
    const r = host.run({ ns: 1_000_000 });
    expect(host.dmesg).toContain("(d1) hello from d1");
    expect(host.findDomain("smoke")).toBeUndefined(); // on_poweroff=destroy
    expect(r.instructions).toBeGreaterThan(5);
  });
});
