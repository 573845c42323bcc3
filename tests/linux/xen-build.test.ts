/**
 * Debian's bzImage and busybox initramfs given to `xl create` as they come: the builder
 * decompresses the kernel itself, passes the ramdisk as hvm_start_info module 0 and points
 * rsdp_paddr at libxl's ACPI tables. Checked from outside: the vmlinux's own ELF note (readelf),
 * the initrd file's bytes, and the tables' signatures.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { LAYOUT } from "../../src/xen/abi";
import { XenHost } from "../../src/xen/host";
import { linuxGuest } from "../support/linux-guest";

describe("xl create with Debian's bzImage and ramdisk", () => {
  it("enters the kernel at its PVH entry with start_info carrying the ramdisk module, cmdline and the RSDP", () => {
    const g = linuxGuest();
    const notes = execFileSync("readelf", ["-n", g.vmlinux], { encoding: "utf8" });
    const m = /\(0x00000012\)\s*\n\s*description data: ([0-9a-f ]+)/.exec(notes)!;
    const entry = Number.parseInt(m[1]!.trim().split(" ").reverse().join(""), 16);
    const host = new XenHost({ pcpus: 2, memoryMiB: 512 });
    const d = host.createDomain(`name = "deb"\ntype = "pvh"\nkernel = "${g.bzImage}"\nramdisk = "${g.initrd}"\nmemory = 256\nvcpus = 2\nroot = "/dev/xvda1"\nextra = "console=hvc0"\n`, { paused: true });
    const cpu = d.vcpus[0]!.cpu!;
    expect(Number(cpu.getReg("rip"))).toBe(entry);
    const si = Number(cpu.getReg("rbx"));
    const S = LAYOUT.hvm_start_info.f, L = LAYOUT.hvm_modlist_entry.f, M = LAYOUT.hvm_memmap_table_entry;
    expect(d.guest.u32(si + S.nr_modules)).toBe(1);
    const mod = Number(d.guest.u64(si + S.modlist_paddr));
    const at = Number(d.guest.u64(mod + L.paddr)), size = Number(d.guest.u64(mod + L.size));
    const initrd = readFileSync(g.initrd);
    expect(size).toBe(initrd.length);
    expect(Buffer.from(d.guest.read(at, size)).equals(initrd)).toBe(true);
    const cmd = Number(d.guest.u64(si + S.cmdline_paddr));
    expect(Buffer.from(d.guest.read(cmd, 40)).toString("latin1").split("\0")[0]).toBe("root=/dev/xvda1 console=hvc0");
    const rsdp = Number(d.guest.u64(si + S.rsdp_paddr));
    expect(Buffer.from(d.guest.read(rsdp, 8)).toString("latin1")).toBe("RSD PTR ");
    const xsdt = Number(d.guest.u64(rsdp + 24));
    const entries = [Number(d.guest.u64(xsdt + 36)), Number(d.guest.u64(xsdt + 44))];
    expect(entries.map((a) => Buffer.from(d.guest.read(a, 4)).toString("latin1"))).toEqual(["FACP", "APIC"]);
    // The memory map marks the tables' pages ACPI (type 3), and the ramdisk lies in RAM.
    const n = d.guest.u32(si + S.memmap_entries), mm = Number(d.guest.u64(si + S.memmap_paddr));
    const map = Array.from({ length: n }, (_, i) => ({ addr: Number(d.guest.u64(mm + i * M.size + M.f.addr)), size: Number(d.guest.u64(mm + i * M.size + M.f.size)), type: d.guest.u32(mm + i * M.size + M.f.type) }));
    expect(map.find((e) => e.type === 3 && e.addr <= rsdp && rsdp < e.addr + e.size)).toBeDefined();
    expect(at + size).toBeLessThanOrEqual(map[0]!.size);
  }, 300_000);

  it("a ramdisk that does not fit, and a truncated bzImage, are refused at create with the reason; the host stays up", () => {
    const g = linuxGuest();
    const host = new XenHost({ pcpus: 1, memoryMiB: 512 });
    const big = new Uint8Array(40 << 20);
    expect(() => host.createDomain(`name = "small"\ntype = "pvh"\nkernel = "${g.bzImage}"\nmemory = 64\n`, { ramdisk: big })).toThrow(/ramdisk .* does not fit/);
    const cut = new Uint8Array(readFileSync(g.bzImage)).subarray(0, 1 << 20);
    expect(() => host.createDomain(`name = "cut"\ntype = "pvh"\nkernel = "/x"\nmemory = 64\n`, { kernel: cut })).toThrow(/bzImage is truncated/);
    expect([...host.domains.values()].map((x) => x.name)).toEqual(["Domain-0"]);
  }, 300_000);
});
