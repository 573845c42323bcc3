/**
 * The PV MMU (xen/arch/x86/mm.c) driven by a PV guest kernel (tests/xen/programs/pv-mmu.asm,
 * assembled by nasm with the numbers of libxen-dev's headers): `xl create` with type = "pv" lays
 * the guest out as libxenguest does (xg_dom_x86.c), pins its L4 and starts it in ring 3 on its own
 * page tables; the guest builds, pins and switches page tables and is refused what Xen refuses,
 * each refusal with the errno Xen returns (read from xen/errno.h, not from the model). The frames
 * are then read from machine memory to see that what the guest was told is what happened.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { gfn, Mfn, mfn, PAGE_SIZE } from "../../src/machine";
import { XenHost } from "../../src/xen/host";
import type { Domain } from "../../src/xen/domain";
import { PGT } from "../../src/xen/pv/abi";
import { labCode } from "./helpers";
import { XEN_INCLUDES, runC } from "./headers";
import { buildPvProgram } from "./pv-build";
import { buildPvhGuest } from "./guest-build";

const VIRT_BASE = -0x80000000; // 0xffffffff80000000 as the signed number the model uses

/** The errno values as xen/errno.h defines them (a C program prints them). */
const ERRNO = Object.fromEntries(runC(`${XEN_INCLUDES}\nint main(void){${["EINVAL", "EBUSY", "EPERM", "ENOSYS", "ESRCH"]
  .map((e) => `printf("${e} %d\\n", XEN_${e});`).join("")}return 0;}`).trim().split("\n").map((l) => { const [k, v] = l.split(" "); return [k!, -Number(v)]; }));

let host: XenHost;
let d: Domain;
let results: number[];
/** Frames of the guest's scratch pages S0..S5 (from its own p2m list), and the builder's L4. */
let S: Mfn[];
let l4: Mfn;

const pv = (h: XenHost, name: string, defines: Record<string, number | true> = {}) => {
  const foreign = h.machine.p2m(h.dom0.domid).lookup(gfn(0))!.mfn;
  const prog = buildPvProgram("pv-mmu", { FOREIGN_MFN: foreign, MMIO_MFN: h.machine.memory.frameCount + 0x100, ...defines });
  return h.createDomain(`name = "${name}"\ntype = "pv"\nkernel = "${prog.path}"\nmemory = 16\non_poweroff = "preserve"\non_crash = "preserve"\n`);
};
/** A guest variable by symbol, through the domain's pseudo-physical space (va - VIRT_BASE). */
const sym = (dom: Domain, name: string, i = 0) => BigInt.asIntN(64, dom.guest.u64(dom.symbols.get(name)! - VIRT_BASE + i * 8));

beforeAll(() => {
  host = new XenHost({ pcpus: 1, memoryMiB: 256 });
  d = pv(host, "pv1");
  host.run({ ns: 20_000_000 });
  results = Array.from({ length: Number(sym(d, "nresults")) }, (_, i) => Number(sym(d, "results", i)));
  const s0 = Number(sym(d, "s0pfn"));
  S = Array.from({ length: 6 }, (_, k) => d.guest.mfnOf(gfn(s0 + k))!);
  l4 = mfn(Number(sym(d, "l4mfn")));
});

