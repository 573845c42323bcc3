/**
 * PV block figures, each beside an anchor measured in the same run:
 *  - blkback.seq_read_mb_s: sequential reads through the C guest's blkfront (32 requests of 11
 *    granted pages in flight, blkif ring, event channel, host blkback, dynamic VHD made by qemu-img):
 *    MB of guest data per wall second, beside reading the same bytes from the same VHD with VhdDisk
 *    directly in 44 KiB chunks (no guest, no ring).
 *  - blkback.hypercalls_per_request: the guest's hypercalls per request with a full ring, beside the
 *    same guest issuing one request at a time (depth 1).
 *  - blkback.events_per_request: event-channel notifications (frontend kicks + backend notifies) per
 *    request with a full ring, beside depth 1.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Figure, nowMs } from "./harness";
import { XenHost } from "../src/xen/host";
import { attachDisk } from "../src/xen/blkback";
import { openImage } from "../src/vhd/image";

const GUESTS = join(__dirname, "..", "..", "tests", "guests");
const CFLAGS = ["-O2", "-ffreestanding", "-nostdlib", "-static", "-no-pie", "-fno-pic", "-mno-red-zone", "-mgeneral-regs-only",
  "-fno-stack-protector", "-fcf-protection=none", "-Wl,--build-id=none", "-Wl,--no-warn-rwx-segments", "-Wa,--noexecstack"];
/** 11 pages of 4 KiB per request, 32 requests per ring. */
const REQ_KIB = 44;
const KIB = REQ_KIB * 32 * 8; // 11 MiB

interface Run { mbPerS: number; requests: number; hypercalls: number; events: number; wallMs: number; backendMs: number }

let setup: { kernel: string; vhd: string } | undefined;
function prepare(): { kernel: string; vhd: string } {
  if (setup) return setup;
  const dir = mkdtempSync(join(tmpdir(), "xenlab-blkback-bench-"));
  const kernel = join(dir, "blkfront-guest.elf");
  execFileSync("gcc", [...CFLAGS, "-T", join(GUESTS, "guest.ld"), "-o", kernel, join(GUESTS, "pvh-start.S"), join(GUESTS, "blkfront-guest.c")]);
  const raw = join(dir, "disk.raw");
  const bytes = Buffer.alloc(KIB * 1024 + (1 << 20));
  for (let i = 0; i < bytes.length; i += 4) bytes.writeUInt32LE((i * 2654435761) >>> 0, i);
  writeFileSync(raw, bytes);
  const vhd = join(dir, "disk.vhd");
  execFileSync("qemu-img", ["convert", "-f", "raw", "-O", "vpc", "-o", "subformat=dynamic,force_size=on", raw, vhd]);
  setup = { kernel, vhd };
  return setup;
}

const runs = new Map<number, Run>();
function guestRun(depth: number): Run {
  const cached = runs.get(depth);
  if (cached) return cached;
  const { kernel, vhd } = prepare();
  const kib = depth === 1 ? REQ_KIB * 32 : KIB;
  const host = new XenHost({ pcpus: 1, memoryMiB: 128 });
  host.traceEnabled = false;
  const d = host.createDomain(`name="bench"\ntype="pvh"\nkernel="${kernel}"\nmemory=16\ncmdline="mode=bench kib=${kib} depth=${depth}"\non_poweroff="preserve"`, { paused: true });
  // Hold the backend until the guest has filled the ring and kicked: boot and handshake stay out
  // of the counts, and the kick that starts the run (one hypercall, one event) is put back in.
  const vbd = attachDisk(host, d, `format=vhd, vdev=xvda, access=ro, target=${vhd}`, { autoServe: false });
  host.unpause(d);
  host.run({ until: () => vbd.pendingKick });
  if (!vbd.pendingKick) throw new Error(`blkfront did not start: ${d.consoleLog}`);
  const hc = () => [...d.hypercalls.values()].reduce((a, b) => a + b, 0);
  const h0 = hc() - 1, s0 = { ...vbd.stats, kicks: vbd.stats.kicks - 1 };
  const t0 = nowMs(), b0 = vbd.wallMsServing;
  vbd.autoServe = true;
  host.run({ until: () => d.isShutdown });
  const s = (nowMs() - t0) / 1000;
  if (!d.consoleLog.includes("bench:") || !d.consoleLog.includes("errors 0")) throw new Error(`blkfront bench did not complete: ${d.consoleLog}`);
  const requests = vbd.stats.requests - s0.requests;
  // The guest's closing console line and shutdown are in the count too (two or three hypercalls).
  const r: Run = {
    mbPerS: (vbd.stats.bytesRead - s0.bytesRead) / 1e6 / s,
    requests,
    hypercalls: (hc() - h0) / requests,
    events: (vbd.stats.kicks - s0.kicks + vbd.stats.notifies - s0.notifies) / requests,
    wallMs: s * 1000,
    backendMs: vbd.wallMsServing - b0,
  };
  runs.set(depth, r);
  return r;
}

export const figures: Figure[] = [
  {
    name: "blkback.seq_read_mb_s",
    async run() {
      const r = guestRun(32);
      const { vhd } = prepare();
      const disk = openImage(vhd, "vpc", { readOnly: true });
      const buf = new Uint8Array(REQ_KIB * 1024);
      const t0 = nowMs();
      for (let off = 0; off < KIB * 1024; off += buf.length) disk.read(off, buf);
      const direct = KIB * 1024 / 1e6 / ((nowMs() - t0) / 1000);
      disk.close();
      return { value: r.mbPerS, unit: "MB/s", anchor: "VhdDisk.read of the same bytes in 44 KiB chunks (no guest)", anchor_value: direct, note: `${r.requests} requests of 11 segments, 32 in flight; ${r.backendMs.toFixed(0)} of ${r.wallMs.toFixed(0)} ms in blkback (the rest is the emulated guest)` };
    },
  },
  {
    name: "blkback.hypercalls_per_request",
    async run() {
      const full = guestRun(32), one = guestRun(1);
      return { value: full.hypercalls, unit: "hypercalls/req", anchor: "the same guest with one request in flight", anchor_value: one.hypercalls };
    },
  },
  {
    name: "blkback.events_per_request",
    async run() {
      const full = guestRun(32), one = guestRun(1);
      return { value: full.events, unit: "events/req", anchor: "the same guest with one request in flight", anchor_value: one.events, note: "kicks to the backend + notifications to the frontend" };
    },
  },
];
