/**
 * The TLFS surface driven like a guest and a root would: hypercall input validation, privilege
 * masks, partition management from the root, MSRs, SynIC slot semantics, timers, the reference TSC
 * page. Constants were transcribed from Linux's include/hyperv/hvgdk_mini.h (torvalds/linux at
 * 0bd921a4) into the table below, independently of src/hyperv/tlfs.ts.
 */
import { gfn } from "../../src/machine/types";
import { describe, expect, it } from "vitest";
import {
  HypervHost, HV_STATUS, HVCALL, HV_MSR, HV_PRIV, CHILD_PRIVILEGES, ROOT_PRIVILEGES, HV_REG, encodeInput, decodeResult, decodeInput,
  HV_MESSAGE_SIZE, HVMSG, REPS_PER_ENTRY,
} from "../../src/hyperv";
import { nasm, ENABLE_HYPERCALLS } from "./helpers";
import { partitionId } from "../../src/hyperv/ids";

const u64s = (...v: (bigint | number)[]) => { const b = new Uint8Array(v.length * 8); const d = new DataView(b.buffer); v.forEach((x, i) => d.setBigUint64(i * 8, BigInt(x), true)); return b; };

describe("constants (transcribed from hvgdk_mini.h)", () => {
  it("MSRs, call codes, statuses and privilege bits match Linux's header", () => {
    const linux = {
      HV_X64_MSR_GUEST_OS_ID: 0x40000000, HV_X64_MSR_HYPERCALL: 0x40000001, HV_X64_MSR_VP_INDEX: 0x40000002,
      HV_X64_MSR_TIME_REF_COUNT: 0x40000020, HV_X64_MSR_REFERENCE_TSC: 0x40000021, HV_X64_MSR_SCONTROL: 0x40000080,
      HV_X64_MSR_SVERSION: 0x40000081, HV_X64_MSR_SIEFP: 0x40000082, HV_X64_MSR_SIMP: 0x40000083, HV_X64_MSR_EOM: 0x40000084,
      HV_X64_MSR_SINT0: 0x40000090, HV_X64_MSR_SINT15: 0x4000009f, HV_X64_MSR_STIMER0_CONFIG: 0x400000b0,
      HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE: 0x0002, HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST: 0x0003, HVCALL_NOTIFY_LONG_SPIN_WAIT: 0x0008,
      HVCALL_CREATE_PARTITION: 0x0040, HVCALL_INITIALIZE_PARTITION: 0x0041, HVCALL_DELETE_PARTITION: 0x0043,
      HVCALL_GET_PARTITION_ID: 0x0046, HVCALL_DEPOSIT_MEMORY: 0x0048, HVCALL_MAP_GPA_PAGES: 0x004b, HVCALL_CREATE_VP: 0x004e,
      HVCALL_GET_VP_REGISTERS: 0x0050, HVCALL_SET_VP_REGISTERS: 0x0051, HVCALL_POST_MESSAGE: 0x005c, HVCALL_SIGNAL_EVENT: 0x005d,
      HV_STATUS_INVALID_HYPERCALL_CODE: 2, HV_STATUS_INVALID_HYPERCALL_INPUT: 3, HV_STATUS_INVALID_ALIGNMENT: 4,
      HV_STATUS_ACCESS_DENIED: 6, HV_STATUS_INSUFFICIENT_MEMORY: 0xb, HV_STATUS_INVALID_CONNECTION_ID: 0x12,
      HV_CREATE_PARTITIONS: 1n << 32n, HV_POST_MESSAGES: 1n << 36n, HV_SIGNAL_EVENTS: 1n << 37n, HV_MSR_SYNIC_AVAILABLE: 1n << 2n,
      HV_MSR_HYPERCALL_AVAILABLE: 1n << 5n, HV_MSR_REFERENCE_TSC_AVAILABLE: 1n << 9n, HV_CPU_MANAGEMENT: 1n << 44n,
    };
    expect([HV_MSR.GUEST_OS_ID, HV_MSR.HYPERCALL, HV_MSR.VP_INDEX, HV_MSR.TIME_REF_COUNT, HV_MSR.REFERENCE_TSC, HV_MSR.SCONTROL, HV_MSR.SVERSION, HV_MSR.SIEFP, HV_MSR.SIMP, HV_MSR.EOM, HV_MSR.SINT0, HV_MSR.SINT15, HV_MSR.STIMER0_CONFIG])
      .toEqual([linux.HV_X64_MSR_GUEST_OS_ID, linux.HV_X64_MSR_HYPERCALL, linux.HV_X64_MSR_VP_INDEX, linux.HV_X64_MSR_TIME_REF_COUNT, linux.HV_X64_MSR_REFERENCE_TSC, linux.HV_X64_MSR_SCONTROL, linux.HV_X64_MSR_SVERSION, linux.HV_X64_MSR_SIEFP, linux.HV_X64_MSR_SIMP, linux.HV_X64_MSR_EOM, linux.HV_X64_MSR_SINT0, linux.HV_X64_MSR_SINT15, linux.HV_X64_MSR_STIMER0_CONFIG]);
    expect([HVCALL.FLUSH_VIRTUAL_ADDRESS_SPACE, HVCALL.FLUSH_VIRTUAL_ADDRESS_LIST, HVCALL.NOTIFY_LONG_SPIN_WAIT, HVCALL.CREATE_PARTITION, HVCALL.INITIALIZE_PARTITION, HVCALL.DELETE_PARTITION, HVCALL.GET_PARTITION_ID, HVCALL.DEPOSIT_MEMORY, HVCALL.MAP_GPA_PAGES, HVCALL.CREATE_VP, HVCALL.GET_VP_REGISTERS, HVCALL.SET_VP_REGISTERS, HVCALL.POST_MESSAGE, HVCALL.SIGNAL_EVENT])
      .toEqual([linux.HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE, linux.HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST, linux.HVCALL_NOTIFY_LONG_SPIN_WAIT, linux.HVCALL_CREATE_PARTITION, linux.HVCALL_INITIALIZE_PARTITION, linux.HVCALL_DELETE_PARTITION, linux.HVCALL_GET_PARTITION_ID, linux.HVCALL_DEPOSIT_MEMORY, linux.HVCALL_MAP_GPA_PAGES, linux.HVCALL_CREATE_VP, linux.HVCALL_GET_VP_REGISTERS, linux.HVCALL_SET_VP_REGISTERS, linux.HVCALL_POST_MESSAGE, linux.HVCALL_SIGNAL_EVENT]);
    expect([HV_STATUS.INVALID_HYPERCALL_CODE, HV_STATUS.INVALID_HYPERCALL_INPUT, HV_STATUS.INVALID_ALIGNMENT, HV_STATUS.ACCESS_DENIED, HV_STATUS.INSUFFICIENT_MEMORY, HV_STATUS.INVALID_CONNECTION_ID])
      .toEqual([linux.HV_STATUS_INVALID_HYPERCALL_CODE, linux.HV_STATUS_INVALID_HYPERCALL_INPUT, linux.HV_STATUS_INVALID_ALIGNMENT, linux.HV_STATUS_ACCESS_DENIED, linux.HV_STATUS_INSUFFICIENT_MEMORY, linux.HV_STATUS_INVALID_CONNECTION_ID]);
    expect([HV_PRIV.CreatePartitions, HV_PRIV.PostMessages, HV_PRIV.SignalEvents, HV_PRIV.SynicAccess, HV_PRIV.HypercallAccess, HV_PRIV.ReferenceTscAccess, HV_PRIV.CpuManagement])
      .toEqual([linux.HV_CREATE_PARTITIONS, linux.HV_POST_MESSAGES, linux.HV_SIGNAL_EVENTS, linux.HV_MSR_SYNIC_AVAILABLE, linux.HV_MSR_HYPERCALL_AVAILABLE, linux.HV_MSR_REFERENCE_TSC_AVAILABLE, linux.HV_CPU_MANAGEMENT]);
  });

  it("the input value packs like KVM's decoder reads it (kvm_hv_hypercall: code 15:0, fast 16, reps 43:32, start 59:48)", () => {
    const v = encodeInput({ code: 0x5c, fast: true, repCount: 0x123, repStart: 0x45 });
    expect(Number(v & 0xffffn)).toBe(0x5c);
    expect((v >> 16n) & 1n).toBe(1n);
    expect(Number((v >> 32n) & 0xfffn)).toBe(0x123);
    expect(Number((v >> 48n) & 0xfffn)).toBe(0x45);
    expect(decodeInput(v | (1n << 60n)).reservedSet).toBe(true);
  });
});

