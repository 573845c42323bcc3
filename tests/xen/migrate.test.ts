/**
 * Live migration between two Xen hosts of one process, pre-copy with log-dirty mode as libxc's
 * xc_sr_save does. The guest writes a running counter into a ring of 1024 pages: page k holds the
 * last counter c with c % 1024 == k. Whatever the rounds did, after the move every page must hold
 * exactly what that rule says for the counter the vCPU has reached, so a write lost between
 * rounds (a page dirtied and not sent again) shows as a wrong page.
 */
import { describe, expect, it } from "vitest";
import "../../src/render/register";
import { XenHost } from "../../src/xen/host";
import { migrateDomain, SPP_MAX_ITERATIONS, SPP_TARGET_DIRTY_COUNT } from "../../src/xen/migrate";
import { runXl } from "../../src/xen/xl/xl";
import { labCode } from "./helpers";
import type { Domain } from "../../src/xen/domain";

const RING = 0x200000, PAGES = 1024;
/** The dirtier: one page written per iteration, `delay` loop turns between writes. */
const dirtier = (delay: number) => labCode(`
    xor eax, eax
    mov rbx, ${RING}
  l: mov rcx, rax
    and rcx, ${PAGES - 1}
    shl rcx, 12
    mov [rbx + rcx], rax
    inc rax
    mov rdx, ${delay}
  d: dec rdx
    jnz d
    jmp l`);

/** Every page of the ring holds what the counter's rule says (the vCPU paused between writes or in the delay loop). */
function checkRing(d: Domain): number {
  const rax = Number(d.vcpus[0]!.cpu!.getReg("rax"));
  for (let k = 0; k < PAGES; k++) {
    const got = Number(Buffer.from(d.guest.read(RING + k * 4096, 8)).readBigUInt64LE(0));
    const want = rax > k ? k + PAGES * Math.floor((rax - 1 - k) / PAGES) : 0;
    if (got !== want && !(k === rax % PAGES && got === rax)) throw new Error(`page ${k}: ${got}, expected ${want} (counter ${rax})`);
  }
  return rax;
}

