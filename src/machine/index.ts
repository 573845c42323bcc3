/**
 * The machine layer: machine memory, P2M, soft-MMU and x86-64 vCPUs. It knows nothing about Xen:
 * whoever owns a vCPU handles its exits.
 *
 * Memory (machine.ts, memory.ts, p2m.ts)
 *   const m = new Machine(256);                          // 256 MiB machine memory: sparse 4 KiB frames
 *   const dom = domId(1);
 *   m.populate(dom, gfn(0), 4096);                        // 16 MiB to dom, mapped at gfn 0.. (returns Mfn[])
 *   m.memory.allocate(dom, n, FrameUse.PageTable);        // or allocate frames (frame table: owner, use)
 *   m.p2m(dom).set(gfn(x), mfn(y), writable);             //   and map them; P2M = EPT/NPT; no entry => exit
 *   m.memory.info(mfn) / framesOf(dom) / free(mfn)        // frame table queries; free drops decoded code
 *   const g = m.guest(dom);                               // host-side guest-physical access:
 *   g.read/write/fill(gpa, ...); g.u8/u16/u32/u64(gpa); g.setU8..setU64(gpa, v)   (little-endian)
 *
 * Boot helpers (boot.ts, elf.ts)
 *   const { cr3 } = buildPageTables(g, 0x10000, [{ va: 0, gpa: 0, pages: 2048, user, writable, noExecute }]);
 *   writeStandardGdt(g, at) / writeIdtGate(g, idt, vector, handler, { dpl, trap, ist }) / segmentDescriptor
 *   const elf = new ElfFile(bytes); elf.programHeaders; elf.symbols; elf.symbolMap(); elf.loadInto(g)
 *
 * vCPUs (vcpu.ts, exits.ts)
 *   const v = new Vcpu(m, dom, 0, { mode: "long64", rip, rsp, cr3, regs: { rdi: 1n } });
 *   //   or { mode: "protected32", rip, regs: { rbx: startInfo } }   (the PVH entry state)
 *   // Paging follows CR0.PG, CR4.PAE/PSE and EFER.LME/NXE as the guest (or setState) sets them:
 *   // 4-level in long mode (mmu.ts), PAE and 32-bit paging outside it (mmu-legacy.ts; PDPTEs load
 *   // at MOV to CR3/CR0/CR4); a 32-bit CS under EFER.LMA is compatibility mode. ElfFile reads ELF32 too.
 *   v.getState() / v.setState(st)           // whole architectural state as plain data (save/restore)
 *   v.getReg("rax") / v.setReg("rax", v) / v.regs() / v.getFlags() / v.setFlags(f); fields cr0..cr4, efer,
 *   gdtrBase/idtrBase/..., fsBase/gsBase, cpl, mode, paging, icount (instructions retired = virtual time;
 *   rdtsc = icount + tscOffset)
 *   v.readVirt/writeVirt(va, ...), readVirtU32/U64, writeVirtU32/U64, translate(va) -> { gpa } | { fault }
 *   let x = v.run(budget);    // -> Exit: hypercall | cpuid | rdmsr | wrmsr | hlt | io | gpa-fault |
 *                             //    triple-fault | breakpoint | watchpoint | budget | interrupt | unsupported
 *   // Instruction exits come back retired (RIP = nextRip): answer and resume.
 *   if (x.kind === "hypercall") { v.setReg("rax", -38n); x = v.run(budget); }
 *   v.completeCpuid(a, b, c, d); v.completeRdmsr(value); v.completeIn(size, value);
 *   v.injectException(13, 0, x.rip);          // refuse the instruction instead (#GP(0) at it)
 *   v.injectInterrupt(0xf3);                  // external interrupt: IDT delivery once IF=1
 *   // A gpa-fault has not retired its instruction: map the frame (m.p2m(dom).set) and run again.
 *   v.step(); v.requestStop(); v.addBreakpoint(addr | "symbol"); v.addWatchpoint(va, len);
 *   v.symbols (name -> address, e.g. from elf.symbolMap()); v.trace (ring of blocks and events);
 *   v.recentInstructions(n)
 *
 * Views: v.toMimeBundle() (registers, flags decoded, disassembly at RIP), v.disassemblyView(n),
 *   v.pageWalk(va).toMimeBundle() (levels, gpa, mfn; text + SVG).
 * Assembly: (await Assembler.load()).assemble(src, { bits, address }) / .assembleInto(g, gpa, src);
 *   disassemble(bytes, address, bits, { symbols: symbolizerFrom(map) }).
 *
 * Unimplemented instructions raise #UD in the guest and are named in v.trace.
 */
export * from "./types";
export * from "./errors";
export { MachineMemory, FrameUse, DOMID_INVALID } from "./memory";
export type { FrameInfo, FrameRun } from "./memory";
export { P2m, MachineFrames } from "./p2m";
export type { P2mEntry } from "./p2m";
export { Machine, GuestPhysical } from "./machine";
export { Vcpu, vectorName } from "./vcpu";
export type { CpuMode, VcpuInit, VcpuState, SegmentState } from "./vcpu";
export type { FpuState } from "./fpu-state";
export { abridgedTag, tagOf, MXCSR_MASK } from "./xsave";
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
export { disassemble, symbolizerFrom } from "./disasm";
export type { DisasmLine, Symbolizer } from "./disasm";