describe("hypercall ABI from a guest (nasm)", () => {
  function runCode(src: string) {
    const h = new HypervHost();
    const p = h.createChild({ name: "t", memoryMiB: 4, code: nasm(src) });
    h.run({ maxInstructions: 1_000_000 });
    return { h, p, cpu: p.vp(0).cpu };
  }

  it("vmcall without the hypercall page is #UD (no IDT here: the VP triple-faults and stops)", () => {
    const { p, h } = runCode("xor ecx, ecx\nvmcall\nhlt");
    expect(p.vp(0).lastExit).toBe("triple-fault");
    expect(h.log.join("\n")).toMatch(/triple-fault/);
    expect(h.trace.filter((t) => t.partition === p.id)).toEqual([]);
  });

  it("the HYPERCALL MSR does not enable before GUEST_OS_ID; then the page holds vmcall; ret", () => {
    const { p, cpu } = runCode(`
      mov ecx, 0x40000001
      mov eax, 0x3001
      xor edx, edx
      wrmsr
      rdmsr
      mov r12, rax
      ${ENABLE_HYPERCALLS}
      mov ecx, 0x40000001
      rdmsr
      mov r13, rax
      hlt`);
    expect(cpu.getReg("r12")).toBe(0x3000n);
    expect(cpu.getReg("r13")).toBe(0x3001n);
    expect([...p.memory.read(0x3000, 5)]).toEqual([0x0f, 0x01, 0xc1, 0xc3, 0xcc]);
    expect(p.guestOsId).toBe(0x8100000000020600n);
  });

  it("validates the input value and blocks: codes, reserved bits, fast, reps, alignment, privileges", () => {
    // Each call's RAX goes to a table at 0x5000.
    const calls: [bigint, number][] = [
      [0x7777n, 0], // unknown call
      [encodeInput({ code: HVCALL.GET_PARTITION_ID }) | (1n << 27n), 0], // RsvdZ bit
      [encodeInput({ code: HVCALL.POST_MESSAGE, fast: true }), 0], // PostMessage is never fast
      [encodeInput({ code: HVCALL.GET_PARTITION_ID, repCount: 2 }), 0], // simple call with reps
      [encodeInput({ code: HVCALL.FLUSH_VIRTUAL_ADDRESS_LIST }), 0], // rep call without reps
      [encodeInput({ code: HVCALL.POST_MESSAGE }), 0x4004], // misaligned input
      [encodeInput({ code: HVCALL.CREATE_PARTITION }), 0x4000], // child lacks CreatePartitions
      [encodeInput({ code: HVCALL.POST_MESSAGE }), 0x4000], // zeroed input: message type 0
      [encodeInput({ code: HVCALL.GET_PARTITION_ID }), 0x4000], // fine
    ];
    const body = calls.map(([rcx, rdx], i) => `mov rcx, ${rcx}\nmov rdx, ${rdx}\nmov r8, 0x6000\ncall 0x3000\nmov [0x5000+${i * 8}], rax`).join("\n");
    const { p } = runCode(`${ENABLE_HYPERCALLS}\n${body}\nhlt`);
    const st = calls.map((_, i) => decodeResult(p.memory.u64(0x5000 + i * 8)).status);
    expect(st).toEqual([
      HV_STATUS.INVALID_HYPERCALL_CODE, HV_STATUS.INVALID_HYPERCALL_INPUT, HV_STATUS.INVALID_HYPERCALL_INPUT,
      HV_STATUS.INVALID_HYPERCALL_INPUT, HV_STATUS.INVALID_HYPERCALL_INPUT, HV_STATUS.INVALID_ALIGNMENT,
      HV_STATUS.ACCESS_DENIED, HV_STATUS.INVALID_PARAMETER, HV_STATUS.SUCCESS,
    ]);
    expect(p.memory.u64(0x6000)).toBe(BigInt(p.id));
  });

  it("CPUID 0x40000003 reports the partition's privilege mask; 0x40000002 the WS2008 version", () => {
    const { h, p, cpu } = runCode(`
      mov eax, 0x40000003
      cpuid
      mov r12, rax
      mov r13, rbx
      mov eax, 0x40000002
      cpuid
      mov r14, rax
      mov r15, rbx
      mov eax, 1
      cpuid
      mov r11, rcx
      hlt`);
    expect(BigInt(cpu.getReg("r12")) | (BigInt(cpu.getReg("r13")) << 32n)).toBe(CHILD_PRIVILEGES);
    expect(cpu.getReg("r14")).toBe(6001n);
    expect(cpu.getReg("r15")).toBe(0x60000n);
    expect(cpu.getReg("r11") >> 31n & 1n).toBe(1n);
    expect(h.root.privileges).toBe(ROOT_PRIVILEGES);
    expect(p.has("CreatePartitions")).toBe(false);
    expect(h.root.has("CreatePartitions")).toBe(true);
  });
});

