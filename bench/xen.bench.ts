/**
 * Xen model figures, each beside an anchor measured in the same run on this machine:
 *  - xen.hypercall_per_s: guest vmcall → handler → guest round trips (xen_version via the
 *    hypercall page), beside native Linux getppid() syscalls per second (gcc on the host).
 *  - xen.evtchn_pingpong_per_s: event-channel round trips between two domains running the C PVH
 *    guest (send, upcall, block, wake), beside native pipe ping-pong between two processes.
 *  - xen.xenstore_req_per_s: XS_READ requests over the xenstore ring from the C guest, beside
 *    direct XenStore.read() calls in the host (no ring, no guest).
 *  - xen.sched_64x256_wall_s / xen.sched_64x256_heap_mib: 64 pCPUs, 256 domains × 4 vCPUs (half
 *    spinning, half waking on 10 ms timers) scheduled for 10 virtual seconds: wall time beside the
 *    virtual time, and JS heap growth beside the emulated machine memory.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Figure, nowMs } from "./harness";
import { XenHost } from "../src/xen/host";
import { LAB } from "../src/xen/builder";

const GUESTS = join(__dirname, "..", "..", "tests", "guests");
const CFLAGS = ["-O2", "-ffreestanding", "-nostdlib", "-static", "-no-pie", "-fno-pic", "-mno-red-zone", "-mgeneral-regs-only",
  "-fno-stack-protector", "-fcf-protection=none", "-Wl,--build-id=none", "-Wl,--no-warn-rwx-segments", "-Wa,--noexecstack"];

function tmp(): string {
  return mkdtempSync(join(tmpdir(), "xenlab-xen-bench-"));
}

function buildGuest(): string {
  const out = join(tmp(), "pvh-guest.elf");
  execFileSync("gcc", [...CFLAGS, "-T", join(GUESTS, "guest.ld"), "-o", out, join(GUESTS, "pvh-start.S"), join(GUESTS, "pvh-guest.c")]);
  return out;
}

function nasm(src: string): Uint8Array {
  const d = tmp();
  writeFileSync(join(d, "a.asm"), `bits 64\norg ${LAB.code}\n%define HC(n) (${LAB.hypercallPage} + (n)*32)\n${src}\n`);
  execFileSync("nasm", ["-f", "bin", "-o", join(d, "a.bin"), join(d, "a.asm")]);
  return new Uint8Array(readFileSync(join(d, "a.bin")));
}

/** Runs a C program and returns its stdout as a number. */
function nativeRate(src: string): number {
  const d = tmp();
  writeFileSync(join(d, "n.c"), src);
  execFileSync("gcc", ["-O2", "-o", join(d, "n"), join(d, "n.c")]);
  return Number(execFileSync(join(d, "n"), { encoding: "utf8" }).trim());
}

const NATIVE_SYSCALLS = `#define _GNU_SOURCE
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(void){ struct timespec a,b; long n=2000000; clock_gettime(CLOCK_MONOTONIC,&a);
for(long i=0;i<n;i++) syscall(SYS_getppid); clock_gettime(CLOCK_MONOTONIC,&b);
double s=(b.tv_sec-a.tv_sec)+(b.tv_nsec-a.tv_nsec)/1e9; printf("%.0f\\n", n/s); return 0; }`;

const NATIVE_PIPES = `#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
int main(void){ int a[2], b[2]; pipe(a); pipe(b); long n=100000; char c=0;
if(!fork()){ for(long i=0;i<n;i++){ read(a[0],&c,1); write(b[1],&c,1);} _exit(0);} 
struct timespec t0,t1; clock_gettime(CLOCK_MONOTONIC,&t0);
for(long i=0;i<n;i++){ write(a[1],&c,1); read(b[0],&c,1);} clock_gettime(CLOCK_MONOTONIC,&t1); wait(0);
double s=(t1.tv_sec-t0.tv_sec)+(t1.tv_nsec-t0.tv_nsec)/1e9; printf("%.0f\\n", n/s); return 0; }`;

/** xen_version round trips per second from a lab guest (the hyperv bench uses it as its anchor). */
export function xenHypercallRate(n: number): number {
  const code = nasm(`
    mov r12, ${n}
  l: xor edi, edi
    call HC(17)
    dec r12
    jnz l
    cli
    hlt`);
  const host = new XenHost({ pcpus: 1, memoryMiB: 128 });
  host.traceEnabled = false;
  host.createLabDomain("hc", code);
  const t0 = nowMs();
  host.run();
  return n / ((nowMs() - t0) / 1000);
}

