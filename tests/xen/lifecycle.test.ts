/** Domain lifecycle: create paused, pause/unpause, destroy, crash with a reason, on_* actions, save/restore. */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { XenHost } from "../../src/xen/host";
import { runXl } from "../../src/xen/xl/xl";
import { labCode } from "./helpers";
import { buildPvhGuest } from "./guest-build";

const SPIN = labCode("l: inc rax\n jmp l");
const host = () => new XenHost({ pcpus: 2, memoryMiB: 256, cpuMHz: 100 });

describe("lifecycle", () => {
  it("create -p leaves the domain paused until unpause; pause stops it", () => {
    const h = host();
    const out = runXl(h, ["create", "-p"], { config: `name = "p"\ntype = "lab"\nmemory = 16` });
    expect(out.stdout).toBe("Parsing config from <cell>\n");
    const d = h.domain("p");
    h.run({ ns: 10e6 });
    expect(d.cpuTime()).toBe(0);
    expect(runXl(h, ["list", "p"]).stdout).toMatch(/--p---/);
    runXl(h, ["unpause", "p"]);
    h.run({ ns: 1e6 });
    // the default lab code is cli; hlt: the only vCPU goes down and the domain powers off
    expect(h.findDomain("p")).toBeUndefined();
    expect(h.dmesg.some((l) => l.includes("all CPUs offline -- powering off"))).toBe(true);

    const s = h.createLabDomain("s", SPIN);
    h.run({ ns: 5e6 });
    const before = s.vcpus[0]!.cpu!.getReg("rax");
    h.pause(s);
    h.run({ ns: 5e6 });
    expect(s.vcpus[0]!.cpu!.getReg("rax")).toBe(before);
    expect(() => h.unpause(h.dom0)).toThrow(/not paused/);
  });

  it("destroy returns the memory; names must be unique; bad configs name the key", () => {
    const h = host();
    const free0 = h.freeMemoryMiB;
    const d = h.createLabDomain("m", SPIN, { memoryMiB: 64 });
    expect(h.freeMemoryMiB).toBeLessThanOrEqual(free0 - 64);
    expect(() => h.createLabDomain("m", SPIN)).toThrow(/already exists/);
    runXl(h, ["destroy", "m"]);
    expect(h.freeMemoryMiB).toBe(free0);
    expect(h.xenstore.exists(`/local/domain/${d.domid}`)).toBe(false);
    const bad = runXl(h, ["create"], { config: `name = "x"\nmemory = "big"` });
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain("memory: must be an integer");
    expect(runXl(h, ["create"], { config: `name = "x"\ntype="lab"\nmemory = 100000` }).stderr).toContain("not enough free memory");
  });

  it("a wild access crashes the domain with the reason shown; on_crash = preserve keeps it for inspection", () => {
    const h = host();
    const d = h.createLabDomain("wild", labCode("mov rax, [0x7fff0000]\n ud2"), { extra: 'on_crash = "preserve"' });
    h.run({ ns: 1e6 });
    // The page tables map all 16 MiB; 0x7fff0000 is not mapped → #PF with no IDT → triple fault.
    expect(d.crashReason ?? "").toMatch(/triple fault/);
    // Give gfn 0x300 back with XENMEM_decrease_reservation, then touch it: no memory there.
    const d2 = h.createLabDomain("gpa", labCode(`
      mov edi, 1
      lea rsi, [rel resv]
      call HC(12)
      mov [rel done], rax
      mov rax, [0x300000]
      ud2
    resv: dq list, 1
      dd 0, 0
      dw 0x7ff0, 0, 0, 0
    list: dq 0x300
    done: dq 0`), { extra: 'on_crash = "preserve"' });
    h.run({ ns: 1e6 });
    expect(d2.crashReason).toMatch(/unhandled read of guest-physical 0x300000/);
    const l = JSON.parse(runXl(h, ["list", "-l"]).stdout) as { config: { c_info: { name: string } }; crash_reason?: string }[];
    expect(l.find((x) => x.config.c_info.name === "gpa")?.crash_reason).toBe(d2.crashReason);
    expect(runXl(h, ["list", "gpa"]).stdout).toMatch(/---sc-/);
  });

  it("on_reboot = restart re-creates the domain (keeping its uuid)", () => {
    const h = host();
    const code = labCode("mov dword [rel r], 1\n mov edi, 2\n lea rsi, [rel r]\n call HC(29)\n ud2\n r: dd 0");
    h.createLabDomain("rb", code);
    h.run({ ns: 1e6 });
    // It reboots itself again at once, so the toolstack keeps restarting it (a reboot loop).
    const again = h.domain("rb");
    expect(again.domid).toBeGreaterThan(1);
    expect(h.toolstackLog).toContain("Domain 1 has shut down, reason code 1 0x1");
    expect(h.toolstackLog).toContain("Action for shutdown reason code 1 is restart");
  });

  it("save then restore: the domain continues where it stopped", () => {
    const h = host();
    const s = h.createLabDomain("saved", SPIN);
    h.run({ ns: 2e6 });
    const rax = s.vcpus[0]!.cpu!.getReg("rax");
    const file = join(mkdtempSync(join(tmpdir(), "xenlab-save-")), "saved.chk");
    const saved = runXl(h, ["save", "saved", file]);
    expect(saved.stderr).toMatch(new RegExp(`^Saving to ${file} new xl format \\(info 0x3/0x0/\\d+\\)\n$`));
    // xl's header: magic, byte order 0x01020304, flags, then the config as JSON of the stated length.
    const img = readFileSync(file);
    expect(img.subarray(0, 32).toString("latin1")).toBe("Xen saved domain, xl format\n \0 \r");
    expect(img.readUInt32LE(32)).toBe(0x01020304);
    expect(img.readUInt32LE(36)).toBe(3);
    const cfgLen = img.readUInt32LE(44);
    expect(saved.stderr).toContain(`/${cfgLen})`);
    expect(JSON.parse(img.subarray(48, 48 + cfgLen).toString()).name).toBe("saved");
    expect(h.findDomain("saved")).toBeUndefined();
    const r = runXl(h, ["restore", file]);
    expect(r.exitCode).toBe(0);
    const d = h.domain("saved");
    expect(d.vcpus[0]!.cpu!.getReg("rax")).toBe(rax);
    h.run({ ns: 2e6 });
    expect(d.vcpus[0]!.cpu!.getReg("rax")).toBeGreaterThan(rax);
    const bad = runXl(h, ["restore", "/etc/hostname"]);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toMatch(/bad magic/);
  });
});