describe("root partition management", () => {
  it("create / deposit / initialize / map / create VP / registers / delete, with their failures", () => {
    const h = new HypervHost();
    const cr = h.rootCall(HVCALL.CREATE_PARTITION, u64s(0, 0, 0), { outSize: 8 });
    expect(cr.status).toBe(HV_STATUS.SUCCESS);
    const id = Number(new DataView(cr.output.buffer).getBigUint64(0, true));
    expect(h.rootCall(HVCALL.INITIALIZE_PARTITION, u64s(id)).status).toBe(HV_STATUS.INSUFFICIENT_MEMORY);
    expect(h.rootCall(HVCALL.MAP_GPA_PAGES, u64s(id, 0, 3, 0x100), { reps: 1 }).status).toBe(HV_STATUS.INVALID_PARTITION_STATE);
    // Deposit root pages 0x200..0x20f: they leave the root's address space.
    const pages = Array.from({ length: 16 }, (_, i) => 0x200 + i);
    const dep = h.rootCall(HVCALL.DEPOSIT_MEMORY, u64s(id, ...pages), { reps: 16 });
    expect(dep).toMatchObject({ status: 0, repsCompleted: 16 });
    expect(h.root.memory.p2m.lookup(gfn(0x200))).toBeUndefined();
    expect(h.rootCall(HVCALL.INITIALIZE_PARTITION, u64s(id)).status).toBe(HV_STATUS.SUCCESS);
    expect(h.rootCall(HVCALL.INITIALIZE_PARTITION, u64s(id)).status).toBe(HV_STATUS.INVALID_PARTITION_STATE);
    const bal = h.rootCall(HVCALL.GET_MEMORY_BALANCE, u64s(id), { outSize: 16 });
    expect([...new BigUint64Array(bal.output.buffer.slice(0, 16))]).toEqual([12n, 4n]);
    // Map root pages 0x300.. at child GFN 0x10..; the child sees the root's bytes.
    h.root.memory.write(0x300 * 4096, new TextEncoder().encode("Longhorn"));
    const map = h.rootCall(HVCALL.MAP_GPA_PAGES, u64s(id, 0x10, 3, 0x300, 0x301, 0xdead0), { reps: 3 });
    expect(map).toMatchObject({ status: HV_STATUS.INVALID_PARAMETER, repsCompleted: 2 }); // third page is not the root's
    const child = h.partition(id);
    expect(new TextDecoder().decode(child.memory.read(0x10 * 4096, 8))).toBe("Longhorn");
    expect(h.rootCall(HVCALL.CREATE_VP, u64s(id, 1)).status).toBe(HV_STATUS.INVALID_VP_INDEX);
    expect(h.rootCall(HVCALL.CREATE_VP, u64s(id, 0)).status).toBe(HV_STATUS.SUCCESS);
    h.setVpRegisters(id, 0, [[HV_REG.RAX, 0x1234n, 0n], [HV_REG.RIP, 0x10000n, 0n]]);
    expect(h.getVpRegisters(id, 0, [HV_REG.RAX, HV_REG.RIP, HV_REG.EXPLICIT_SUSPEND])).toEqual([0x1234n, 0x10000n, 1n]);
    const bad = new Uint8Array(48); new DataView(bad.buffer).setBigUint64(0, BigInt(id), true); new DataView(bad.buffer).setUint32(16, 0x7fff0, true);
    expect(h.rootCall(HVCALL.SET_VP_REGISTERS, bad, { reps: 1 }).status).toBe(HV_STATUS.INVALID_PARAMETER);
    // 16 deposited, 4 + 1 in use: 11 can be withdrawn, to the root GFNs they came from.
    const wd = h.rootCall(HVCALL.WITHDRAW_MEMORY, u64s(id, 0), { reps: 12, outSize: 12 * 8 });
    expect(wd).toMatchObject({ status: HV_STATUS.INSUFFICIENT_MEMORY, repsCompleted: 11 });
    const back = [...new BigUint64Array(wd.output.buffer.slice(0, 88))].map(Number).sort((a, b) => a - b);
    expect(back).toEqual(pages.slice(5));
    expect(h.root.memory.p2m.lookup(gfn(0x20f))).toBeDefined();
    const next = (prev: number) => Number(new DataView(h.rootCall(HVCALL.GET_NEXT_CHILD_PARTITION, u64s(h.root.id, prev), { outSize: 8 }).output.buffer).getBigUint64(0, true));
    expect(next(0)).toBe(id);
    expect(next(id)).toBe(0);
    expect(h.rootCall(HVCALL.FINALIZE_PARTITION, u64s(id)).status).toBe(HV_STATUS.SUCCESS);
    expect(h.partition(id).vp(0).state).toBe("suspended");
    expect(h.rootCall(HVCALL.DELETE_PARTITION, u64s(id)).status).toBe(HV_STATUS.SUCCESS);
    expect(h.rootCall(HVCALL.DELETE_PARTITION, u64s(id)).status).toBe(HV_STATUS.INVALID_PARTITION_ID);
    // HV_PARTITION_ID is a UINT64: ids past 2^53 (all-ones but one, beside HV_PARTITION_ID_SELF) name no partition, and the host stays up.
    for (const big of [2n ** 60n + BigInt(id), 2n ** 64n - 2n]) expect(h.rootCall(HVCALL.DELETE_PARTITION, u64s(big)).status).toBe(HV_STATUS.INVALID_PARTITION_ID);
    expect(next(0)).toBe(0);
    expect(h.partitions.has(partitionId(id))).toBe(false);
  });

  it("a long rep call from the root is continued in slices of REPS_PER_ENTRY", () => {
    const h = new HypervHost();
    h.createChild({ name: "big", memoryMiB: 1 });
    const maps = h.trace.filter((t) => t.code === HVCALL.MAP_GPA_PAGES);
    expect(maps.length).toBe(256 / REPS_PER_ENTRY);
    // Every child page is distinct root memory, mapped at its own GFN.
    const child = h.partition("big");
    const mfns = new Set(child.memory.p2m.entries().map((e) => e.mfn));
    expect(child.memory.p2m.entries().map((e) => e.gfn)).toEqual(Array.from({ length: 256 }, (_, i) => i));
    expect(mfns.size).toBe(256);
    expect(maps.at(-1)).toMatchObject({ repsCompleted: 256, continued: false });
    expect(maps.filter((t) => t.continued).length).toBe(256 / REPS_PER_ENTRY - 1);
  });

  it("bad names are typed errors", () => {
    const h = new HypervHost();
    h.createChild({ name: "a", memoryMiB: 1 });
    expect(() => h.createChild({ name: "a" })).toThrow(/exists/);
    expect(() => h.partition("nope")).toThrow(/no partition nope/);
  });
});

