/**
 * System behaviour: paging (#PF error codes and CR2, U/S, R/W, NX, A/D bits, TLB, invlpg, CR3),
 * P2M faults as exits, IDT delivery and iretq, interrupts with cli/sti, syscall/sysret, exits and
 * resuming, self-modifying code, the 32-bit to long mode transition, triple faults, #UD.
 * Expected values come from the Intel SDM Vol. 3A (chapters 4 and 6).
 */
import { describe, expect, it } from "vitest";
import { gfn } from "../../src/machine";
import { CODE_AT, longModeGuest, nasm, runTo, sysGuest } from "./helpers";

const PF_HANDLER = `
vec_14:
  pop rbx          ; error code
  mov rcx, cr2
  hlt
`;

describe("paging", () => {
  it("#PF for a not-present page: error code 0 (read), CR2 = address", () => {
    const { v } = sysGuest(`start:\n mov rax, [0x900000]\n ud2\n${PF_HANDLER}`);
    runTo(v, "hlt");
    expect(v.getReg("rbx")).toBe(0n);
    expect(v.getReg("rcx")).toBe(0x900000n);
  });

  it("#PF for a write to a read-only page with CR0.WP: error code P|W = 3", () => {
    const { v } = sysGuest(`start:\n mov byte [0x900010], 1\n ud2\n${PF_HANDLER}`, [{ va: 0x900000, gpa: 0x900000, pages: 1, writable: false }]);
    runTo(v, "hlt");
    expect(v.getReg("rbx")).toBe(3n);
    expect(v.getReg("rcx")).toBe(0x900010n);
  });

  it("#PF for executing a no-execute page: error code P|I/D = 0x11, CR2 = RIP", () => {
    const { v, g } = sysGuest(`start:\n mov rax, 0x900000\n jmp rax\n${PF_HANDLER}`, [{ va: 0x900000, gpa: 0x900000, pages: 1, noExecute: true }]);
    g.write(0x900000, Uint8Array.of(0x90, 0xf4));
    runTo(v, "hlt");
    expect(v.getReg("rbx")).toBe(0x11n);
    expect(v.getReg("rcx")).toBe(0x900000n);
  });

  it("sets accessed on read and dirty on write in the leaf PTE", () => {
    const { v, g } = sysGuest(`start:\n mov rax, [0x900000]\n hlt\n mov [0x900000], rax\n hlt\n`, [{ va: 0x900000, gpa: 0x900000, pages: 1 }]);
    // PTE of 0x900000: walk the tables the way the CPU does
    const pte = () => {
      let t = Number(v.cr3);
      for (const shift of [39, 30, 21]) t = Number(g.u64(t + Math.floor(0x900000 / 2 ** shift) % 512 * 8) & 0xffffffffff000n);
      return g.u64(t + Math.floor(0x900000 / 4096) % 512 * 8);
    };
    expect(pte() & 0x60n).toBe(0n);
    runTo(v, "hlt");
    expect(pte() & 0x60n).toBe(0x20n);
    runTo(v, "hlt");
    expect(pte() & 0x60n).toBe(0x60n);
  });

  it("uses the TLB until invlpg or a CR3 reload", () => {
    const { v, g } = sysGuest(`start:
      mov rax, [0x900000]
      hlt
      mov rbx, [0x900000]
      invlpg [0x900000]
      mov rcx, [0x900000]
      hlt
      mov rdx, cr3
      mov cr3, rdx
      mov rsi, [0x900000]
      hlt`, [{ va: 0x900000, gpa: 0x900000, pages: 1 }]);
    g.setU64(0x900000, 0x1111n);
    g.setU64(0xa00000, 0x2222n);
    g.setU64(0xb00000, 0x3333n);
    runTo(v, "hlt");
    const leaf = () => {
      let t = Number(v.cr3);
      for (const shift of [39, 30, 21]) t = Number(g.u64(t + Math.floor(0x900000 / 2 ** shift) % 512 * 8) & 0xffffffffff000n);
      return t + Math.floor(0x900000 / 4096) % 512 * 8;
    };
    g.setU64(leaf(), 0xa00000n | 0x63n); // remap to 0xa00000 without telling the TLB
    runTo(v, "hlt");
    expect(v.getReg("rax")).toBe(0x1111n);
    expect(v.getReg("rbx")).toBe(0x1111n); // stale TLB entry, as hardware may keep it
    expect(v.getReg("rcx")).toBe(0x2222n); // after invlpg
    g.setU64(leaf(), 0xb00000n | 0x63n);
    runTo(v, "hlt");
    expect(v.getReg("rsi")).toBe(0x3333n); // after mov cr3
  });

  it("user-mode access to a supervisor page: #PF error code P|U = 5 (and P|W|U = 7 for writes)", () => {
    const { v } = sysGuest(`start:
      ; iretq to CPL 3 at user_code with user stack
      push 0x2b                ; SS = user data | 3
      push 0x5ff000            ; RSP
      push 0x202               ; RFLAGS (IF)
      push 0x33                ; CS = user code | 3
      lea rax, [user_code]
      push rax
      iretq
user_code:
      mov rax, [0x100000]      ; supervisor page
      ud2
${PF_HANDLER}`, [{ va: 0x400000, gpa: 0x400000, pages: 16, user: true }, { va: 0x5f0000, gpa: 0x5f0000, pages: 16, user: true }]);
    runTo(v, "hlt");
    expect(v.getReg("rbx")).toBe(5n);
    expect(v.getReg("rcx")).toBe(0x100000n);
    expect(v.cpl).toBe(0);
    expect(v.getReg("rsp")).toBe(0x7f0000n - 5n * 8n); // RSP0 from the TSS: 5-qword frame + error code, one popped
  });
});

