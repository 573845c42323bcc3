/**
 * A C child guest (gcc -ffreestanding, Linux's VMBus/storvsc struct layouts with _Static_asserts)
 * discovers Hyper-V, installs the hypercall page, enables the SynIC, negotiates VMBus, opens a
 * storage channel and reads sectors of a VHD made by qemu-img from random bytes: the bytes the guest
 * got are compared with the raw file qemu-img converted.
 */
import { describe, expect, it, beforeAll } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { ElfFile } from "../../src/machine";
import { VhdDisk } from "../../src/vhd";
import { HypervHost, HV_STATUS, HVCALL, CHILD_PRIVILEGES, VMBUS_VERSION, decodeResult } from "../../src/hyperv";
import { buildHvGuest } from "./guest-build";

let raw: Buffer, vhdPath: string, elf: Uint8Array, syms: Map<string, bigint>;

beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), "xenlab-hv-"));
  raw = randomBytes(2 * 1024 * 1024);
  writeFileSync(join(dir, "disk.raw"), raw);
  vhdPath = join(dir, "disk.vhd");
  execFileSync("qemu-img", ["convert", "-f", "raw", "-O", "vpc", "-o", "subformat=dynamic", join(dir, "disk.raw"), vhdPath]);
  elf = buildHvGuest();
  syms = new ElfFile(elf).symbolMap();
});

function boot(path = vhdPath, vmbusVersions?: number[]) {
  const h = new HypervHost({ lps: 2, vmbusVersions });
  const p = h.createChild({ name: "sles10", memoryMiB: 8, elf });
  const disk = VhdDisk.open(path);
  h.attachDisk(p, disk, "disk.vhd");
  const r = h.run({ until: () => p.console.includes("done\n"), maxInstructions: 50_000_000 });
  return { h, p, r, disk };
}

