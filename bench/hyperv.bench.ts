/**
 * Hyper-V model figures, each beside an anchor measured in the same run:
 *  - hyperv.hypercall_per_s: guest `call hypercall_page` → HvGetPartitionId (memory input/output
 *    blocks) → guest, beside the Xen host's xen_version round trip through its hypercall page
 *    (the same emulator, the other personality's equivalent path).
 *  - hyperv.post_message_per_s: HvPostMessage to a connection whose receiver posts the message
 *    back into the sender's SINT slot; the guest polls the slot, frees it and loops — a message
 *    round trip, beside the bare hypercall rate of the same host in the same run.
 *  - hyperv.xen_console_per_s: the same nasm Xen guest (CPUID scan, Xen hypercall page, console_io
 *    writes of one line) on Longhorn through the hypercall adapter, beside the Xen host running it
 *    natively; the note gives Xen and Hyper-V hypercalls per console write.
 *  - hyperv.pvh_xenstore_req_per_s: the Xen host's C PVH guest (role=xsbench), unmodified, on
 *    Longhorn through the adapter: XenStore reads over the ring (a root page shared with
 *    HvMapGpaPages, HvSignalEvent to the root's xenstored), beside the same guest on the Xen host.
 *  - hyperv.vmbus_ring_mib_per_s: 4 KiB packets written to and read from a VMBus ring in guest
 *    memory (descriptor, payload, trailer, index updates), beside a plain Buffer copy of the same
 *    bytes in and out.
 */
import { connectionId } from "../src/hyperv/ids";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Figure, nowMs } from "./harness";
import { xenHypercallRate } from "./xen.bench";
import { XenHost } from "../src/xen/host";
import { LAB } from "../src/xen/builder";
import { HypervHost, CHILD_LAYOUT, HV_STATUS, VmbusRing } from "../src/hyperv";
import { Machine, domId, gfn } from "../src/machine";

const GUESTS = join(__dirname, "..", "..", "tests", "guests");
function buildPvhGuest(): string {
  const out = join(mkdtempSync(join(tmpdir(), "xenlab-hv-bench-")), "pvh-guest.elf");
  execFileSync("gcc", ["-O2", "-ffreestanding", "-nostdlib", "-static", "-no-pie", "-fno-pic", "-mno-red-zone", "-mgeneral-regs-only",
    "-fno-stack-protector", "-fcf-protection=none", "-Wl,--build-id=none", "-Wl,--no-warn-rwx-segments", "-Wa,--noexecstack",
    "-T", join(GUESTS, "guest.ld"), "-o", out, join(GUESTS, "pvh-start.S"), join(GUESTS, "pvh-guest.c")]);
  return out;
}

function nasm(org: number, src: string): Uint8Array {
  const d = mkdtempSync(join(tmpdir(), "xenlab-hv-bench-"));
  writeFileSync(join(d, "a.asm"), `bits 64\norg ${org}\n${src}\n`);
  execFileSync("nasm", ["-f", "bin", "-o", join(d, "a.bin"), join(d, "a.asm")]);
  return new Uint8Array(readFileSync(join(d, "a.bin")));
}

const ENABLE = `
  mov ecx, 0x40000000
  mov eax, 0x00020600
  mov edx, 0x81000000
  wrmsr
  mov ecx, 0x40000001
  mov eax, 0x3001
  xor edx, edx
  wrmsr`;


function hvHypercallRate(n: number): { rate: number; insnsPerCall: number } {
  const h = new HypervHost({ lps: 1 });
  h.traceEnabled = false;
  const p = h.createChild({ name: "hc", memoryMiB: 4, code: nasm(CHILD_LAYOUT.image, `${ENABLE}
    mov r12, ${n}
  l: mov ecx, 0x46
    xor edx, edx
    mov r8d, 0x6000
    call 0x3000
    dec r12
    jnz l
    cli
    hlt`) });
  const t0 = nowMs();
  const r = h.run();
  const s = (nowMs() - t0) / 1000;
  if (p.memory.u64(0x6000) !== BigInt(p.id)) throw new Error("HvGetPartitionId did not answer");
  return { rate: n / s, insnsPerCall: r.instructions / n };
}