describe("P2M", () => {
  it("a guest-physical access with no P2M entry is a VM exit; mapping the frame and resuming retries it", () => {
    const { v, m } = sysGuest(`start:\n mov rax, [0x900000]\n hlt\n`, [{ va: 0x900000, gpa: 0x900000, pages: 1 }]);
    const p2m = m.p2m(v.domain);
    const old = p2m.lookup(gfn(0x900))!;
    p2m.remove(gfn(0x900));
    const x = runTo(v, "gpa-fault");
    expect(x).toMatchObject({ gpa: 0x900000, access: "read", rip: CODE_AT });
    m.guest(v.domain); // host maps a frame with known contents
    const frame = m.memory.allocate(v.domain, 1)[0]!;
    m.memory.view(frame).setUint32(0, 0xfeedf00d, true);
    p2m.set(gfn(0x900), frame);
    runTo(v, "hlt");
    expect(v.getReg("rax")).toBe(0xfeedf00dn);
    expect(old.writable).toBe(true);
  });

  it("a write to a read-only P2M entry exits with access 'write'", () => {
    const { v, m } = sysGuest(`start:\n mov dword [0x900000], 5\n hlt\n`, [{ va: 0x900000, gpa: 0x900000, pages: 1 }]);
    const e = m.p2m(v.domain).lookup(gfn(0x900))!;
    m.p2m(v.domain).set(gfn(0x900), e.mfn, false);
    expect(runTo(v, "gpa-fault")).toMatchObject({ gpa: 0x900000, access: "write" });
  });
});

