/** System instructions: cli/sti, nops and fences, ud, cpuid, hlt, hypercalls, in/out, MSRs, rdtsc, gdt/idt (ltr, lldt, invlpg... are in descriptor.ts), int/iret, syscall/sysret, sysenter/sysexit, swapgs. */
import { Family } from "./form";

export const system: Family = {
  name: "system",
  mnemonics: ["Cli", "Sti", "Nop", "Endbr64", "Endbr32", "Pause", "Lfence", "Mfence", "Sfence", "Prefetchnta", "Prefetcht0", "Prefetcht1", "Prefetcht2", "Prefetchw", "Ud2", "Ud0", "Ud1", "Cpuid", "Hlt", "Vmcall", "Vmmcall", "In", "Out", "Rdmsr", "Wrmsr", "Rdtsc", "Rdtscp", "Lgdt", "Lidt", "Sgdt", "Sidt", "Wbinvd", "Invd", "Clts", "Int", "Int3", "Int1", "Iretq", "Iretd", "Syscall", "Sysretq", "Sysret", "Sysenter", "Sysexit", "Sysexitq", "Swapgs"],
  emit(x, f) {
    const { mn, o0, o1, pre, sizeOf, next, done } = f;
    switch (mn) {
      case "Cli": return "c.cli();";
      case "Sti": return "c.sti();" + done();
      case "Nop": case "Endbr64": case "Endbr32": case "Pause": case "Lfence": case "Mfence": case "Sfence":
      case "Prefetchnta": case "Prefetcht0": case "Prefetcht1": case "Prefetcht2": case "Prefetchw":
        return "";
      case "Ud2": case "Ud0": case "Ud1":
        x.end = true;
        return `c.fault(6,undefined,"ud2");`;
      // ---- system instructions: end the block ----
      case "Cpuid":
        return `c.exitAfter({kind:"cpuid",leaf:R[0]>>>0,subleaf:R[1]>>>0,rip:${x.rip},nextRip:${next}});` + done();
      case "Hlt":
        return `c.priv();c.exitAfter({kind:"hlt",rip:${x.rip},nextRip:${next}});` + done();
      case "Vmcall": case "Vmmcall":
        return `c.exitAfter({kind:"hypercall",insn:"${mn.toLowerCase()}",rip:${x.rip},nextRip:${next}});` + done();
      case "In": case "Out": {
        const isIn = mn === "In";
        const portOp = isIn ? o1 : o0;
        const dataOp = isIn ? o0 : o1;
        const size = sizeOf(dataOp);
        const port = portOp.k === "i" ? `${portOp.lo & 255}` : "R[2]&65535";
        const val = isIn ? "0" : size === 1 ? "R[0]&255" : size === 2 ? "R[0]&65535" : "R[0]>>>0";
        return `if(c.cpl>((c.eflagsRest>>12)&3))c.fault(13,0,"I/O above IOPL");c.exitAfter({kind:"io",direction:"${isIn ? "in" : "out"}",port:${port},size:${size},value:${val},rip:${x.rip},nextRip:${next}});` + done();
      }
      case "Rdmsr": return `c.rdmsr(${x.i},${x.rip},${next});` + done();
      case "Wrmsr": return `c.wrmsr(${x.rip},${next});` + done();
      case "Rdtsc": return `c.rdtsc(${x.i});`;
      case "Rdtscp": return `c.rdtsc(${x.i});R[1]=c.tscAux;H[1]=0;`;
      case "Lgdt": case "Lidt": return pre + `c.lgdt(ea,${mn === "Lidt"});` + done();
      case "Sgdt": case "Sidt": x.writes = true; return pre + `c.sgdt(ea,${mn === "Sidt"});`;
      case "Wbinvd": case "Invd": return "c.priv();";
      // clts clears CR0.TS (bit 3): the end of a lazy FPU switch (SDM Vol. 2A CLTS).
      case "Clts": return "c.priv();c.cr0&=~8;";
      case "Int": x.end = true; return `c.softInt(${(o0.k === "i" ? o0.lo : 0) & 255},${next});return ${x.i + 1};`;
      case "Int3": x.end = true; return `c.softInt(3,${next});return ${x.i + 1};`;
      case "Int1": x.end = true; return `c.softInt(1,${next});return ${x.i + 1};`;
      case "Iretq": x.end = true; return `c.iret(8);return ${x.i + 1};`;
      case "Iretd": x.end = true; return `c.iret(4);return ${x.i + 1};`;
      case "Syscall": x.end = true; return `c.syscall(${next});return ${x.i + 1};`;
      case "Sysretq": case "Sysret": if (mn === "Sysret" && x.m64) return undefined; x.end = true; return `c.sysret();return ${x.i + 1};`;
      case "Sysenter": x.end = true; return `c.sysenter();return ${x.i + 1};`;
      case "Sysexit": case "Sysexitq": x.end = true; return `c.sysexit(${mn === "Sysexitq"});return ${x.i + 1};`;
      case "Swapgs": return "c.swapgs();";
    }
    return undefined;
  },
};
