/**
 * The PVH domain builder against the PVH boot ABI (docs/misc/pvh.pandoc, hvm/start_info.h):
 * entry from the XEN_ELFNOTE_PHYS32_ENTRY note (cross-checked with binutils' readelf), 32-bit
 * protected mode without paging, EBX = hvm_start_info with the memory map and command line.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { XenHost } from "../../src/xen/host";
import { LAYOUT, XEN_HVM_START_MAGIC_VALUE } from "../../src/xen/abi";
import { CONSOLE_PFN, XENSTORE_PFN } from "../../src/xen/builder";
import { buildPvhGuest } from "./guest-build";
import { labCode } from "./helpers";

describe("PVH builder", () => {
  it("starts vCPU0 at the PHYS32_ENTRY note in 32-bit protected mode, paging off, EBX = hvm_start_info", () => {
    const g = buildPvhGuest();
    const notes = execFileSync("readelf", ["-n", g.path], { encoding: "utf8" });
    // readelf prints "Unknown note type: (0x00000012)" then "description data: 00 00 10 00"
    const m = /\(0x00000012\)\s*\n\s*description data: ([0-9a-f ]+)/.exec(notes)!;
    const entry = Number.parseInt(m[1]!.trim().split(" ").reverse().join(""), 16);
    const host = new XenHost({ pcpus: 1, memoryMiB: 256 });
    const d = host.createDomain(`name="b"\ntype="pvh"\nkernel="${g.path}"\nmemory=48\ncmdline="console=hvc0 hello"`, { paused: true });
    const cpu = d.vcpus[0]!.cpu!;
    expect(Number(cpu.getReg("rip"))).toBe(entry);
    expect(cpu.mode).toBe("protected32");
    expect(cpu.paging).toBe(false);
    const si = Number(cpu.getReg("rbx"));
    const S = LAYOUT.hvm_start_info.f, M = LAYOUT.hvm_memmap_table_entry;
    expect(d.guest.u32(si + S.magic)).toBe(XEN_HVM_START_MAGIC_VALUE);
    expect(d.guest.u32(si + S.version)).toBe(1);
    const n = d.guest.u32(si + S.memmap_entries), mm = Number(d.guest.u64(si + S.memmap_paddr));
    const map = Array.from({ length: n }, (_, i) => ({ addr: Number(d.guest.u64(mm + i * M.size + M.f.addr)), size: Number(d.guest.u64(mm + i * M.size + M.f.size)), type: d.guest.u32(mm + i * M.size + M.f.type) }));
    expect(map[0]).toEqual({ addr: 0, size: 48 << 20, type: 1 });
    expect(map[1]!.type).toBe(2);
    expect(map[1]!.addr).toBeLessThanOrEqual(XENSTORE_PFN * 4096);
    expect(map[1]!.addr + map[1]!.size).toBeGreaterThan(CONSOLE_PFN * 4096);
    const cmd = Number(d.guest.u64(si + S.cmdline_paddr));
    expect(Buffer.from(d.guest.read(cmd, 18)).toString("latin1")).toBe("console=hvc0 hello");
    expect(d.guest.u8(cmd + 18)).toBe(0);
    // shared_info's wall clock: wc_sec = the host's boot epoch (17 July 2006), version even.
    expect(d.sharedInfo.view.getUint32(LAYOUT.shared_info.f.wc_sec, true)).toBe(Date.UTC(2006, 6, 17) / 1000);
    expect(d.sharedInfo.view.getUint32(LAYOUT.shared_info.f.wc_version, true) % 2).toBe(0);
    // The start info does not overlap the loaded kernel.
    expect(si).toBeGreaterThanOrEqual(0x100000 + g.bytes.length - 0x3000);
  });

  it("refuses kernels without the PVH note and segments beyond memory, naming the problem", () => {
    const dir = mkdtempSync(join(tmpdir(), "xenlab-elf-"));
    writeFileSync(join(dir, "p.c"), "void _start(void){ for(;;); }");
    execFileSync("gcc", ["-nostdlib", "-static", "-no-pie", "-o", join(dir, "plain.elf"), join(dir, "p.c")]);
    const host = new XenHost({ pcpus: 1, memoryMiB: 256 });
    const create = (kernel: string, mem = 32) => runCreate(host, `name="x"\ntype="pvh"\nkernel="${kernel}"\nmemory=${mem}`);
    expect(create(join(dir, "plain.elf"))).toMatch(/no XEN_ELFNOTE_PHYS32_ENTRY note: not a PVH kernel/);
    writeFileSync(join(dir, "junk"), "not an elf at all, just text padding padding padding padding padding");
    expect(create(join(dir, "junk"))).toMatch(/ELF e_ident\[EI_MAG\].*not an ELF file/);
    expect(create(join(dir, "missing.elf"))).toMatch(/ENOENT/);
    expect(create(buildPvhGuest().path, 1)).toMatch(/segment at 0x100000\+0x[0-9a-f]+ is beyond the domain's 1 MiB/);
    // A failed build leaves nothing behind.
    expect(host.domains.size).toBe(1);
    expect(host.freeMemoryMiB).toBe(new XenHost({ pcpus: 1, memoryMiB: 256 }).freeMemoryMiB);
  });
});

function runCreate(host: XenHost, cfg: string): string {
  try { host.createDomain(cfg); return "created"; } catch (e) { return (e as Error).message; }
}

describe("SMP bring-up", () => {
  it("VCPUOP_initialise (vcpu_hvm_context, 64-bit) + VCPUOP_up start an AP that runs on another pCPU", () => {
    const host = new XenHost({ pcpus: 2, memoryMiB: 128 });
    const C = LAYOUT.vcpu_hvm_context.f;
    const d = host.createLabDomain("smp", labCode(`
      ; vcpu_hvm_context: mode = 64B, rip = ap, rsp = 0x70000, cr3 = ours, cr0/cr4/efer as now
      mov dword [rel ctx + ${C.mode}], 1
      lea rax, [rel ap]
      mov [rel ctx + ${C["cpu_regs.x86_64.rip"]}], rax
      mov qword [rel ctx + ${C["cpu_regs.x86_64.rsp"]}], 0x70000
      mov rax, cr3
      mov [rel ctx + ${C["cpu_regs.x86_64.cr3"]}], rax
      xor edi, edi            ; VCPUOP_initialise
      mov esi, 1
      lea rdx, [rel ctx]
      call HC(24)
      mov r12, rax
      mov edi, 1              ; VCPUOP_up
      mov esi, 1
      xor edx, edx
      call HC(24)
      mov edi, 3              ; VCPUOP_is_up
      mov esi, 1
      call HC(24)
      mov r13, rax
    spinwait:
      cmp qword [rel flag], 0
      je spinwait
      cli
      hlt
    ap:
      mov qword [rel flag], 0x5a
      cli
      hlt
    align 8
    flag: dq 0
    ctx: times 128 db 0`), { vcpus: 2, extra: 'on_poweroff = "preserve"' });
    host.run({ ns: 5e6 });
    expect(d.vcpus[0]!.cpu!.getReg("r12")).toBe(0n);
    expect(d.vcpus[0]!.cpu!.getReg("r13")).toBe(1n);
    expect(d.vcpus[1]!.cpuTime(host.now)).toBeGreaterThan(0);
    expect(d.hypercalls.get(24)).toBe(3);
    // both vCPUs went down with cli; hlt: the domain powered itself off
    expect(d.shutdownReason).toBe("poweroff");
  });
});