describe("interrupts and exceptions", () => {
  it("int n goes through a 64-bit IDT gate and iretq returns", () => {
    const { v } = sysGuest(`start:\n mov rax, 1\n int 0x80\n add rax, 100\n hlt\nvec_128:\n mov rax, 41\n iretq\n`);
    runTo(v, "hlt");
    expect(v.getReg("rax")).toBe(141n);
    expect(v.getReg("rsp")).toBe(0x7ff000n);
  });

  it("#DE from div by zero is a fault: the handler sees RIP of the div and can skip it", () => {
    const { v } = sysGuest(`start:
      xor ecx, ecx
      mov eax, 5
      div rcx
      mov r9, 77
      hlt
vec_0:
      mov r8, [rsp]            ; RIP pushed for the fault = the div itself
      add qword [rsp], 3       ; div rcx is 3 bytes (48 f7 f1)
      iretq`);
    runTo(v, "hlt");
    expect(v.getReg("r8")).toBe(BigInt(CODE_AT + 7)); // xor ecx,ecx (2) + mov eax,5 (5)
    expect(v.getReg("r9")).toBe(77n);
    expect(v.getReg("rax")).toBe(5n); // unchanged by the faulting div
    expect(v.trace.recentEvents().some((e) => e.text.startsWith("#DE"))).toBe(true);
  });

  it("unimplemented instructions (AVX here) raise #UD and say so", () => {
    const { v } = sysGuest(`start:\n nop\n vaddps ymm0, ymm1, ymm2\n hlt\nvec_6:\n mov rbx, [rsp]\n hlt\n`);
    runTo(v, "hlt");
    expect(v.getReg("rbx")).toBe(BigInt(CODE_AT + 1)); // #UD is a fault: RIP of the instruction
    expect(v.trace.recentEvents().find((e) => /unimplemented: vaddps ymm0, ?ymm1, ?ymm2/.test(e.text))?.rip).toBe(CODE_AT + 1);
  });

  it("an injected interrupt waits for IF=1 (sti), is delivered with IF cleared, and iretq restores it", () => {
    const { v } = sysGuest(`start:
      cli
      mov rcx, 1000
spin1: dec rcx
      jnz spin1
      hlt
      sti
      mov rcx, 1000
spin2: dec rcx
      jnz spin2
      hlt
vec_48:
      inc r10
      pushfq
      pop r11
      iretq`);
    v.injectInterrupt(48);
    runTo(v, "hlt");
    expect(v.getReg("r10")).toBe(0n); // IF was clear
    runTo(v, "hlt");
    expect(v.getReg("r10")).toBe(1n);
    expect(v.getReg("r11") & 0x200n).toBe(0n); // interrupt gate clears IF
    expect(v.getFlags() & 0x200).toBe(0x200);
  });

  it("sti shields exactly one instruction: a pending interrupt is taken after it, before a cli", () => {
    // r12 counts instructions run after sti; the handler records it in r10.
    const { v } = sysGuest(`start:
      cli
      xor r12, r12
      sti
      inc r12
      inc r12
      inc r12
      cli
      hlt
vec_48:
      mov r10, r12
      add r10, 100
      iretq`);
    v.injectInterrupt(48);
    runTo(v, "hlt");
    // Delivered after the first inc (the shadowed instruction), not after the whole block.
    expect(v.getReg("r10")).toBe(101n);
    expect(v.getReg("r12")).toBe(3n);
  });

  it("a fault with no usable IDT becomes #DF and then a triple-fault exit", () => {
    const { v } = longModeGuest(nasm("ud2", 64, 0x400000));
    v.idtrLimit = 0;
    const x = runTo(v, "triple-fault");
    expect(x.kind === "triple-fault" && x.reason).toMatch(/double fault: vector 6 beyond IDT limit/);
  });
});