describe("type = \"pv\": the domain as libxenguest builds it", () => {
  it("boots in ring 3 on the builder's page tables, reads start_info, and powers off", () => {
    expect(host.dmesg).toContain("(d1) xen-3.0-x86_64pv-mmu done");
    expect(d.shutdownReason).toBe("poweroff");
    expect(d.kind).toBe("pv");
  });

  it("start_info is filled as start_info_x86_64 fills it, at the offsets of xen.h's struct start_info", () => {
    const offs = Object.fromEntries(runC(`${XEN_INCLUDES}\nint main(void){${["nr_pages", "shared_info", "store_mfn", "store_evtchn", "console.domU.mfn", "console.domU.evtchn", "pt_base", "nr_pt_frames", "mfn_list", "cmd_line"]
      .map((f) => `printf("${f} %zu\\n", offsetof(start_info_t, ${f}));`).join("")}return 0;}`).trim().split("\n").map((l) => { const [k, v] = l.split(" "); return [k!, Number(v)]; }));
    const si = d.startInfoPfn! * PAGE_SIZE, g = d.guest;
    expect(new TextDecoder().decode(g.read(si, 15))).toBe("xen-3.0-x86_64\0");
    expect(Number(g.u64(si + offs.nr_pages!))).toBe(16 * 256);
    expect(Number(g.u64(si + offs.shared_info!))).toBe(d.sharedInfoMfn * PAGE_SIZE); // a machine address
    expect(Number(g.u64(si + offs.store_mfn!))).toBe(g.mfnOf(d.storeGfn)); // machine frames: a PV guest is not translated
    expect(Number(g.u64(si + offs["console.domU.mfn"]!))).toBe(g.mfnOf(d.consoleGfn));
    expect(g.u32(si + offs.store_evtchn!)).toBe(d.storePort);
    expect(g.u32(si + offs["console.domU.evtchn"]!)).toBe(d.consolePort);
    // xc_dom_build_image's order: p2m list, start_info, xenstore, console, page tables, boot stack
    expect(d.storeGfn).toBe(d.startInfoPfn! + 1);
    expect(d.consoleGfn).toBe(d.startInfoPfn! + 2);
    const ptBase = Number(BigInt.asIntN(64, g.u64(si + offs.pt_base!)));
    expect((ptBase - VIRT_BASE) / PAGE_SIZE).toBe(d.startInfoPfn! + 3);
    // mfn_list is the guest's pfn → mfn array
    const list = Number(BigInt.asIntN(64, g.u64(si + offs.mfn_list!))) - VIRT_BASE;
    for (const pfn of [0, 1, 100, 4095]) expect(Number(g.u64(list + pfn * 8))).toBe(g.mfnOf(gfn(pfn)));
    // XenStore's ring-ref for a PV guest is the machine frame (libxl), and xenstored serves that page.
    expect(host.xenstore.read(`/local/domain/${d.domid}/store/ring-ref`)).toBe(String(g.mfnOf(d.storeGfn)));
  });

  it("the initial tables map the tables themselves read-only, and Xen marks every entry a user mapping", () => {
    const si = d.startInfoPfn! * PAGE_SIZE;
    const nr = Number(d.guest.u64(si + 96)), first = d.startInfoPfn! + 3;
    // Walk from the L4 by hand, in machine memory, to the L1 entry of each table page.
    const ent = (m: number, slot: number) => host.machine.memory.view(mfn(m)).getBigUint64(slot * 8, true);
    for (let pfn = first - 1; pfn <= first + nr; pfn++) {
      const va = BigInt.asUintN(48, BigInt(VIRT_BASE + pfn * PAGE_SIZE));
      let t: number = l4, e = 0n;
      for (const sh of [39n, 30n, 21n, 12n]) {
        e = ent(t, Number((va >> sh) & 511n));
        expect(e & 1n, `present at shift ${sh}`).toBe(1n);
        expect(e & 4n, "U set by adjust_guest_lNe").toBe(4n);
        t = Number((e >> 12n) & 0xff_ffff_ffffn);
      }
      expect(t).toBe(d.guest.mfnOf(gfn(pfn)));
      const isTable = pfn >= first && pfn < first + nr;
      expect((e & 2n) === 0n, `pfn ${pfn} read-only iff a page table`).toBe(isTable);
      if (!isTable) continue;
      expect(host.pageTypes.typeOf(t).validated).toBe(true);
    }
    // _PAGE_GUEST_KERNEL (entry bit 52) on the kernel's L1 mappings (x86_64/page.h)
    const kernelVa = BigInt.asUintN(48, BigInt(VIRT_BASE));
    let t: number = l4, e = 0n;
    for (const sh of [39n, 30n, 21n, 12n]) { e = ent(t, Number((kernelVa >> sh) & 511n)); t = Number((e >> 12n) & 0xff_ffff_ffffn); }
    expect((e >> 52n) & 1n).toBe(1n);
  });

  it("a kernel without Xen's notes, or built for another loader, is refused by the builder", () => {
    const h = new XenHost({ pcpus: 1, memoryMiB: 128 });
    const create = (kernel: string) => () => h.createDomain(`name = "x"\ntype = "pv"\nkernel = "${kernel}"\nmemory = 16\n`);
    expect(create("/bin/true")).toThrow("Not a Xen-ELF image: No ELF notes"); // Debian's own ELF: no Xen notes
    expect(create(buildPvhGuest().path)).toThrow(/Will only load images built for/); // a PVH kernel's notes
    expect(h.domains.size).toBe(1); // only dom0: the half-built domains were destroyed
  });
});