export const figures: Figure[] = [
  {
    name: "xen.hypercall_per_s",
    async run() {
      const N = 200_000;
      const rate = xenHypercallRate(N);
      return { value: rate, unit: "calls/s", anchor: "native Linux getppid() syscalls (gcc, this CPU)", anchor_value: nativeRate(NATIVE_SYSCALLS) };
    },
  },
  {
    name: "xen.evtchn_pingpong_per_s",
    async run() {
      const kernel = buildGuest();
      const rounds = 5000;
      const host = new XenHost({ pcpus: 2, memoryMiB: 256 });
      host.traceEnabled = false;
      const cfg = (n: string, role: string, peer: number) => `name="${n}"\ntype="pvh"\nkernel="${kernel}"\nmemory=16\ncmdline="role=${role} peer=${peer} rounds=${rounds}"`;
      const a = host.createDomain(cfg("ping", "ping", 2));
      host.createDomain(cfg("pong", "pong", 1));
      // Boot until the peers are bound, then time the round trips alone.
      host.run({ until: () => a.consoleLog.includes("ping: offered port") });
      const t0 = nowMs();
      host.run({ until: () => a.consoleLog.includes("round trips") });
      const s = (nowMs() - t0) / 1000;
      if (!a.consoleLog.includes(`ping: ${rounds} round trips`)) throw new Error(`ping-pong did not complete: ${a.consoleLog}`);
      return { value: rounds / s, unit: "round trips/s", anchor: "native pipe ping-pong between two processes", anchor_value: nativeRate(NATIVE_PIPES) };
    },
  },
  {
    name: "xen.xenstore_req_per_s",
    async run() {
      const kernel = buildGuest();
      const rounds = 5000;
      const host = new XenHost({ pcpus: 1, memoryMiB: 128 });
      host.traceEnabled = false;
      const d = host.createDomain(`name="xs"\ntype="pvh"\nkernel="${kernel}"\nmemory=16\ncmdline="role=xsbench rounds=${rounds}"\non_poweroff="preserve"`);
      host.run({ until: () => d.consoleLog.includes("timer: port") });
      const r0 = host.xenstore.requests;
      const t0 = nowMs();
      host.run({ until: () => d.isShutdown });
      const s = (nowMs() - t0) / 1000;
      const n = host.xenstore.requests - r0;
      if (n < rounds / 2 || !d.consoleLog.includes(`xsbench: ${rounds} reads of name=xs`)) throw new Error(`xsbench did not complete (${n} requests)`);
      const t1 = nowMs();
      for (let i = 0; i < 200_000; i++) host.xenstore.read("/local/domain/1/name", 1);
      const direct = 200_000 / ((nowMs() - t1) / 1000);
      return { value: n / s, unit: "req/s", anchor: "XenStore.read() called directly in the host", anchor_value: direct };
    },
  },
  ...sched64x256(),
];

function sched64x256(): Figure[] {
  let result: { wall: number; heap: number; machineMiB: number } | undefined;
  const measure = () => {
    if (result) return result;
    const SPIN = nasm("l: inc rax\n jmp l");
    // Binds VIRQ_TIMER (RBX = vCPU id), then loops: set_timer_op(system_time + 10 ms), block.
    const SLEEP = nasm(`
      mov r15, rsi
      mov [rel bv + 4], ebx
      mov edi, 1
      lea rsi, [rel bv]
      call HC(32)
      mov rax, rbx
      shl rax, 6
      add r15, rax
    again:
      mov byte [r15], 0
      mov qword [r15 + 8], 0
      mov rdi, [r15 + 32 + 16]
      add rdi, 10000000
      call HC(15)
      mov edi, 1
      xor esi, esi
      call HC(29)
      jmp again
    bv: dd 0, 0, 0`);
    global.gc?.();
    const heap0 = process.memoryUsage().heapUsed;
    const machineMiB = 64 * 1024;
    const host = new XenHost({ pcpus: 64, memoryMiB: machineMiB, cpuMHz: 1, quantumNs: 1_000_000 });
    host.traceEnabled = false;
    for (let i = 0; i < 256; i++) host.createLabDomain(`d${i}`, i % 2 ? SLEEP : SPIN, { vcpus: 4, memoryMiB: 16, allVcpusUp: true });
    const t0 = nowMs();
    host.run({ ns: 10e9 });
    const wall = (nowMs() - t0) / 1000;
    const heap = (process.memoryUsage().heapUsed - heap0) / 2 ** 20;
    result = { wall, heap, machineMiB };
    return result;
  };
  return [
    {
      name: "xen.sched_64x256_wall_s",
      async run() {
        const r = measure();
        return { value: r.wall, unit: "s", anchor: "virtual time scheduled (64 pCPUs, 1024 vCPUs at 1 MHz)", anchor_value: 10 };
      },
    },
    {
      name: "xen.sched_64x256_heap_mib",
      async run() {
        const r = measure();
        return { value: r.heap, unit: "MiB", anchor: "emulated machine memory", anchor_value: r.machineMiB };
      },
    },
  ];
}