describe("SynIC", () => {
  function withSynic() {
    const h = new HypervHost();
    const p = h.createChild({ name: "s", memoryMiB: 2, code: nasm("cli\n.l: hlt\njmp .l") });
    const vp = p.vp(0);
    // The guest's MSR writes, made through the same handlers.
    expect(h.wrmsr(vp, HV_MSR.SIMP, 0x8001n)).toBe(true);
    expect(h.wrmsr(vp, HV_MSR.SIEFP, 0x9001n)).toBe(true);
    expect(h.wrmsr(vp, HV_MSR.SINT0 + 3, 0x40n)).toBe(true);
    expect(h.wrmsr(vp, HV_MSR.SINT0 + 4, 0x05n)).toBe(false); // unmasked vector < 16: #GP
    expect(h.wrmsr(vp, HV_MSR.SCONTROL, 1n)).toBe(true);
    expect(h.rdmsr(vp, HV_MSR.SVERSION)).toBe(1n);
    expect(h.rdmsr(vp, HV_MSR.SINT0 + 5)).toBe(0x10000n); // reset value: masked
    return { h, p, vp };
  }
  const msg = (n: number) => ({ type: 0x42, origin: 7n, payload: new Uint8Array([n, n, n]) });

  it("one message per slot; the rest wait with MessagePending set; EOM delivers the next", () => {
    const { h, p, vp } = withSynic();
    const slot = 0x8000 + 3 * HV_MESSAGE_SIZE;
    vp.synic.post(3, msg(1)); vp.synic.post(3, msg(2)); vp.synic.post(3, msg(3));
    expect(p.memory.u32(slot)).toBe(0x42);
    expect(p.memory.u8(slot + 4)).toBe(3);
    expect(p.memory.u8(slot + 16)).toBe(1);
    expect(p.memory.u8(slot + 5) & 1).toBe(1); // more waiting
    expect(vp.cpu.pendingInterrupts).toEqual([0x40]);
    // EOM without clearing the slot changes nothing.
    h.wrmsr(vp, HV_MSR.EOM, 0n);
    expect(p.memory.u8(slot + 16)).toBe(1);
    p.memory.setU32(slot, HVMSG.NONE);
    h.wrmsr(vp, HV_MSR.EOM, 0n);
    expect(p.memory.u8(slot + 16)).toBe(2);
    expect(p.memory.u8(slot + 5) & 1).toBe(1);
    p.memory.setU32(slot, 0);
    h.wrmsr(vp, HV_MSR.EOM, 0n);
    expect(p.memory.u8(slot + 16)).toBe(3);
    expect(p.memory.u8(slot + 5) & 1).toBe(0); // last one
    expect(vp.synic.counters).toMatchObject({ delivered: 3, eoms: 3, interrupts: 3 });
  });

  it("event flags interrupt only on a 0 -> 1 transition; masked SINTs stay silent", () => {
    const { p, vp } = withSynic();
    vp.synic.signal(3, 77); vp.synic.signal(3, 77);
    expect(p.memory.u8(0x9000 + 3 * 256 + 9) & (1 << 5)).toBeTruthy();
    expect(vp.cpu.pendingInterrupts).toEqual([0x40]);
    vp.synic.signal(6, 1); // SINT6 masked: flag set, no interrupt
    expect(p.memory.u8(0x9000 + 6 * 256)).toBe(2);
    expect(vp.cpu.pendingInterrupts).toEqual([0x40]);
  });

  it("a periodic timer fires every period while the guest keeps freeing the slot", () => {
    const { h, p, vp } = withSynic();
    h.wrmsr(vp, HV_MSR.STIMER0_COUNT + 2, 10_000n); // STIMER1_COUNT: 1 ms period
    h.wrmsr(vp, HV_MSR.STIMER0_CONFIG + 2, 1n | 2n | (3n << 16n)); // enabled, periodic, SINT3
    const slot = 0x8000 + 3 * HV_MESSAGE_SIZE;
    const times: bigint[] = [];
    h.run({ ns: 5_500_000, until: () => {
      if (p.memory.u32(slot) === HVMSG.TIMER_EXPIRED) { times.push(p.memory.u64(slot + 16 + 8)); p.memory.setU32(slot, 0); }
      return false;
    } });
    if (p.memory.u32(slot) === HVMSG.TIMER_EXPIRED) times.push(p.memory.u64(slot + 16 + 8));
    expect(vp.stimers[1]!.fired).toBe(5);
    // Expiration times (100 ns units of the partition's reference time) one period apart.
    const first = Number(times[0]);
    expect(times.map(Number)).toEqual([0, 1, 2, 3, 4].map((k) => first + k * 10_000));
    expect(vp.cpu.icount).toBeLessThan(100); // the guest slept in between: time jumped from timer to timer
  });

  it("a synthetic timer posts HVMSG_TIMER_EXPIRED at its deadline; idle time jumps there", () => {
    const { h, p, vp } = withSynic();
    // STIMER0: enabled, one-shot, SINT3; fires at reference time 10 ms.
    h.wrmsr(vp, HV_MSR.STIMER0_COUNT, 100_000n);
    h.wrmsr(vp, HV_MSR.STIMER0_CONFIG, 1n | (3n << 16n));
    h.run({ until: () => vp.stimers[0]!.fired > 0, ns: 50_000_000 });
    expect(vp.stimers[0]!.fired).toBe(1);
    expect(h.now - p.createdNs).toBeGreaterThanOrEqual(10_000_000);
    const slot = 0x8000 + 3 * HV_MESSAGE_SIZE;
    expect(p.memory.u32(slot)).toBe(HVMSG.TIMER_EXPIRED);
    expect(p.memory.u64(slot + 16 + 8)).toBe(100_000n); // expiration time
    expect(h.rdmsr(vp, HV_MSR.STIMER0_CONFIG)! & 1n).toBe(0n); // one-shot: disabled after firing
  });

  it("TIME_REF_COUNT and the reference TSC page agree (time = (tsc*scale)>>64 + offset)", () => {
    const h = new HypervHost();
    const p = h.createChild({ name: "tsc", memoryMiB: 2, code: nasm(`
      ${ENABLE_HYPERCALLS}
      mov ecx, 0x40000021
      mov eax, 0x7001
      xor edx, edx
      wrmsr
      mov ecx, 100000
    .l: dec ecx
      jnz .l
      rdtsc
      shl rdx, 32
      or rax, rdx
      mov r12, rax
      mov ecx, 0x40000020
      rdmsr
      shl rdx, 32
      or rax, rdx
      mov r13, rax
      hlt`) });
    h.run({ maxInstructions: 2_000_000 });
    const cpu = p.vp(0).cpu;
    const seq = p.memory.u32(0x7000), scale = p.memory.u64(0x7008), off = BigInt.asIntN(64, p.memory.u64(0x7010));
    expect(seq).toBeGreaterThan(0);
    const fromPage = ((cpu.getReg("r12") * scale) >> 64n) + off;
    const counter = cpu.getReg("r13");
    // Both count 100 ns units of one clock: the counter, read a few instructions after the TSC,
    // is at or at most one unit past the page's time for that TSC.
    expect(Number(counter - fromPage)).toBeGreaterThanOrEqual(0);
    expect(Number(counter - fromPage)).toBeLessThanOrEqual(1);
    expect(Number(counter)).toBeGreaterThan(0);
  });
});

