/**
 * Grant mappings over a domain's own RAM (xen/common/grant_table.c map_grant_ref / unmap_common /
 * gnttab_release_mappings): a translated guest maps a foreign grant at a guest frame that held its
 * own page; unmapping gives that page back; and neither the granter's nor the mapper's death may
 * take a page from the survivor or leave a machine frame allocated to nobody.
 *
 * The guest maps with GNTTABOP_map_grant_ref, spins until the test sets `go`, then unmaps with
 * GNTTABOP_unmap_grant_ref (struct offsets from public/grant_table.h, checked by layout.test.ts).
 */
import { grantRef } from "../../src/xen/types";
import { describe, expect, it } from "vitest";
import { XenHost } from "../../src/xen/host";
import { GTF_permit_access, GTF_reading, GTF_writing } from "../../src/xen/abi";
import { labCode } from "./helpers";
import { FrameUse, gfn } from "../../src/machine";

const MAP_AT = 0x300000; // a RAM page of the mapper's (16 MiB lab domain)
const GRANTED_GFN = 0x200;

function mapperCode(granter: number): Uint8Array {
  return labCode(`
      ; gnttab_map_grant_ref {host_addr, flags = GNTMAP_host_map, ref 8, dom}
      mov qword [rel mp], ${MAP_AT}
      mov dword [rel mp + 8], 2
      mov dword [rel mp + 12], 8
      mov word [rel mp + 16], ${granter}
      mov edi, 0                ; GNTTABOP_map_grant_ref
      lea rsi, [rel mp]
      mov edx, 1
      call HC(20)
      movsx r12, word [rel mp + 18]     ; status
    spin:
      pause
      cmp byte [rel go], 1
      jne spin
      ; gnttab_unmap_grant_ref {host_addr, dev_bus_addr 0, handle}
      mov qword [rel um], ${MAP_AT}
      mov eax, [rel mp + 20]
      mov [rel um + 16], eax
      mov edi, 1                ; GNTTABOP_unmap_grant_ref
      lea rsi, [rel um]
      mov edx, 1
      call HC(20)
      movsx r13, word [rel um + 20]     ; status
      mov byte [rel go], 2
    l: sti
      hlt
      jmp l
    align 8
    mp: times 32 db 0
    um: times 24 db 0
    go: db 0`);
}

function setup() {
  const host = new XenHost({ pcpus: 1, memoryMiB: 256 });
  const before = host.machine.memory.allocatedFrames;
  const g = host.createLabDomain("granter", labCode("l: sti\n hlt\n jmp l"));
  g.guest.write(GRANTED_GFN * 4096, Buffer.from("the granter's page"));
  const code = mapperCode(g.domid);
  const m = host.createLabDomain("mapper", code);
  m.guest.write(MAP_AT, Buffer.from("the mapper's own page"));
  g.gnttab.setEntry(grantRef(8), m.domid, gfn(GRANTED_GFN), GTF_permit_access);
  const goAt = 0x100000 + code.length - 1;
  const go = () => { m.guest.write(goAt, new Uint8Array([1])); };
  const text = (n: number) => Buffer.from(m.guest.read(MAP_AT, n)).toString("latin1");
  return { host, before, g, m, go, goAt, text, cpu: m.vcpus[0]!.cpu! };
}

describe("grant mappings over the mapper's own RAM", () => {
  it("map shows the granter's page at that frame; unmap gives the mapper its own page back", () => {
    const { host, g, m, go, goAt, text, cpu } = setup();
    host.run({ ns: 1e6 });
    expect(cpu.getReg("r12")).toBe(0n); // GNTST_okay
    expect(text(18)).toBe("the granter's page");
    expect(g.gnttab.entry(grantRef(8))!.flags & (GTF_reading | GTF_writing)).toBe(GTF_reading | GTF_writing);
    go();
    host.run({ ns: 1e6 });
    expect(m.guest.u8(goAt)).toBe(2);
    expect(cpu.getReg("r13")).toBe(0n);
    expect(text(21)).toBe("the mapper's own page");
    expect(g.gnttab.entry(grantRef(8))!.flags & (GTF_reading | GTF_writing)).toBe(0);
    expect(g.gnttab.mappingCount + m.gnttab.mappingCount).toBe(0);
  });

  it("the granter dying keeps the mapped frame alive until the mapper unmaps; the mapper keeps its own page", () => {
    const { host, before, g, m, go, goAt, text, cpu } = setup();
    host.run({ ns: 1e6 });
    expect(text(18)).toBe("the granter's page");
    const mapped = host.machine.p2m(m.domid).lookup(gfn(MAP_AT / 4096))!.mfn;
    host.destroyDomain(g);
    // As in Xen, the page stays referenced by the mapping (it is not freed under the mapper,
    // where it could be handed to another domain while still mapped).
    expect(text(18)).toBe("the granter's page");
    expect(host.machine.memory.info(mapped).use).not.toBe(FrameUse.Free);
    go();
    host.run({ ns: 1e6 });
    expect(m.guest.u8(goAt)).toBe(2);
    expect(cpu.getReg("r13")).toBe(0n);
    expect(text(21)).toBe("the mapper's own page");
    expect(host.machine.memory.info(mapped).use).toBe(FrameUse.Free); // the orphan frame went with the last mapping
    host.destroyDomain(m);
    expect(host.machine.memory.allocatedFrames).toBe(before);
  });

  it("the mapper dying frees its displaced page and releases the granter's pin", () => {
    const { host, before, g, m, text } = setup();
    host.run({ ns: 1e6 });
    expect(text(18)).toBe("the granter's page");
    host.destroyDomain(m);
    expect(g.gnttab.entry(grantRef(8))!.flags & (GTF_reading | GTF_writing)).toBe(0);
    expect(Buffer.from(g.guest.read(GRANTED_GFN * 4096, 18)).toString()).toBe("the granter's page");
    host.destroyDomain(g);
    expect(host.machine.memory.allocatedFrames).toBe(before);
  });
});
