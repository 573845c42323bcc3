/**
 * The Windows-style child (src/hyperv/guests/windows-style.ts, assembled by nasm) does what a
 * Windows guest does first on Hyper-V, as guest code on its vCPU: GuestOsId with Microsoft's vendor
 * id, the hypercall page, HvGetPartitionId, the reference counter and reference TSC page, the
 * SynIC with an IDT, a synthetic timer, and vmbus.sys' first HvPostMessage exchange. It runs
 * beside an enlightened Linux child (the C guest with Linux's guest id and VMBus layouts) and a
 * Xen-enabled Linux child (the PVH guest through the Xen adapter) on one Longhorn host; what each
 * switched on shows in `%hyperv partitions`. Checked against the TLFS' own definitions.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HypervHost, HV_VENDOR, HV_INTERFACE_SIGNATURE, CHILD_PRIVILEGES, HV_STATUS, setCurrentHypervHost } from "../../src/hyperv";
import type { Partition } from "../../src/hyperv";
import { WINDOWS_GUEST, WINDOWS_RESULTS, WINDOWS_STYLE_GUEST_ASM } from "../../src/hyperv/guests/windows-style";
import { decodeGuestOsId } from "../../src/hyperv/guest-os-id";
import { enlightenments } from "../../src/hyperv/enlightenments";
import { VhdDisk } from "../../src/vhd";
import { Assembler } from "../../src/machine/assembler";
import { nasm } from "./helpers";
import { buildHvGuest } from "./guest-build";
import { buildPvhGuest } from "../xen/guest-build";
import { Cells } from "../support/cells";

const dir = mkdtempSync(join(tmpdir(), "xenlab-windows-"));
let vhd: string;
let code: Uint8Array;
beforeAll(() => {
  vhd = join(dir, "w2k8.vhd");
  execFileSync("qemu-img", ["create", "-q", "-f", "vpc", vhd, "16M"]);
  code = nasm(WINDOWS_STYLE_GUEST_ASM);
});

/** The guest's results block, as the guest left it in its memory. */
function results(p: Partition) {
  const at = (f: keyof typeof WINDOWS_RESULTS) => WINDOWS_GUEST.results + WINDOWS_RESULTS[f];
  const u32 = (f: keyof typeof WINDOWS_RESULTS) => p.memory.u32(at(f));
  const u64 = (f: keyof typeof WINDOWS_RESULTS) => p.memory.u64(at(f));
  return { u32, u64 };
}

const windowsDone = (p: Partition) => results(p).u32("done") === WINDOWS_GUEST.done;

