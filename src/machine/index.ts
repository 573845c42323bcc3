/**
 * The machine layer: machine memory, P2M, soft-MMU and x86-64 vCPUs.
 *
 * API overview (for the hypervisor models built on top):
 *
 *   const m = new Machine(256);                       // 256 MiB of machine memory, sparse 4 KiB frames
 *   const dom = domId(1);
 *   m.populate(dom, gfn(0), 4096);                     // allocate 16 MiB to dom, map gfn 0.. (P2M)
 *   m.memory.allocate(dom, n, FrameUse.PageTable)      // or allocate frames and map them yourself:
 *   m.p2m(dom).set(gfn(x), mfn(y), writable)           //   the P2M is EPT/NPT; no entry => gpa-fault exit
 *   const g = m.guest(dom);                            // guest-physical accessors (host side)
 *   g.write(gpa, bytes); g.u32(gpa); g.setU64(gpa, v)  //   typed little-endian struct fields at offsets
 *   const { cr3 } = buildPageTables(g, 0x10000, [{ va: 0, gpa: 0, pages: 2048 }]);
 *   const v = new Vcpu(m, dom, 0, { mode: "long64", rip: 0x400000, rsp: 0x7ff000, cr3 });
 *   //  or { mode: "protected32", rip, regs: { rbx: startInfo } }  (the PVH entry state)
 *   v.readVirt(va, n) / v.writeVirt(va, bytes) / v.translate(va)   // guest-virtual, through CR3
 *   let x = v.run(1_000_000);                          // -> Exit (exits.ts): hypercall, cpuid, rdmsr,
 *   //   wrmsr, hlt, io, gpa-fault, triple-fault, breakpoint, watchpoint, budget, interrupt, unsupported
 *   if (x.kind === "hypercall") { v.setReg("rax", -38n); x = v.run(budget); }  // answer, resume
 *   if (x.kind === "cpuid") v.completeCpuid(a, b, c, d);  // rdmsr: completeRdmsr; in: completeIn
 *   v.injectException(13, 0, x.rip);                   // refuse an instruction with #GP(0)
 *   v.injectInterrupt(0xf3);                           // event delivery through the IDT when IF=1
 *   v.step(); v.addBreakpoint("main"); v.addWatchpoint(va, 8); v.requestStop();
 *   v.icount                                           // instructions retired = virtual time (rdtsc)
 *   v.toMimeBundle()                                   // registers + disassembly around RIP
 *
 * Exits caused by an instruction are reported with the instruction retired (RIP = nextRip); a
 * gpa-fault is reported before its instruction ran (map the frame and run again to retry).
 */
export * from "./types";
export * from "./errors";
export { MachineMemory, FrameUse, DOMID_INVALID } from "./memory";
export type { FrameInfo, FrameRun } from "./memory";
export { P2m } from "./p2m";
export type { P2mEntry } from "./p2m";
export { Machine, GuestPhysical } from "./machine";
export { Vcpu, vectorName } from "./vcpu";
export type { CpuMode, VcpuInit } from "./vcpu";
export type { Exit, ExitKind, Access } from "./exits";
export { Vector } from "./exits";
export { buildPageTables, segmentDescriptor, writeStandardGdt, writeIdtGate, GDT_KERNEL_CS, GDT_KERNEL_DS, GDT_CODE32, GDT_USER_CS, GDT_USER_DS } from "./boot";
export type { Mapping } from "./boot";
export { ElfFile, PT_LOAD } from "./elf";
export type { ElfProgramHeader, ElfSymbol, ElfSection } from "./elf";
export { TraceRing } from "./trace";
export * from "./registers";
export { Assembler, assemble, normalizeNumbers } from "./assembler";
export type { AssembleOptions } from "./assembler";
export { disassemble, formatListing, symbolizerFrom } from "./disasm";
export type { DisasmLine, Symbolizer } from "./disasm";