describe("lab domains from xl.cfg", () => {
  it("type = \"lab\" with kernel = a flat binary runs it in long mode", () => {
    const file = join(mkdtempSync(join(tmpdir(), "xenlab-lab-")), "snippet.bin");
    writeFileSync(file, labCode("mov edi, 0\n mov esi, 3\n lea rdx, [rel m]\n call HC(18)\n cli\n hlt\n m: db 'ok', 10"));
    const h = host();
    const out = runXl(h, ["create", "/dev/null"], { config: undefined });
    expect(out.exitCode).toBe(1); // /dev/null has no name
    const r = runXl(h, ["create"], { config: `name = "lab"\ntype = "lab"\nkernel = "${file}"\nmemory = 8` });
    expect(r.exitCode).toBe(0);
    h.run({ ns: 1e6 });
    expect(h.dmesg).toContain("(d1) ok");
  });
});

describe("save/restore of the C PVH guest", () => {
  it("a guest saved in the middle of XenStore traffic finishes after restore", () => {
    const h = new XenHost({ pcpus: 1, memoryMiB: 256 });
    const d = h.createDomain(`name="xs"\ntype="pvh"\nkernel="${buildPvhGuest().path}"\nmemory=16\ncmdline="role=xsbench rounds=400"\non_poweroff="preserve"`);
    h.run({ until: () => h.xenstore.requests > 100 });
    expect(d.isShutdown).toBe(false);
    const file = join(mkdtempSync(join(tmpdir(), "xenlab-save-")), "xs.chk");
    expect(runXl(h, ["save", "xs", file]).exitCode).toBe(0);
    expect(runXl(h, ["restore", file]).exitCode).toBe(0);
    const r = h.domain("xs");
    h.run({ until: () => r.isShutdown, maxInstructions: 5e7 });
    expect(r.consoleLog).toContain("xsbench: 400 reads of name=xs");
    expect(r.shutdownReason).toBe("poweroff");
  });
});