describe("exits and resume", () => {
  it("cpuid, vmcall, rdmsr/wrmsr and I/O exit with RIP past the instruction; the owner answers", () => {
    const { v } = sysGuest(`start:
      mov eax, 0x40000000
      xor ecx, ecx
      cpuid
      mov r8d, ebx
      mov eax, 17
      vmcall
      mov r9, rax
      mov ecx, 0x1b
      rdmsr
      mov r10d, eax
      mov ecx, 0xc0000100      ; FS_BASE: the vCPU handles it
      mov eax, 0x8000
      xor edx, edx
      wrmsr
      mov r11, [fs:0x20]
      mov dx, 0x3f8
      mov al, 'A'
      out dx, al
      in al, 0x60
      movzx r12d, al
      hlt`);
    let x = runTo(v, "cpuid");
    expect(x).toMatchObject({ leaf: 0x40000000, subleaf: 0 });
    v.completeCpuid(0x40000001, 0x566e6558, 0x65584d4d, 0x4d4d566e); // "XenVMMXenVMM"
    x = runTo(v, "hypercall");
    expect(x).toMatchObject({ insn: "vmcall" });
    expect(v.getReg("rax")).toBe(17n);
    v.setReg("rax", -38n); // -ENOSYS
    x = runTo(v, "rdmsr");
    expect(x).toMatchObject({ msr: 0x1b });
    v.completeRdmsr(0xfee00900n);
    x = runTo(v, "io");
    expect(x).toMatchObject({ direction: "out", port: 0x3f8, size: 1, value: 0x41 });
    x = runTo(v, "io");
    expect(x).toMatchObject({ direction: "in", port: 0x60, size: 1 });
    v.completeIn(1, 0x9c);
    runTo(v, "hlt");
    expect(v.getReg("r8")).toBe(0x566e6558n);
    expect(v.getReg("r9")).toBe(BigInt.asUintN(64, -38n));
    expect(v.getReg("r10")).toBe(0xfee00900n);
    expect(v.getReg("r11")).toBe(0n); // fs:0x20 = [0x8020], zero memory
    expect(v.getReg("r12")).toBe(0x9cn);
  });

  it("the owner can refuse an instruction with #GP (RIP rewinds to it)", () => {
    const { v } = sysGuest(`start:\n mov ecx, 0x12345\n rdmsr\n hlt\nvec_13:\n pop rbx\n mov rcx, [rsp]\n hlt\n`);
    const x = runTo(v, "rdmsr");
    expect(v.injectException(13, 0, x.rip)).toBeUndefined();
    runTo(v, "hlt");
    expect(v.getReg("rbx")).toBe(0n);
    expect(v.getReg("rcx")).toBe(BigInt(x.rip));
  });

  it("syscall enters LSTAR at CPL 0 with RCX/R11 saved; sysretq returns to CPL 3", () => {
    const { v } = sysGuest(`start:
      mov ecx, 0xc0000081      ; STAR: kernel CS 0x08, sysret base 0x20 (CS 0x33, SS 0x2b)
      xor eax, eax
      mov edx, 0x00200008
      wrmsr
      mov ecx, 0xc0000082      ; LSTAR
      lea rax, [kentry]
      mov rdx, rax
      shr rdx, 32
      wrmsr
      mov ecx, 0xc0000080      ; EFER |= SCE
      rdmsr
      or eax, 1
      wrmsr
      push 0x2b
      push 0x5ff000
      push 0x2
      push 0x33
      lea rax, [user]
      push rax
      iretq
user:
      mov rdi, 7
      syscall
      mov r13, rax
      hlt
kentry:
      mov r14, rcx
      mov rax, rdi
      add rax, 1
      o64 sysret`, [{ va: 0x400000, gpa: 0x400000, pages: 16, user: true }, { va: 0x5f0000, gpa: 0x5f0000, pages: 16, user: true }]);
    const x = v.run(1000);
    // hlt at CPL 3 is privileged: #GP; there is no gate for it, so the run ends in a triple fault.
    expect(x.kind).toBe("triple-fault");
    expect(v.getReg("r13")).toBe(8n);
    expect(v.cpl).toBe(3);
    expect(v.getReg("r14")).toBe(BigInt(x.rip) - 3n); // RCX = the instruction after syscall (mov r13, rax: 3 bytes before the hlt)
    expect(v.trace.recentEvents().map((e) => e.text).join("\n")).toMatch(/#GP\(0\) privileged instruction at CPL 3/);
  });
});

describe("self-modifying code", () => {
  it("a store into an already-decoded instruction takes effect at its next execution", () => {
    const { v } = longModeGuest(nasm(`
      mov rcx, 2
    again:
      mov al, 7                 ; patched below to mov al, 42
      movzx ebx, al
      add rdx, rbx
      mov byte [rel again + 1], 42
      dec rcx
      jnz again
      hlt`, 64, 0x400000));
    runTo(v, "hlt");
    expect(v.getReg("rdx")).toBe(49n);
    expect(v.machine.invalidations).toBeGreaterThan(0);
  });

  it("a store into the next instruction of the same block is seen immediately", () => {
    const { v } = longModeGuest(nasm(`
      mov byte [rel patch + 1], 42
    patch:
      mov al, 7
      hlt`, 64, 0x400000));
    runTo(v, "hlt");
    expect(v.getReg("rax") & 0xffn).toBe(42n);
  });

  it("stores to data sharing a page with code leave that page's blocks compiled", () => {
    const { v } = longModeGuest(nasm(`
      mov rcx, 100
    again:
      call f
      mov [rel counter], ecx    ; same page as every block here, but not their bytes
      dec rcx
      jnz again
      hlt
    f: ret
      align 256
    counter: dd 0`, 64, 0x400000));
    runTo(v, "hlt");
    expect(v.machine.invalidations).toBe(0);
    // The loop head, the call, f, the store-and-branch block, and hlt: each compiled once.
    expect(v.dispatch.compiled).toBeLessThanOrEqual(5);
    expect(v.readVirtU32(0x400000 + 0x100)).toBe(1);
  });

  it("a store into one block's bytes drops that block only, and the patched code runs", () => {
    const { v } = longModeGuest(nasm(`
      mov rcx, 3
    again:
      call f
      add rdx, rax
      mov byte [rel f + 1], 5   ; f's "mov eax, 1" becomes "mov eax, 5"
      dec rcx
      jnz again
      hlt
      align 256
    f: mov eax, 1
      ret`, 64, 0x400000));
    runTo(v, "hlt");
    expect(v.getReg("rdx")).toBe(11n); // 1, then 5 and 5: the first store is seen by the next call
    // Only f's block is dropped (once: after that the byte is rewritten with its own value, but
    // each rewrite still drops the block that holds it, so the count is one per store).
    expect(v.machine.invalidations).toBe(3);
  });
});

describe("modes", () => {
  it("the PVH entry state (32-bit flat, no paging) switches to long mode: PAE, CR3, EFER.LME, CR0.PG, far jump", () => {
    const code = nasm(`
      bits 32
      mov eax, cr4
      or eax, 1 << 5
      mov cr4, eax
      mov eax, 0x10000
      mov cr3, eax
      mov ecx, 0xc0000080
      rdmsr
      or eax, 1 << 8
      wrmsr
      lgdt [gdtr]
      mov eax, cr0
      or eax, 0x80000001
      mov cr0, eax
      jmp 0x08:long64
      bits 64
    long64:
      mov rax, 0x1122334455667788
      lea rbx, [rel long64]
      hlt
      align 8
    gdt: dq 0, 0x00209a0000000000, 0x0000920000000000
    gdtr: dw 23
      dd gdt`, 32, 0x400000);
    const { v } = longModeGuest(code);
    v.reset({ mode: "protected32", rip: 0x400000, rsp: 0x7000 });
    expect(v.mode).toBe("protected32");
    runTo(v, "hlt");
    expect(v.mode).toBe("long64");
    expect(v.getReg("rax")).toBe(0x1122334455667788n);
    expect(v.getReg("efer") & 0x500n).toBe(0x500n); // LME | LMA
  });
});

describe("32-bit protected mode", () => {
  it("delivers int n and #DE through 8-byte IDT gates and returns with iretd", () => {
    const code = nasm(`
      bits 32
      lgdt [gdtr]
      lidt [idtr]
      mov eax, 3
      int 0x40
      xor ecx, ecx
      div ecx              ; #DE: the handler skips it
      hlt
    h40: add eax, 10
      iretd
    h0: add dword [esp], 2   ; div ecx is 2 bytes
      mov ebx, [esp + 4]     ; pushed CS
      iretd
      align 8
    gdt: dq 0, 0x00cf9a000000ffff, 0x00cf92000000ffff
    idt: times 0x41 dq 0
    gdtr: dw 23
      dd gdt
    idtr: dw 0x41 * 8 - 1
      dd idt`, 32, 0x400000);
    const { v, m } = longModeGuest(code);
    const g = m.guest(v.domain);
    // The IDT base is read back from the idtr operand (the last 6 bytes of the image).
    const idtrAt = 0x400000 + code.length - 6;
    const idt = g.u32(idtrAt + 2);
    const gate = (vec: number, target: number) => {
      g.setU32(idt + vec * 8, (target & 0xffff) | (0x08 << 16));
      g.setU32(idt + vec * 8 + 4, ((target & 0xffff0000) | 0x8e00) >>> 0);
    };
    // Handler addresses, located by their first instruction's bytes (add eax,10 / add dword [esp],2).
    const bytes = [...code];
    const h40 = 0x400000 + bytes.findIndex((b, i) => b === 0x83 && bytes[i + 1] === 0xc0 && bytes[i + 2] === 10);
    const h0 = 0x400000 + bytes.findIndex((b, i) => b === 0x83 && bytes[i + 1] === 0x04 && bytes[i + 2] === 0x24);
    gate(0x40, h40);
    gate(0, h0);
    v.reset({ mode: "protected32", rip: 0x400000, rsp: 0x7000 });
    v.cs = { selector: 0x08, long: false, db: true };
    runTo(v, "hlt");
    expect(v.getReg("rax")).toBe(13n);
    expect(v.getReg("rbx")).toBe(8n);
    expect(v.getReg("rsp")).toBe(0x7000n);
    expect(v.mode).toBe("protected32");
  });
});

describe("large pages", () => {
  it("translates through 2 MiB and 1 GiB pages and invlpg drops the whole large page", () => {
    const { v, g } = sysGuest(`start:
      mov rax, [0x40000000 + 0x123458]   ; 1 GiB page at va 1 GiB -> gpa 0
      mov rdx, 0x80001008                ; (a disp32 would be sign-extended)
      mov rbx, [rdx]                     ; 2 MiB page at va 2 GiB -> gpa 0x600000
      hlt
      mov rsi, 0x80000000
      invlpg [rsi]
      mov rcx, [rdx]
      hlt`);
    const pml4 = Number(v.cr3);
    const pdpt = Number(g.u64(pml4) & 0xffffffffff000n);
    g.setU64(pdpt + 1 * 8, 0x0n | 0x83n); // PDPT[1]: 1 GiB page at gpa 0 (P RW PS)
    g.setU64(0x20000, 0n);
    g.setU64(pdpt + 2 * 8, 0x20000n | 0x3n); // PDPT[2] -> PD at 0x20000
    g.setU64(0x20000, 0x600000n | 0x83n); // PD[0]: 2 MiB page at gpa 0x600000
    g.setU64(0x123458, 0x1111n);
    g.setU64(0x601008, 0x2222n);
    g.setU64(0xa01008, 0x3333n);
    runTo(v, "hlt");
    expect(v.getReg("rax")).toBe(0x1111n);
    expect(v.getReg("rbx")).toBe(0x2222n);
    expect(v.pageWalk(0x80001008).gpa).toBe(0x601008);
    g.setU64(0x20000, 0xa00000n | 0x83n); // remap the 2 MiB page; invlpg of its first 4 KiB must drop it all
    runTo(v, "hlt");
    expect(v.getReg("rcx")).toBe(0x3333n);
  });

  it("a misaligned 2 MiB page is a reserved-bit #PF: error code P|RSVD = 9", () => {
    const { v, g } = sysGuest(`start:\n mov rdx, 0x80001008\n mov rbx, [rdx]\n ud2\n${PF_HANDLER}`);
    const pdpt = Number(g.u64(Number(v.cr3)) & 0xffffffffff000n);
    g.setU64(pdpt + 2 * 8, 0x20000n | 0x3n);
    g.setU64(0x20000, 0x700000n | 0x83n); // 0x700000 is not 2 MiB aligned: bit 20 is reserved
    runTo(v, "hlt");
    expect(v.getReg("rbx")).toBe(9n);
    expect(v.getReg("rcx")).toBe(0x80001008n);
  });
});

describe("flags at a fault or stop inside a block", () => {
  it("the RFLAGS pushed for a #PF are those of the last flag-setting instruction before it", () => {
    const { v } = sysGuest(`start:
      mov eax, 5
      cmp eax, 7               ; 5 - 7: CF AF SF set, ZF PF OF clear
      mov rbx, [0x900000]      ; #PF: not mapped
      xor ecx, ecx             ; would overwrite every flag
      hlt
vec_14:
      add rsp, 8               ; error code
      mov rdx, [rsp + 16]      ; saved RFLAGS
      hlt`);
    runTo(v, "hlt");
    expect(Number(v.getReg("rdx")) & 0x8d5).toBe(0x91);
  });

  it("a watchpoint stop after a store shows the store's own flags", () => {
    const { v } = sysGuest(`start:
      mov eax, 1
      mov dword [0x8000], -1
      add dword [0x8000], eax   ; 0xffffffff + 1: ZF CF AF PF set
      xor ecx, ecx
      hlt`);
    v.addWatchpoint(0x8000, 4);
    expect(runTo(v, "watchpoint")).toMatchObject({ address: 0x8000, value: 0xffffffffn });
    expect(runTo(v, "watchpoint")).toMatchObject({ address: 0x8000, value: 0n });
    expect(v.getFlags() & 0x8d5).toBe(0x55);
  });
});
