/**
 * The credit scheduler in virtual time (xen/common/sched/credit.c semantics): CPU shared by
 * weight, caps, BOOST for waking vCPUs, pinning, and determinism.
 */
import { describe, expect, it } from "vitest";
import { XenHost } from "../../src/xen/host";
import { runXl } from "../../src/xen/xl/xl";
import { labCode } from "./helpers";

const SPIN = labCode("l: inc rax\n jmp l");
// Binds VIRQ_TIMER, then loops: set_timer_op(system_time + 1 ms), clear the event, SCHEDOP_block;
// counts wake-ups in r14. RSI = shared_info at entry (lab layout).
const SLEEPER = labCode(`
  mov r15, rsi
  mov edi, 1
  lea rsi, [rel bv]
  call HC(32)
again:
  mov byte [r15], 0
  mov qword [r15 + 8], 0
  mov qword [r15 + 2048], 0
  mov rdi, [r15 + 32 + 16]
  add rdi, 1000000
  call HC(15)
  mov edi, 1
  xor esi, esi
  call HC(29)
  inc r14
  jmp again
bv: dd 0, 0, 0`);

const small = () => new XenHost({ pcpus: 1, memoryMiB: 256, cpuMHz: 10, quantumNs: 1_000_000 });

describe("credit scheduler", () => {
  it("shares one pCPU by weight (256 : 512 → 1 : 2)", () => {
    const host = small();
    const a = host.createLabDomain("a", SPIN, { extra: "cpu_weight = 256" });
    const b = host.createLabDomain("b", SPIN, { extra: "cpu_weight = 512" });
    host.run({ ns: 3e9 });
    const ratio = b.cpuTime() / a.cpuTime();
    expect(ratio).toBeGreaterThan(1.8);
    expect(ratio).toBeLessThan(2.2);
    expect(a.cpuTime() + b.cpuTime()).toBeCloseTo(3e9, -8);
  });

  // xl.cfg(5) cap: "the maximum amount of CPU a domain will be able to consume, even if the host
  // system has idle CPU cycles ... expressed in percentage of one physical CPU: 100 is 1 physical
  // CPU, 50 is half a CPU". credit.c runs a vCPU for whole 30 ms time slices and parks it once its
  // credit is spent, so over T the domain gets cap% of T to within one time slice.
  const TSLICE_NS = 30e6;

  it("caps a domain at exactly cap% of one pCPU, to within one 30 ms slice, even when the pCPU is otherwise idle", () => {
    for (const cap of [10, 25, 50, 75]) {
      const host = small();
      const a = host.createLabDomain("a", SPIN, { extra: `cap = ${cap}` });
      host.run({ ns: 3e9 });
      expect(Math.abs(a.cpuTime() - (cap / 100) * 3e9), `cap = ${cap}`).toBeLessThanOrEqual(TSLICE_NS);
    }
  });

  it("a capped domain gets its cap and an uncapped one beside it gets the rest of the pCPU", () => {
    const host = small();
    const capped = host.createLabDomain("capped", SPIN, { extra: "cap = 25" });
    const free = host.createLabDomain("free", SPIN);
    host.run({ ns: 3e9 });
    // Equal weights would give each 50 %; the cap clips one to 25 % and the pCPU never idles.
    expect(Math.abs(capped.cpuTime() - 0.25 * 3e9)).toBeLessThanOrEqual(TSLICE_NS);
    expect(capped.cpuTime() + free.cpuTime()).toBeCloseTo(3e9, -6);
  });

  it("a waking vCPU gets BOOST and preempts a spinner: ~1 ms timer wake-ups keep their rate", () => {
    const host = small();
    host.createLabDomain("spin", SPIN);
    const s = host.createLabDomain("sleeper", SLEEPER);
    host.run({ ns: 1e9 });
    const wakeups = Number(s.vcpus[0]!.cpu!.getReg("r14"));
    expect(wakeups).toBeGreaterThan(700); // without BOOST it would wait for 30 ms slices (~33)
    expect(s.cpuTime()).toBeLessThan(0.2e9);
  });

  it("vcpu-pin keeps a vCPU on its pCPUs; unpinned work spreads over idle pCPUs", () => {
    const host = new XenHost({ pcpus: 4, memoryMiB: 256, cpuMHz: 10, quantumNs: 1_000_000 });
    const a = host.createLabDomain("a", SPIN, { extra: 'cpus = "2"' });
    const b = host.createLabDomain("b", SPIN);
    host.run({ ns: 100e6 });
    expect(a.vcpus[0]!.pcpu).toBe(2);
    expect(b.vcpus[0]!.pcpu).not.toBe(2);
    expect(runXl(host, ["vcpu-pin", "b", "0", "3"]).exitCode).toBe(0);
    host.run({ ns: 100e6 });
    expect(b.vcpus[0]!.pcpu).toBe(3);
    expect(a.cpuTime()).toBeCloseTo(200e6, -7);
  });

  it("is deterministic: the same calls give the same CPU times and hypercall trace", () => {
    const once = () => {
      const host = small();
      host.createLabDomain("spin", SPIN, { extra: "cpu_weight = 300" });
      host.createLabDomain("sleeper", SLEEPER);
      host.run({ ns: 200e6 });
      return JSON.stringify({ t: [...host.domains.values()].map((d) => d.cpuTime()), trace: host.traceRecords().map((r) => `${r.t}:${r.dom}:${r.name}:${r.result}`) });
    };
    expect(once()).toBe(once());
  });

  it("an idle host costs nothing: time jumps to the next timer", () => {
    const host = small();
    host.createLabDomain("sleeper", SLEEPER);
    const t0 = Date.now();
    const r = host.run({ ns: 10e9 });
    expect(r.endNs).toBe(10e9);
    expect(r.instructions).toBeLessThan(10_000 * 40);
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});

describe("SCHEDOP_poll", () => {
  it("sleeps until one of its ports is pending or the timeout passes", () => {
    const host = new XenHost({ pcpus: 1, memoryMiB: 128 });
    // alloc_unbound(SELF, remote 0) → port; poll([port], 1 timeout = system_time + 1 ms); r14 = 1.
    const d = host.createLabDomain("poller", labCode(`
      mov r15, rsi
      mov word [rel au], 0x7ff0
      mov edi, 6
      lea rsi, [rel au]
      call HC(32)
      mov eax, [rel au + 4]
      mov [rel ports], eax
      lea rax, [rel ports]
      mov [rel spoll], rax
      mov dword [rel spoll + 8], 1
      mov rax, [r15 + 32 + 16]
      add rax, 1000000
      mov [rel spoll + 16], rax
      mov edi, 3
      lea rsi, [rel spoll]
      call HC(29)
      mov r14, 1
      cli
      hlt
    align 8
    au: dd 0, 0
    ports: dd 0
    align 8
    spoll: dq 0, 0, 0`), { extra: 'on_poweroff = "preserve"' });
    host.run({ ns: 500_000 });
    const v = d.vcpus[0]!;
    expect(v.runstate).toBe("blocked");
    expect(v.blockedOn).toBe("poll");
    expect(v.pollPorts.length).toBe(1);
    host.run({ ns: 1_000_000 });
    expect(v.cpu!.getReg("r14")).toBe(1n);
    expect(d.shutdownReason).toBe("poweroff");
  });
});
