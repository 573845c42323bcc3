/** Machine memory, frame table and P2M bookkeeping; shared decode cache across vCPUs. */
import { describe, expect, it } from "vitest";
import { FrameError, FrameUse, GuestPhysError, Machine, Vcpu, buildPageTables, domId, gfn, mfn } from "../../src/machine";
import { nasm } from "./helpers";

describe("machine memory", () => {
  it("allocates frames in the frame table without creating bytes until touched", () => {
    const m = new Machine(16 * 1024); // 16 GiB of machine memory
    expect(m.memory.frameCount).toBe(4 * 1024 * 1024);
    const frames = m.populate(domId(3), gfn(0), 262144); // 1 GiB to dom3
    expect(m.memory.allocatedFrames).toBe(262144);
    expect(m.memory.touchedFrames).toBe(0);
    const g = m.guest(domId(3));
    g.setU32(0x12345678, 0xcafebabe);
    expect(g.u32(0x12345678)).toBe(0xcafebabe);
    expect(m.memory.touchedFrames).toBe(1);
    expect(m.memory.info(frames[0x12345]!)).toMatchObject({ owner: 3, use: FrameUse.Ram, touched: true });
    expect(m.memory.info(frames[0]!)).toMatchObject({ touched: false });
  });

  it("names bad frames and unmapped guest-physical addresses in typed errors", () => {
    const m = new Machine(1);
    expect(() => m.memory.view(mfn(256))).toThrow(FrameError);
    expect(() => m.memory.allocate(domId(1), 257)).toThrow(/out of machine memory/);
    expect(() => m.guest(domId(1)).u8(0x1000)).toThrow(GuestPhysError);
    const [f] = m.memory.allocate(domId(1), 1);
    m.memory.free(f!);
    expect(() => m.memory.free(f!)).toThrow(/freed twice/);
  });

  it("typed little-endian accessors cross page boundaries", () => {
    const m = new Machine(1);
    m.populate(domId(1), gfn(0), 4);
    const g = m.guest(domId(1));
    g.setU64(4096 - 3, 0x0102030405060708n);
    expect(g.u64(4096 - 3)).toBe(0x0102030405060708n);
    expect(g.u8(4096 - 3)).toBe(8);
    expect(g.u16(4096)).toBe(0x0405);
  });

  it("P2M remaps are seen by running vCPUs; freeing a frame drops code decoded from it", () => {
    const m = new Machine(4);
    const d = domId(1);
    m.populate(d, gfn(0), 512);
    const g = m.guest(d);
    const { cr3 } = buildPageTables(g, 0x10000, [{ va: 0, gpa: 0, pages: 512 }]);
    g.write(0x100000, nasm("mov eax, 1\nhlt", 64, 0x100000));
    const v = new Vcpu(m, d, 0, { mode: "long64", rip: 0x100000, rsp: 0x80000, cr3 });
    expect(v.run(10).kind).toBe("hlt");
    expect(v.getReg("rax")).toBe(1n);
    // put other code in a fresh frame and remap the guest frame onto it
    const [f] = m.memory.allocate(d, 1);
    const code2 = nasm("mov eax, 2\nhlt", 64, 0x100000);
    new Uint8Array(m.memory.view(f!).buffer).set(code2);
    const old = m.p2m(d).lookup(gfn(0x100))!.mfn;
    m.p2m(d).set(gfn(0x100), f!);
    v.rip = 0x100000;
    expect(v.run(10).kind).toBe("hlt");
    expect(v.getReg("rax")).toBe(2n);
    m.memory.free(old);
    expect(m.codeFrames[old]).toBe(0);
  });

  it("blocks are shared by vCPUs, and end before any vCPU's breakpoint", () => {
    const m = new Machine(4);
    const d = domId(1);
    m.populate(d, gfn(0), 512);
    const g = m.guest(d);
    const { cr3 } = buildPageTables(g, 0x10000, [{ va: 0, gpa: 0, pages: 512 }]);
    g.write(0x100000, nasm("mov eax, 1\nmov ebx, 2\nmov ecx, 3\nhlt", 64, 0x100000));
    const a = new Vcpu(m, d, 0, { mode: "long64", rip: 0x100000, rsp: 0x80000, cr3 });
    const b = new Vcpu(m, d, 1, { mode: "long64", rip: 0x100000, rsp: 0x70000, cr3 });
    b.addBreakpoint(0x10000a); // mov ecx, 3
    expect(a.run(10).kind).toBe("hlt"); // a compiles the blocks (split at b's breakpoint)
    expect(b.run(10)).toMatchObject({ kind: "breakpoint", rip: 0x10000a });
    expect(b.getReg("rbx")).toBe(2n);
    expect(b.getReg("rcx")).toBe(0n);
    expect(b.run(10).kind).toBe("hlt");
    expect(b.getReg("rcx")).toBe(3n);
  });
});

describe("vCPU state", () => {
  it("getState/setState moves a running guest to another vCPU, which continues identically", () => {
    const m = new Machine(4);
    const d = domId(1);
    m.populate(d, gfn(0), 512);
    const g = m.guest(d);
    const { cr3 } = buildPageTables(g, 0x10000, [{ va: 0, gpa: 0, pages: 512 }]);
    g.write(0x100000, nasm("mov ecx, 1000\nl: add rax, rcx\nimul rax, rax, 3\ndec ecx\njnz l\nhlt", 64, 0x100000));
    const a = new Vcpu(m, d, 0, { mode: "long64", rip: 0x100000, rsp: 0x80000, cr3 });
    expect(a.run(1500).kind).toBe("budget");
    const b = new Vcpu(m, d, 1);
    b.setState(a.getState());
    expect(b.getState()).toEqual(a.getState());
    expect(a.run(1e6).kind).toBe("hlt");
    expect(b.run(1e6).kind).toBe("hlt");
    expect(b.getState()).toEqual(a.getState());
  });
});