describe("SynIC interrupts into a guest with an IDT", () => {
  it("each message raises the SINT vector; the handler frees the slot and EOMs while more are pending", () => {
    const h = new HypervHost();
    // GDT (null, 64-bit code 0x08, data 0x10); IDT at 0x9000 with one gate (vector 0x50) to `isr`; the handler counts, copies the payload's
    // first byte, frees the slot (type = 0) and writes EOM if MessagePending was set.
    const p = h.createChild({ name: "irq", memoryMiB: 2, code: nasm(`
      lgdt [rel gdtr]          ; a GDT of our own: interrupt delivery loads CS 0x08 from it
      lea rax, [rel isr]
      mov rdi, 0x9000 + 0x50*16
      mov [rdi], ax
      mov word [rdi+2], 0x08
      mov word [rdi+4], 0x8e00
      shr rax, 16
      mov [rdi+6], ax
      shr rax, 16
      mov [rdi+8], eax
      mov dword [rdi+12], 0
      lidt [rel idtr]
      mov ecx, 0x40000083      ; SIMP
      mov eax, 0x8001
      xor edx, edx
      wrmsr
      mov ecx, 0x40000091      ; SINT1 -> vector 0x50
      mov eax, 0x50
      wrmsr
      mov ecx, 0x40000080      ; SCONTROL
      mov eax, 1
      wrmsr
      mov byte [0x7000], 1     ; ready
    idle:
      sti
      hlt
      cmp dword [0x7004], 3
      jb idle
      cli
      hlt
    isr:
      push rax
      push rcx
      push rdx
      inc dword [0x7004]
      mov eax, [0x7004]
      mov cl, [0x8000 + 256 + 16]
      mov [0x7010 + rax], cl
      mov dl, [0x8000 + 256 + 5]
      mov dword [0x8000 + 256], 0
      test dl, 1
      jz .done
      mov ecx, 0x40000084      ; EOM
      xor eax, eax
      xor edx, edx
      wrmsr
    .done:
      pop rdx
      pop rcx
      pop rax
      iretq
    idtr: dw 0x1000 - 1
      dq 0x9000
    gdtr: dw 3*8 - 1
      dq gdt
    gdt: dq 0, 0x00af9a000000ffff, 0x00cf92000000ffff`) });
    h.run({ until: () => p.memory.u8(0x7000) === 1 && p.vp(0).state === "halted", maxInstructions: 1_000_000 });
    expect(p.vp(0).state).toBe("halted");
    for (const n of [11, 22, 33]) p.vp(0).synic.post(1, { type: 7, origin: 0n, payload: new Uint8Array([n]) });
    expect(p.vp(0).synic.queues[1]!.length).toBe(2); // one in the slot, two waiting
    h.run({ until: () => p.memory.u32(0x7004) === 3, maxInstructions: 1_000_000 });
    expect(p.memory.u32(0x7004)).toBe(3);
    expect([...p.memory.read(0x7011, 3)]).toEqual([11, 22, 33]);
    expect(p.vp(0).synic.counters).toMatchObject({ delivered: 3, eoms: 2, interrupts: 3 });
  });
});