describe("a Windows-style child on Longhorn", () => {
  it("discovers Hyper-V, reports a Microsoft guest OS id, calls through the hypercall page and talks to vmbus", () => {
    const h = new HypervHost({ lps: 1 });
    const p = h.createChild({ name: "windows", memoryMiB: 4, code });
    h.attachDisk(p, VhdDisk.open(vhd), "w2k8.vhd");
    const r = h.run({ until: () => windowsDone(p), maxInstructions: 5_000_000 });
    expect(r.stoppedBy).toBe("until");
    const { u32, u64 } = results(p);
    // CPUID 0x40000000 EBX:ECX:EDX spell "Microsoft Hv"; 0x40000001 EAX is "Hv#1" (TLFS 2.4).
    const vendor = Buffer.alloc(12);
    vendor.writeUInt32LE(u32("vendorEbx"), 0); vendor.writeUInt32LE(u32("vendorEcx"), 4); vendor.writeUInt32LE(u32("vendorEdx"), 8);
    expect(vendor.toString("latin1")).toBe("Microsoft Hv");
    expect([u32("vendorEbx"), u32("vendorEcx"), u32("vendorEdx")]).toEqual([...HV_VENDOR]);
    expect(Buffer.from("Hv#1", "latin1").readUInt32LE(0)).toBe(u32("interfaceEax"));
    expect(u32("interfaceEax")).toBe(HV_INTERFACE_SIGNATURE);
    expect(BigInt(u32("privilegesLow")) | (BigInt(u32("privilegesHigh")) << 32n)).toBe(CHILD_PRIVILEGES);

    // GuestOsId as read back by the guest, field by field per TLFS 2.6's proprietary layout.
    const id = u64("guestOsId");
    expect(id >> 63n).toBe(0n); // proprietary
    expect(Number((id >> 48n) & 0x7fffn)).toBe(1); // vendor: Microsoft
    expect(Number((id >> 40n) & 0xffn)).toBe(4); // OS id: Windows NT and derivatives
    expect([(id >> 32n) & 0xffn, (id >> 24n) & 0xffn, (id >> 16n) & 0xffn, id & 0xffffn].map(Number)).toEqual([6, 0, 1, 6001]);
    expect(decodeGuestOsId(id)).toMatchObject({ kind: "proprietary", vendorName: "MICROSOFT", osName: "WINDOWS_NT", major: 6, minor: 0, servicePack: 1, build: 6001 });
    expect(p.guestOsId).toBe(id);

    // HV_X64_MSR_HYPERCALL reads back enabled at the page the guest chose; the call through it worked.
    expect(u64("hypercallMsr")).toBe(BigInt(WINDOWS_GUEST.hypercallPage) | 1n);
    expect(Number(u64("getPartitionIdStatus") & 0xffffn)).toBe(HV_STATUS.SUCCESS);
    expect(Number(u64("partitionId"))).toBe(p.id);
    expect(u32("vpIndex")).toBe(0);

    // vmbus.sys' first exchange: INITIATE_CONTACT (0.13) answered by VERSION_RESPONSE, then the
    // offer of the disk and ALLOFFERS_DELIVERED, each taken from SINT2's slot in the interrupt handler.
    expect(Number(u64("postInitiateStatus") & 0xffffn)).toBe(HV_STATUS.SUCCESS);
    expect(Number(u64("postRequestOffersStatus") & 0xffffn)).toBe(HV_STATUS.SUCCESS);
    expect(u32("versionSupported")).toBe(1);
    expect(u32("offers")).toBe(1);
    expect(u32("allOffersDelivered")).toBe(1);
    expect(u32("vmbusInterrupts")).toBe(3);
    // The offer and ALLOFFERS_DELIVERED were queued behind a busy slot: the guest saw
    // MessagePending and wrote EOM for each (TLFS 11.10.3), and the host counted those EOMs.
    expect(u32("eoms")).toBeGreaterThanOrEqual(1);
    expect(p.vp(0).synic.counters.eoms).toBe(u32("eoms"));
    expect(h.vmbus(p).log.map((m) => `${m.dir}:${m.type}`)).toEqual(["in:INITIATE_CONTACT", "out:VERSION_RESPONSE", "in:REQUESTOFFERS", "out:OFFERCHANNEL", "out:ALLOFFERS_DELIVERED"]);
    expect(h.vmbus(p).version).toBe(13);
  });

  it("its reference counter (100 ns units) and reference TSC page give the same time, and the timer fires at its reference time", () => {
    for (const cpuMHz of [1000, 2400]) {
      const h = new HypervHost({ lps: 1, cpuMHz });
      const p = h.createChild({ name: "windows", memoryMiB: 4, code });
      h.run({ until: () => windowsDone(p), maxInstructions: 5_000_000 });
      expect(windowsDone(p)).toBe(true);
      const { u32, u64 } = results(p);
      // ReferenceTime = ((tsc * TscScale) >> 64) + TscOffset (TLFS 12.7.2), read on both sides
      // of a TIME_REF_COUNT read a few instructions apart: the same clock, never going back.
      expect(u32("tscSequence")).not.toBe(0);
      const t1 = u64("tscTime1"), c1 = u64("refCount1"), t2 = u64("tscTime2");
      expect(t1 <= c1 && c1 <= t2).toBe(true);
      expect(Number(t2 - t1)).toBeLessThanOrEqual(1);
      // The page the host wrote, applied to TSC values by the TLFS formula, against the counter's
      // definition (100 ns units of virtual time since the partition was created).
      const scale = p.memory.u64(WINDOWS_GUEST.tscPage + 8), offset = BigInt.asIntN(64, p.memory.u64(WINDOWS_GUEST.tscPage + 16));
      for (const ns of [0, 999, 12_345_678, 3_600e9]) {
        const tsc = BigInt(Math.floor((ns * cpuMHz) / 1000));
        expect(((tsc * scale) >> 64n) + offset).toBe(p.referenceTime(ns));
      }
      // The one-shot timer 0 (TLFS 12.4): expiration_time is the programmed count, delivery is not
      // earlier, and the counter read in the handler right after the VP woke says the same time.
      const due = u64("timerCount");
      // (armed a few instructions after refCount1, timerDelay units ahead of the counter then)
      expect(due - c1 - BigInt(WINDOWS_GUEST.timerDelay)).toBeLessThanOrEqual(1n);
      expect(due - c1).toBeGreaterThanOrEqual(BigInt(WINDOWS_GUEST.timerDelay));
      expect(u64("timerExpiration")).toBe(due);
      expect(u64("timerDelivery")).toBe(due);
      expect(u64("refCountInTimerIsr") - due).toBeLessThanOrEqual(1n);
      expect(u32("timerInterrupts")).toBe(1);
      // The guest slept until the timer: the platform clock moved to its deadline, the counter with it.
      expect(h.now).toBeGreaterThanOrEqual(p.referenceNs(due));
      expect(p.referenceTime()).toBe(BigInt(Math.floor((h.now - p.referenceBaseNs) / 100)));
    }
  });

  it("the reference counter counts the guest's own instructions in 100 ns units (cpuMHz instructions per µs)", () => {
    const h = new HypervHost({ lps: 1, cpuMHz: 1000 });
    // 2 * 7_777 instructions (mid-way through a scheduling quantum) before the first read, then
    // 2 * 50_000 = 100 µs = 1000 units between the two reads.
    const p = h.createChild({ name: "count", memoryMiB: 2, code: nasm(`
      mov ecx, 0x40000000
      mov eax, 1
      xor edx, edx
      wrmsr
      mov ecx, 7777
    .p: dec ecx
      jnz .p
      mov ecx, 0x40000020
      rdmsr
      mov r12d, eax
      mov ecx, 50000
    .l: dec ecx
      jnz .l
      mov ecx, 0x40000020
      rdmsr
      mov r13d, eax
      hlt`) });
    h.run({ maxInstructions: 1_000_000 });
    const cpu = p.vp(0).cpu;
    // The first read counts the ~15_560 instructions since the partition started: 155 units,
    // not the start of the quantum the VP is in.
    expect(Number(cpu.getReg("r12"))).toBe(155);
    expect(Number(cpu.getReg("r13") - cpu.getReg("r12"))).toBeGreaterThanOrEqual(1000);
    expect(Number(cpu.getReg("r13") - cpu.getReg("r12"))).toBeLessThanOrEqual(1001);
  });
});