export const figures: Figure[] = [
  {
    name: "hyperv.hypercall_per_s",
    async run() {
      const N = 200_000;
      const anchor = xenHypercallRate(N);
      const hv = hvHypercallRate(N);
      return { value: hv.rate, unit: "calls/s", anchor: "Xen host xen_version via its hypercall page (same run)", anchor_value: anchor, note: `${hv.insnsPerCall.toFixed(1)} guest instructions and 1 hypercall per call` };
    },
  },
  {
    name: "hyperv.post_message_per_s",
    async run() {
      const N = 50_000;
      const h = new HypervHost({ lps: 1 });
      h.traceEnabled = false;
      const p = h.createChild({ name: "msg", memoryMiB: 4, paused: true, code: nasm(CHILD_LAYOUT.image, `${ENABLE}
        mov ecx, 0x40000083      ; SIMP at 0x8000
        mov eax, 0x8001
        xor edx, edx
        wrmsr
        mov ecx, 0x40000091      ; SINT1 unmasked, vector 0x50 (interrupts stay off: we poll)
        mov eax, 0x50
        wrmsr
        mov ecx, 0x40000080
        mov eax, 1
        wrmsr
        mov dword [0x5000], 0x77 ; connection id
        mov dword [0x5008], 1    ; message type
        mov dword [0x500c], 16   ; payload size
        mov r12, ${N}
      l: mov ecx, 0x5c
        mov edx, 0x5000
        xor r8d, r8d
        call 0x3000
      w: cmp dword [0x8000+256], 0
        je w
        mov dword [0x8000+256], 0
        dec r12
        jnz l
        cli
        hlt`) });
      let echoed = 0;
      h.registerConnection({ id: connectionId(0x77), owner: "bench", onMessage: (from, type, payload) => { from.vp(0).synic.post(1, { type, origin: 0n, payload }); echoed++; return HV_STATUS.SUCCESS; } });
      h.setVpRegisters(p.id, 0, [[0, 0n, 0n]]); // resume (HV_REGISTER_EXPLICIT_SUSPEND = 0)
      const t0 = nowMs();
      const r = h.run();
      const s = (nowMs() - t0) / 1000;
      if (echoed !== N) throw new Error(`only ${echoed} of ${N} messages came back`);
      const anchor = hvHypercallRate(200_000).rate;
      return { value: N / s, unit: "round trips/s", anchor: "bare HvGetPartitionId calls/s, same host (same run)", anchor_value: anchor, note: `${(r.instructions / N).toFixed(1)} guest instructions and 1 hypercall per message round trip` };
    },
  },
  {
    name: "hyperv.xen_console_per_s",
    async run() {
      const N = 50_000;
      const code = nasm(CHILD_LAYOUT.image, `
        mov esi, 0x40000000
      scan: mov eax, esi
        cpuid
        cmp ebx, 0x566e6558
        je found
        add esi, 0x100
        jmp scan
      found: lea eax, [esi+2]
        cpuid
        mov ecx, ebx
        mov eax, 0x4000
        xor edx, edx
        wrmsr
        mov r12, ${N}
      l: xor edi, edi
        mov esi, 8
        mov rdx, msg
        call 0x4000 + 18*32
        dec r12
        jnz l
        cli
        hlt
      msg: db "console", 10`);
      if (LAB.code !== CHILD_LAYOUT.image) throw new Error("the Xen lab and Hyper-V child load addresses differ");
      const xen = new XenHost({ pcpus: 1, memoryMiB: 128 });
      xen.traceEnabled = false;
      const d = xen.createLabDomain("con", code);
      let t0 = nowMs();
      xen.run({ until: () => d.consoleLog.length >= 8 * N });
      const xenRate = N / ((nowMs() - t0) / 1000);
      const h = new HypervHost({ lps: 1 });
      h.traceEnabled = false;
      const p = h.createChild({ name: "con", memoryMiB: 2, code, xenAdapter: true });
      const hv0 = h.stats.hypercalls;
      t0 = nowMs();
      const r = h.run({ until: () => p.console.length >= 8 * N });
      const rate = N / ((nowMs() - t0) / 1000);
      if (p.console.length !== 8 * N) throw new Error(`console has ${p.console.length} bytes, not ${8 * N}`);
      const a = p.xenAdapter!;
      const xenCalls = [...a.counts.values()].reduce((s, c) => s + c.calls, 0), hvCalls = h.stats.hypercalls - hv0;
      return { value: rate, unit: "writes/s", anchor: "the same binary on the Xen host (console_io native)", anchor_value: xenRate, note: `per write: ${(r.instructions / N).toFixed(1)} guest instructions, ${(xenCalls / N).toFixed(2)} Xen hypercalls -> ${(hvCalls / N).toFixed(2)} Hyper-V hypercalls (HvPostMessage)` };
    },
  },
  {
    name: "hyperv.pvh_xenstore_req_per_s",
    async run() {
      const kernel = buildPvhGuest();
      const rounds = 5000;
      const cmdline = `role=xsbench rounds=${rounds}`;
      const xen = new XenHost({ pcpus: 1, memoryMiB: 128 });
      xen.traceEnabled = false;
      const d = xen.createDomain(`name="xs"\ntype="pvh"\nkernel="${kernel}"\nmemory=16\ncmdline="${cmdline}"\non_poweroff="preserve"`);
      xen.run({ until: () => d.consoleLog.includes("timer: port") });
      let t0 = nowMs();
      xen.run({ until: () => d.consoleLog.includes("xsbench:") });
      const xenRate = rounds / ((nowMs() - t0) / 1000);
      const h = new HypervHost({ lps: 1 });
      h.traceEnabled = false;
      const p = h.createChild({ name: "xs", memoryMiB: 16, pvh: new Uint8Array(readFileSync(kernel)), cmdline });
      h.run({ until: () => p.console.includes("timer: port") });
      const a = p.xenAdapter!;
      const x0 = [...a.counts.values()].reduce((n, c) => n + c.calls, 0), hv0 = h.stats.hypercalls, i0 = h.instructions;
      t0 = nowMs();
      h.run({ until: () => p.console.includes("xsbench:") });
      const rate = rounds / ((nowMs() - t0) / 1000);
      if (!p.console.includes(`xsbench: ${rounds} reads`)) throw new Error(`xsbench did not finish: ${p.console}`);
      const xenCalls = [...a.counts.values()].reduce((n, c) => n + c.calls, 0) - x0;
      return { value: rate, unit: "reads/s", anchor: "the same PVH guest on the Xen host (same run)", anchor_value: xenRate,
        note: `per read: ${((h.instructions - i0) / rounds).toFixed(0)} guest instructions, ${(xenCalls / rounds).toFixed(2)} Xen hypercalls -> ${((h.stats.hypercalls - hv0) / rounds).toFixed(2)} Hyper-V hypercalls` };
    },
  },
  {
    name: "hyperv.vmbus_ring_mib_per_s",
    async run() {
      const m = new Machine(64);
      const dom = domId(5);
      m.populate(dom, gfn(0), 64); // 1 header page + 63 data pages
      const ring = new VmbusRing(m.guest(dom), Array.from({ length: 64 }, (_, i) => i));
      const payload = new Uint8Array(4096).fill(0x5a);
      const total = 64 * 1024 * 1024;
      const t0 = nowMs();
      for (let done = 0; done < total; done += payload.length) {
        if (!ring.write(6, 0, BigInt(done), payload).ok) throw new Error("ring full");
        const pkt = ring.read();
        if (!pkt || pkt.raw.length - pkt.payloadOffset !== payload.length) throw new Error("ring read failed");
      }
      const s = (nowMs() - t0) / 1000;
      const a = Buffer.alloc(4096, 0x5a), b = Buffer.alloc(63 * 4096), c = Buffer.alloc(4096);
      const t1 = nowMs();
      for (let done = 0, off = 0; done < total; done += 4096, off = (off + 4096) % b.length) { a.copy(b, off); b.copy(c, 0, off, off + 4096); }
      const s1 = (nowMs() - t1) / 1000;
      return { value: total / 2 ** 20 / s, unit: "MiB/s", anchor: "Buffer copy in and out of a 252 KiB buffer (same bytes)", anchor_value: total / 2 ** 20 / s1 };
    },
  },
];
