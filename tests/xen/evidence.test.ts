/**
 * What a lesson's check reads is evidence the guest made, not state a cell can set: Xen's console,
 * the hypercall trace (with what console_io read from the guest), exit counts and the deliveries to
 * dom0's services are read-only views owned by the host.
 */
import { describe, expect, it } from "vitest";
import { domId } from "../../src/machine/types";
import { XenHost } from "../../src/xen/host";
import { runXl } from "../../src/xen/xl/xl";
import { labCode } from "./helpers";

const PRINT_AND_STOP = labCode(`
      mov edi, 0          ; CONSOLEIO_write
      mov esi, msg_len
      lea rdx, [rel msg]
      call HC(18)
      cpuid
      mov dword [rel reason], 0
      mov edi, 2          ; SCHEDOP_shutdown
      lea rsi, [rel reason]
      call HC(29)
      ud2
    msg: db "evidence", 10
    msg_len equ $ - msg
    reason: dd 0`);

describe("read-only evidence", () => {
  it("the trace keeps the caller's name and the text console_io read, frozen", () => {
    const host = new XenHost({ pcpus: 1, memoryMiB: 128 });
    host.createLabDomain("writer", PRINT_AND_STOP);
    host.run({ ns: 1_000_000 });
    const rec = host.traceRecords().find((r) => r.name === "console_io")!;
    expect(rec).toMatchObject({ dom: 1, domName: "writer", text: "evidence\n", result: 0n });
    expect(rec.args[1]).toBe(9n);
    expect(Object.isFrozen(rec) && Object.isFrozen(rec.args)).toBe(true);
    expect(() => { (host.traceRecords() as unknown[]).push(rec); }).toThrow(TypeError);
    expect(host.traceRecords().filter((r) => r.name === "console_io")).toHaveLength(1);
  });

  it("dmesg is a frozen copy: a pushed line does not reach Xen's console; clearDmesg empties it", () => {
    const host = new XenHost({ pcpus: 1, memoryMiB: 128 });
    host.createLabDomain("writer", PRINT_AND_STOP);
    host.run({ ns: 1_000_000 });
    expect(host.dmesg).toContain("(d1) evidence");
    expect(() => { (host.dmesg as string[]).push("(d1) forged"); }).toThrow(TypeError);
    expect(host.dmesg).not.toContain("(d1) forged");
    expect(runXl(host, ["dmesg", "-c"]).stdout).toContain("(d1) evidence");
    expect(host.dmesg).toEqual([]);
  });

  it("exit counts are counted by the host only; a copy set by a cell changes nothing", () => {
    const host = new XenHost({ pcpus: 1, memoryMiB: 128 });
    const d = host.createLabDomain("writer", PRINT_AND_STOP, { extra: 'on_poweroff = "preserve"' });
    host.run({ ns: 1_000_000 });
    expect(d.exitCounts.get("cpuid")).toBe(1);
    (d.exitCounts as Map<string, number>).set("cpuid", 100);
    expect(d.exitCounts.get("cpuid")).toBe(1);
  });

  it("a delivery to a dom0 service is logged with the sender; a send to an unbound port is not", () => {
    const host = new XenHost({ pcpus: 1, memoryMiB: 128 });
    const d = host.createLabDomain("front", Uint8Array.from([0xf4]), { paused: true });
    const bound = d.evtchn.alloc("unbound", { remoteDom: domId(0), label: "t" })!.port;
    const lonely = d.evtchn.alloc("unbound", { remoteDom: domId(0), label: "nobody" })!.port;
    let served = 0;
    const port = host.bindService(d, bound, "test backend", () => { served++; });
    expect(host.evtchnSend(d, bound)).toBe(0);
    host.evtchnSend(d, lonely);
    expect(served).toBe(1);
    expect(host.serviceDeliveries()).toEqual([expect.objectContaining({ fromDom: 1, fromName: "front", fromPort: bound, port, label: "test backend d1" })]);
    expect(Object.isFrozen(host.serviceDeliveries())).toBe(true);
  });
});