describe("Hyper-V child guest over VMBus", () => {
  it("is refused by a host that offers only VMBus 2.4 (WIN8); a version the host does not implement is named", () => {
    const { h, p, r } = boot(vhdPath, [VMBUS_VERSION.WIN8]);
    expect(r.stoppedBy).toBe("until");
    expect(p.console).toContain("vmbus: no version");
    expect(h.vmbus(p).requested).toEqual([VMBUS_VERSION.WS2008]);
    expect(h.vmbus(p).version).toBeUndefined();
    expect(() => new HypervHost({ vmbusVersions: [(3 << 16) | 0] })).toThrow(/vmbusVersions: VMBus 3\.0 is not a version this host implements \(WS2008 0\.13, WIN7 1\.1, WIN8 2\.4\)/);
    expect(() => new HypervHost({ vmbusVersions: [] })).toThrow(/vmbusVersions is empty/);
    // By default the 2008 host's versions (0.13 and 1.1).
    expect(new HypervHost().vmbusVersions).toEqual([VMBUS_VERSION.WS2008, VMBUS_VERSION.WIN7]);
  });

  it("discovers Hyper-V, posts and receives messages, reads VHD sectors through storvsp", () => {
    const { h, p, r } = boot();
    expect(r.stoppedBy).toBe("until");
    const con = p.console;
    expect(con).toContain("vendor Microsoft Hv max 40000006 interface 31237648");
    expect(con).toContain(`privileges ${CHILD_PRIVILEGES.toString(16).padStart(12, "0")}`);
    expect(con).toContain(`partition id ${p.id.toString(16).padStart(4, "0")} status 0000`);
    expect(con).toContain("vmbus 0.13 ok");
    expect(con).toContain("offer relid 01");
    expect(con).toContain("type ba6163d9"); // HV_SCSI_GUID Data1, stored little-endian
    expect(con).toContain("channel open");
    // The VHD holds 2 MiB of qemu-img's data; qemu's vpc geometry may round the size down to CHS.
    const cap = /capacity ([0-9a-f]{8}) x 0200/.exec(con);
    expect(cap).not.toBeNull();
    const sectors = parseInt(cap![1]!, 16);
    const info = JSON.parse(execFileSync("qemu-img", ["info", "--output=json", vhdPath]).toString());
    expect(sectors * 512).toBe(info["virtual-size"]);
    // The sectors the guest read, from its memory, against the raw bytes qemu-img converted.
    const at = Number(syms.get("result_sectors"));
    const got = Buffer.from(p.memory.read(at, 4096));
    expect(got.equals(raw.subarray(5 * 512, 13 * 512))).toBe(true);
    expect(con).toContain(`sector 5: ${raw.subarray(2560, 2576).toString("hex")}`);
    // Status words the guest kept.
    const st = (i: number) => p.memory.u64(Number(syms.get("result_status")) + i * 8);
    expect(Number(st(0))).toBe(HV_STATUS.ACCESS_DENIED); // children cannot create partitions
    expect(decodeResult(st(1)).status).toBe(HV_STATUS.SUCCESS); // NotifyLongSpinWait
    expect(decodeResult(st(2))).toEqual({ status: 0, repsCompleted: 40 }); // rep call, continued
    // The 40-rep call took 3 entries (16 + 16 + 8): two continuations seen from outside.
    const flush = h.trace.filter((t) => t.code === HVCALL.FLUSH_VIRTUAL_ADDRESS_LIST);
    expect(flush.map((t) => [t.repStart, t.repsCompleted, t.continued])).toEqual([[0, 16, true], [16, 32, true], [32, 40, false]]);
    const bus = h.vmbus(p);
    expect(bus.log.map((m) => m.dir + ":" + m.type)).toEqual([
      "in:INITIATE_CONTACT", "out:VERSION_RESPONSE", "in:REQUESTOFFERS", "out:OFFERCHANNEL", "out:ALLOFFERS_DELIVERED",
      "in:GPADL_HEADER", "out:GPADL_CREATED", "in:OPENCHANNEL", "out:OPENCHANNEL_RESULT",
    ]);
    expect(bus.channels[0]!.vsp.stats).toMatchObject({ requests: 3, reads: 1, bytesRead: 4096, writes: 1, bytesWritten: 512, errors: 0 });
    expect(p.vp(0).synic.counters.eoms).toBeGreaterThanOrEqual(1); // offers queued behind each other
    expect(h.toMimeBundle()["text/plain"]).toContain("sles10");
    expect(bus.toMimeBundle()["text/plain"]).toContain("relid 1");
    // The ring picture marks both indices of both rings; all requests were consumed (R == W).
    const svg = String(bus.toMimeBundle()["image/svg+xml"]);
    expect(svg.match(/<title>read_index (\d+)<\/title>/g)).toHaveLength(2);
    const ch = bus.channels[0]!;
    expect(ch.outbound!.readIndex).toBe(ch.outbound!.writeIndex);
    expect(svg).toContain(`R ${ch.inbound!.readIndex} W ${ch.inbound!.writeIndex}`);
    expect(String(p.toMimeBundle()["image/svg+xml"])).toContain("SINT2: vector 80");
    expect(p.toMimeBundle()["text/plain"]).toContain("SINT2");
  });

  it("a sector the guest wrote through storvsp is in the VHD, as qemu-img reads it", () => {
    const copy = vhdPath.replace(/\.vhd$/, "-w.vhd");
    execFileSync("cp", [vhdPath, copy]);
    const { p, disk } = boot(copy);
    expect(p.console).toMatch(/completion 0102 type 0b srb 01 len 0200/);
    disk.flush();
    disk.close();
    const rawOut = copy.replace(/\.vhd$/, ".raw");
    execFileSync("qemu-img", ["convert", "-f", "vpc", "-O", "raw", copy, rawOut]);
    const back = readFileSync(rawOut);
    const want = Buffer.alloc(512);
    for (let i = 0; i < 512; i++) want[i] = "Longhorn wrote this sector. ".charCodeAt(i % 28);
    expect(back.subarray(100 * 512, 101 * 512).equals(want)).toBe(true);
    // Everything else is untouched.
    expect(back.subarray(0, 100 * 512).equals(raw.subarray(0, 100 * 512))).toBe(true);
    expect(back.subarray(101 * 512, 200 * 512).equals(raw.subarray(101 * 512, 200 * 512))).toBe(true);
  });

  it("is deterministic: the same run gives the same console, time and trace", () => {
    const a = boot(), b = boot();
    expect(a.p.console.replace(/sector 5.*\n/, "")).toBe(b.p.console.replace(/sector 5.*\n/, ""));
    expect(a.h.now).toBe(b.h.now);
    expect(a.h.trace.map((t) => t.name + t.status)).toEqual(b.h.trace.map((t) => t.name + t.status));
  });
});