describe("HYPERVISOR_mmu_update / mmuext_op / update_va_mapping from the guest", () => {
  const expected = () => [
    ["pin an L1 that is mapped writable", ERRNO.EINVAL],
    ["remap it read-only (update_va_mapping)", 0],
    ["pin it as an L1", 0],
    ["map the pinned L1 writable", ERRNO.EBUSY],
    ["L1 entry → a frame dom0 owns", ERRNO.EBUSY],
    ["L1 entry → MMIO (beyond RAM)", ERRNO.EPERM],
    ["L1 entry with PCD", ERRNO.EINVAL],
    ["mmu_update into an ordinary page", 0],
    ["the write landed", 0xfeedface],
    ["mmu_update of a frame not the caller's", ERRNO.EINVAL],
    ["L2 read-only", 0], ["L3 read-only", 0], ["L4 read-only", 0],
    ["pin the new L4 (validates the tree)", 0],
    ["MMUEXT_NEW_BASEPTR to it", 0],
    ["VA 0 → S1 on the new tables", 0x5eedf00dcafe1234],
    ["L1 entry → an L2, writable", ERRNO.EBUSY],
    ["L1 entry → an L2, read-only", 0],
    ["2 MiB superpage in an L2", ERRNO.EINVAL],
    ["L4 slot 256 (Xen's)", ERRNO.EINVAL],
    ["unpin an L1 an L2 still uses", 0],
    ["unpin it again", ERRNO.EINVAL],
    ["unpin a page never pinned", ERRNO.EINVAL],
    ["pin an L1 as an L2", ERRNO.EINVAL],
    ["unmap VA 0", 0],
    ["MMU_MACHPHYS_UPDATE of its own frame", 0],
    ["MMU_MACHPHYS_UPDATE of dom0's frame", ERRNO.EINVAL],
    ["mmuext_op command 14 (undefined)", ERRNO.ENOSYS],
    ["back to the builder's L4", 0],
    ["unpin the new L4", 0],
    ["the old L1 may be writable again", 0],
    ["update_va_mapping where no L1 exists", ERRNO.EINVAL],
  ] as const;

  it("every step returns what Xen returns (errno values from xen/errno.h)", () => {
    const exp = expected();
    expect(results.length).toBe(exp.length);
    const got = exp.map(([what], i) => `${i} ${what}: ${results[i] === 0x5eedf00dcafe1234 ? "magic" : results[i]}`);
    const want = exp.map(([what, v], i) => `${i} ${what}: ${v === 0x5eedf00dcafe1234 ? "magic" : v}`);
    expect(got).toEqual(want);
  });

  it("the store through VA 0 on the guest's own tables reached S1's machine frame", () => {
    expect(host.machine.memory.view(S[1]!).getBigUint64(0, true)).toBe(0x5eedf00dcafe1234n);
    // and the plain mmu_update write at offset 16 of S2
    expect(host.machine.memory.view(S[2]!).getBigUint64(16, true)).toBe(0xfeedfacen);
  });

  it("the entries Xen accepted are in the tables, adjusted; the refused ones never reached memory", () => {
    const ent = (m: Mfn, slot: number) => host.machine.memory.view(m).getBigUint64(slot * 8, true);
    // S3 (the L2) entry 0 → S0 with U added by adjust_guest_l2e (the guest wrote P|RW|A)
    expect(ent(S[3]!, 0)).toBe((BigInt(S[0]!) << 12n) | 0x27n);
    // S0 entry 2 is the read-only mapping of S3 (step 17), not the refused writable one
    expect(ent(S[0]!, 2) & 0xf_ffff_ffff_f000n).toBe(BigInt(S[3]!) << 12n);
    expect(ent(S[0]!, 2) & 2n).toBe(0n);
    expect((ent(S[0]!, 2) >> 52n) & 1n, "_PAGE_GUEST_KERNEL added (adjust_guest_l1e)").toBe(1n);
    // S0 entry 1: every attempt was refused, it is still empty
    expect(ent(S[0]!, 1)).toBe(0n);
    // no superpage in S3, nothing in Xen's L4 slot 256
    expect(ent(S[3]!, 1)).toBe(0n);
    expect(ent(S[5]!, 256)).toBe(0n);
    // VA 0 unmapped (step 24)
    expect(ent(S[0]!, 0)).toBe(0n);
  });

  it("type counts end as Xen's would: the unpinned tree lost its types, the builder's L4 is pinned and in use", () => {
    for (const k of [0, 3, 4, 5]) expect(host.pageTypes.typeOf(S[k]!).count, `S${k}`).toBe(k === 0 ? 1 : 0); // S0 is mapped writable again
    expect(host.pageTypes.typeOf(S[0]!).type).toBe(PGT.writable);
    const base = host.pageTypes.typeOf(l4);
    expect(base.type).toBe(PGT.l4);
    expect(base.pinned).toBe(true);
    expect(base.count).toBe(2); // the pin and vCPU 0's base (bootlate_pv, then new_guest_cr3)
    expect(d.vcpus[0]!.guestTable).toBe(l4);
    expect(Number(d.vcpus[0]!.cpu!.getReg("cr3"))).toBe(l4 * PAGE_SIZE);
  });

  it("MMU_MACHPHYS_UPDATE set the M2P entry; the builder set the others", () => {
    expect(host.pageTypes.machToPhys(S[1]!)).toBe(0x12345);
    expect(host.pageTypes.machToPhys(d.guest.mfnOf(gfn(7))!)).toBe(7);
  });

  it("a store into a read-only page table is a page fault; with no trap table Xen crashes the domain", () => {
    const h = new XenHost({ pcpus: 1, memoryMiB: 256 });
    const bad = pv(h, "stray", { STRAY_WRITE: true });
    h.run({ ns: 20_000_000 });
    expect(bad.shutdownReason).toBe("crash");
    expect(bad.crashReason).toMatch(/Unhandled fault in a PV guest/);
    expect(h.dmesg.join("\n")).not.toContain("pv-mmu done");
    // the L4 entry it aimed at is untouched
    const s5 = bad.guest.mfnOf(gfn(Number(sym(bad, "s0pfn")) + 5))!;
    expect(h.machine.memory.view(s5).getBigUint64(8, true)).toBe(0n);
  });

  it("an HVM-style guest has no mmu_update or update_va_mapping (-ENOSYS), and mmuext_op refuses it (-EINVAL)", () => {
    const h = new XenHost({ pcpus: 1, memoryMiB: 256 });
    const lab = h.createLabDomain("hvm", labCode(`
      xor edi, edi
      xor esi, esi
      call HC(1)
      mov [rel out], rax
      xor edi, edi
      call HC(14)
      mov [rel out + 8], rax
      xor edi, edi
      mov r10d, 0x7ff0
      call HC(26)
      mov [rel out + 16], rax
      cli
      hlt
      align 8
      out: dq 0, 0, 0`), { extra: 'on_poweroff = "preserve"' });
    h.run({ ns: 2e6 });
    const code = lab.kernelImage!;
    const outAt = 0x100000 + code.length - 24;
    expect([0, 8, 16].map((o) => Number(BigInt.asIntN(64, lab.guest.u64(outAt + o))))).toEqual([ERRNO.ENOSYS, ERRNO.ENOSYS, ERRNO.EINVAL]);
  });
});