describe("Windows, enlightened Linux and Xen-enabled Linux on one Longhorn host", () => {
  let cells: Cells;
  afterAll(() => cells?.close());

  it("all three run to completion side by side; %hyperv partitions shows each with its enlightenments", async () => {
    cells = new Cells();
    const h = setCurrentHypervHost({ lps: 2 });
    const windows = h.createChild({ name: "windows", memoryMiB: 4, code });
    h.attachDisk(windows, VhdDisk.open(vhd), "w2k8.vhd");
    const linux = h.createChild({ name: "linux", memoryMiB: 8, elf: buildHvGuest() });
    execFileSync("qemu-img", ["create", "-q", "-f", "vpc", join(dir, "sles.vhd"), "8M"]);
    h.attachDisk(linux, VhdDisk.open(join(dir, "sles.vhd")), "sles.vhd");
    const xen = h.createChild({ name: "xen-linux", memoryMiB: 16, pvh: buildPvhGuest().bytes, cmdline: "role=xsbench rounds=5" });
    const r = h.run({ until: () => windowsDone(windows) && linux.console.includes("done\n") && xen.shutdownReason !== undefined, maxInstructions: 60_000_000 });
    expect(r.stoppedBy).toBe("until");
    expect(results(windows).u32("versionSupported")).toBe(1);
    expect(linux.console).toContain("vmbus 0.13 ok");
    expect(xen.console).toContain("xsbench: 5 reads of name=xen-linux\n");

    const kinds = (p: Partition) => enlightenments(p).map((e) => e.name);
    expect(kinds(windows)).toEqual(expect.arrayContaining(["GuestOsId", "hypercall page", "reference counter", "reference TSC page", "SynIC VP0", "stimer0 VP0", "VMBus"]));
    expect(kinds(linux)).toEqual(expect.arrayContaining(["GuestOsId", "hypercall page", "SynIC VP0", "VMBus"]));
    expect(kinds(xen)).toContain("Xen adapter");

    const c = await cells.run("%hyperv partitions");
    expect(c.errors).toEqual([]);
    const text = String(c.results[0]!["text/plain"]);
    expect(text).toMatch(/windows\s+child\s+initialized/);
    expect(text).toContain("GuestOsId: MICROSOFT WINDOWS_NT 6.0 SP1 build 6001");
    expect(text).toContain("GuestOsId: open source LINUX 2.6.16");
    expect(text).toMatch(/reference TSC page: at 0x86000/);
    expect(text).toMatch(/SynIC VP0: on, SIMP 0x82000, SIEFP 0x83000, SINT0→0x31 SINT2→0x30/);
    expect(text).toMatch(/VMBus: version 0\.13, 0\/1 channels open/); // windows offered, did not open
    expect(text).toMatch(/VMBus: version 0\.13, 1\/1 channels open/); // linux opened its storvsc channel
    expect(text).toMatch(/Xen adapter: Xen hypercall page 0x[0-9a-f]+, shared_info mapped, \d+ event channels, \d+ Xen calls translated/);
    // The picture: one row per partition, a filled cell for each enlightenment its guest used.
    const svg = String(c.results[0]!["image/svg+xml"]);
    const on = (p: Partition, kind: string) => new RegExp(`data-partition="${p.id}" data-kind="${kind}" data-on="true"`).test(svg);
    expect(["GuestOsId", "hypercall page", "reference counter", "reference TSC page", "SynIC", "stimer", "VMBus"].every((k) => on(windows, k))).toBe(true);
    expect(on(windows, "Xen adapter")).toBe(false);
    expect(on(linux, "reference TSC page")).toBe(false);
    expect(on(xen, "Xen adapter")).toBe(true);
    expect(on(h.root, "GuestOsId")).toBe(false);
  });

  it("assembled by keystone (the notebooks' assembler) it runs to the same results as nasm's build", async () => {
    const ks = await Assembler.load();
    const block = async (bytes: Uint8Array) => {
      const h = new HypervHost({ lps: 1 });
      const p = h.createChild({ name: "windows", memoryMiB: 4, code: bytes });
      h.run({ until: () => windowsDone(p), maxInstructions: 5_000_000 });
      return Buffer.from(p.memory.read(WINDOWS_GUEST.results, WINDOWS_RESULTS.size)).toString("hex");
    };
    // Keystone picks other encodings than nasm (the bytes differ); what the guest does may not.
    const a = await block(ks.assemble(WINDOWS_STYLE_GUEST_ASM, { bits: 64, address: 0x100000 }));
    expect(a).toBe(await block(code));
    expect(a.slice(WINDOWS_RESULTS.done * 2, WINDOWS_RESULTS.done * 2 + 8)).toBe("0d600000");
  });
});