describe("xl migrate between two Xen hosts", () => {
  it("a guest dirtying pages faster than the link: five pre-copy rounds then stop-and-copy; no write lost; it continues on the target, the source's copy is gone", () => {
    const a = new XenHost({ hostname: "hosta", pcpus: 1, memoryMiB: 64, cpuMHz: 100 });
    const b = new XenHost({ hostname: "hostb", pcpus: 1, memoryMiB: 64, cpuMHz: 100 });
    a.createLabDomain("dirty", dirtier(1));
    a.run({ ns: 2e6 });
    const r = runXl(a, ["migrate", "dirty", "hostb"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Migration successful\.\n$/);
    expect(a.findDomain("dirty")).toBeUndefined();
    const d = b.domain("dirty");
    const m = r.bundle!["text/plain"] as string;
    // libxl's simple_precopy_policy: SPP_MAX_ITERATIONS rounds, then the final one.
    const lines = m.split("\n").filter((l) => /^\s+round /.test(l));
    expect(lines).toHaveLength(SPP_MAX_ITERATIONS + 1);
    expect(lines.at(-1)).toMatch(/stop-and-copy/);
    expect(r.bundle!["image/svg+xml"]).toMatch(/^<svg/);
    b.pause(d);
    const at = checkRing(d);
    b.unpause(d);
    b.run({ ns: 2e6 });
    b.pause(d);
    expect(checkRing(d)).toBeGreaterThan(at);
    expect(runXl(a, ["migrate", "nosuch", "hostb"]).exitCode).toBe(1);
    const bad = runXl(b, ["migrate", "dirty", "nowhere"]);
    expect(bad.stderr).toMatch(/no Xen host named "nowhere"/);
  });

  it("rounds: the first sends every written page, later ones what the guest dirtied meanwhile; a slow writer converges below SPP_TARGET_DIRTY_COUNT", () => {
    const a = new XenHost({ hostname: "slowa", pcpus: 1, memoryMiB: 64, cpuMHz: 100 });
    const b = new XenHost({ hostname: "slowb", pcpus: 1, memoryMiB: 64, cpuMHz: 100 });
    const src = a.createLabDomain("slow", dirtier(50_000)); // ~1 ms of virtual time per page
    a.run({ ns: 30e6 });
    // The guest's own written RAM (shared_info is Xen's page and goes with the state).
    const touched = a.machine.p2m(src.domid).entries().filter((e) => e.mfn !== src.sharedInfoMfn && a.machine.memory.isTouched(e.mfn)).length;
    const m = migrateDomain(a, src, b);
    expect(m.rounds[0]!.pagesSent).toBe(touched);
    // Round 0 took touched × 4 KiB at 1 Gbit/s on the wire; the guest wrote one page per ~1 ms then.
    expect(m.rounds[0]!.durationNs).toBe(Math.ceil((touched * 4096 * 8 * 1e9) / 1e9));
    expect(m.rounds[0]!.pagesDirtied).toBeGreaterThan(0);
    expect(m.rounds[0]!.pagesDirtied).toBeLessThan(SPP_TARGET_DIRTY_COUNT);
    expect(m.rounds).toHaveLength(2);
    expect(m.rounds[1]!.final).toBe(true);
    expect(m.rounds[1]!.pagesSent).toBeGreaterThanOrEqual(m.rounds[0]!.pagesDirtied);
    expect(m.unloggedPages, a.dmesg.slice(-3).join("\n")).toBe(0);
    const d = b.domain("slow");
    b.pause(d);
    checkRing(d);
    // The migration object shows itself (text and bars).
    expect(m.toMimeBundle()["text/plain"]).toMatch(/^migration of slow: slowa → slowb, 2 rounds/);
  });

  it("Xen's own writes into a logged page (a hypercall's copy_to_guest, the page walker's dirty bit) succeed and are logged", () => {
    // xen_version(XENVER_extraversion, buf) copies 16 bytes into a page of a 64-page ring (one
    // never written before the migration for most); R12 counts failed calls, R13 all calls.
    const BUF = 0x300000;
    const code = labCode(`
        xor r12, r12
        xor r13, r13
      l: mov rsi, r13
        and rsi, 63
        shl rsi, 12
        add rsi, ${BUF}
        mov edi, 1                 ; XENVER_extraversion (public/version.h)
        call HC(17)                ; __HYPERVISOR_xen_version
        test rax, rax
        jz ok
        inc r12
      ok: inc r13
        mov rdx, 2000
      d: dec rdx
        jnz d
        jmp l`);
    const a = new XenHost({ hostname: "copya", pcpus: 1, memoryMiB: 64, cpuMHz: 100 });
    const b = new XenHost({ hostname: "copyb", pcpus: 1, memoryMiB: 64, cpuMHz: 100 });
    const src = a.createLabDomain("copier", code);
    a.run({ ns: 2e6 });
    const before = Number(src.vcpus[0]!.cpu!.getReg("r13"));
    const m = migrateDomain(a, src, b);
    // Every page Xen wrote was logged and resent: none differs from what was sent without a logged write.
    expect(m.unloggedPages, a.dmesg.slice(-3).join("\n")).toBe(0);
    const d = b.domain("copier");
    b.run({ ns: 10e6 });
    b.pause(d);
    const cpu = d.vcpus[0]!.cpu!;
    const calls = Number(cpu.getReg("r13"));
    expect(calls).toBeGreaterThan(before + 64);
    expect(Number(cpu.getReg("r12")), "hypercalls that failed").toBe(0);
    for (let k = 0; k < 64; k++) expect(Buffer.from(d.guest.read(BUF + k * 4096, 10)).toString("latin1"), `page ${k}`).toBe(".0-xenlab\0");
  });
});
