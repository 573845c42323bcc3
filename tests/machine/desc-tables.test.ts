/**
 * Descriptor-table and kernel system instructions, with the checks and error codes the Intel SDM
 * states (Vol. 2A LAR/LLDT/LSL/LTR, Vol. 2B STR/SLDT/VERR/VERW/INVLPG/CLFLUSH, Vol. 3A §3.4.5,
 * §3.5, §8.2.3): lldt/sldt, ltr (busy bit) / str, lar/lsl/verr/verw setting ZF, #GP/#NP with the
 * selector as error code, CR4 reserved bits, invlpg on a non-canonical address, clflush's #PF.
 */
import { describe, expect, it } from "vitest";
import { segmentDescriptor, writeIdtGate } from "../../src/machine/boot";
import { GDT_AT, IDT_AT, sysGuest } from "./helpers";

/** A system descriptor (S=0) with a byte base and limit: LDT = type 2, TSS = 9 (SDM Table 3-2). */
function systemDescriptor(type: number, base: number, limit: number, present = true): [bigint, bigint] {
  const lo = BigInt(limit & 0xffff) | (BigInt(base & 0xffffff) << 16n) | (BigInt(type) << 40n) | ((present ? 1n : 0n) << 47n)
    | (BigInt((limit >>> 16) & 15) << 48n) | (BigInt(base >>> 24) << 56n);
  return [lo, 0n];
}

const LDT_AT = 0x5000;
/** Extra GDT entries: 0x48 LDT (16 bytes), 0x58 non-present LDT, 0x68 second TSS (available). */
function withTables(src: string) {
  const guest = sysGuest(src);
  const { g, v } = guest;
  const put = (off: number, [lo, hi]: [bigint, bigint]) => { g.setU64(GDT_AT + off, lo); g.setU64(GDT_AT + off + 8, hi); };
  put(0x48, systemDescriptor(2, LDT_AT, 0x17));
  put(0x58, systemDescriptor(2, LDT_AT, 0x17, false));
  put(0x68, systemDescriptor(9, 0x3800, 0x67));
  v.gdtrLimit = 0x77;
  // LDT: 0x04 null-ish data DPL 0, 0x0c data DPL 3, 0x14 execute-only code
  g.setU64(LDT_AT, 0n);
  g.setU64(LDT_AT + 8, segmentDescriptor({ code: false, dpl: 3 }));
  g.setU64(LDT_AT + 16, segmentDescriptor({ code: true, long: true }) & ~(2n << 40n));
  return guest;
}

const FAULT = `
vec_13:
  pop rbx
  mov r15, 13
  hlt
vec_11:
  pop rbx
  mov r15, 11
  hlt
vec_14:
  pop rbx
  mov rcx, cr2
  mov r15, 14
  hlt
`;

function run(v: ReturnType<typeof sysGuest>["v"]) {
  const x = v.run(10_000);
  expect(x.kind, v.trace.recentEvents().map((e) => e.text).join("; ")).toBe("hlt");
}

describe("lldt / sldt", () => {
  it("loads an LDT from the GDT; segment loads with TI=1 read it; sldt zero-extends", () => {
    const { v } = withTables(`start:
      mov rax, -1
      mov ax, 0x48
      lldt ax
      mov rdx, -1
      sldt rdx
      mov ax, 0x0f          ; LDT entry 1, RPL 3
      mov ds, ax
      mov r8, -1
      lar r8d, ax
      setz r9b
      hlt\n${FAULT}`);
    run(v);
    expect(v.ldtr).toBe(0x48);
    expect(v.ldtrBase).toBe(LDT_AT);
    expect(v.ldtrLimit).toBe(0x17);
    expect(v.getReg("rdx")).toBe(0x48n);
    expect(v.ds).toBe(0x0f);
    expect(v.getReg("r8")).toBe(BigInt(Number((segmentDescriptor({ code: false, dpl: 3 }) >> 32n) & 0x00f0ff00n)));
    expect(v.getReg("r9") & 0xffn).toBe(1n);
  });

  it("a null selector invalidates LDTR; TI=1 selectors then fail lar (ZF=0) and fault on load", () => {
    const { v } = withTables(`start:
      mov ax, 0x48
      lldt ax
      xor eax, eax
      lldt ax
      mov r8, 0x1234
      mov ax, 0x0f
      lar r8, ax
      setz r9b
      mov ds, ax
      hlt\n${FAULT}`);
    run(v);
    expect(v.ldtr).toBe(0);
    expect(v.getReg("r8")).toBe(0x1234n); // ZF=0 leaves the destination alone
    expect(v.getReg("r9") & 0xffn).toBe(0n);
    expect(v.getReg("r15")).toBe(13n);
    expect(v.getReg("rbx")).toBe(0x0cn);
  });

  it("#GP(selector) for a code segment, #NP(selector) for a non-present LDT, #GP(selector) beyond the limit", () => {
    for (const [sel, vec] of [[0x08, 13n], [0x58, 11n], [0x80, 13n], [0x4c, 13n]] as const) {
      const { v } = withTables(`start:\n mov ax, ${sel}\n lldt ax\n mov r15, 1\n hlt\n${FAULT}`);
      run(v);
      expect(v.getReg("r15"), `lldt 0x${sel.toString(16)}`).toBe(vec);
      expect(v.getReg("rbx")).toBe(BigInt(sel & ~3));
    }
  });
});

describe("ltr / str", () => {
  it("ltr marks the TSS busy in the GDT (type 9 → 11); str stores the selector", () => {
    const { v, g } = withTables(`start:\n mov ax, 0x68\n ltr ax\n mov rcx, -1\n str rcx\n mov word [0x6000], 0xffff\n str [0x6000]\n hlt\n${FAULT}`);
    run(v);
    expect((g.u64(GDT_AT + 0x68) >> 40n) & 0xfn).toBe(11n);
    expect(v.trSelector).toBe(0x68);
    expect(v.trBase).toBe(0x3800);
    expect(v.getReg("rcx")).toBe(0x68n);
    expect(g.u64(0x6000) & 0xffffn).toBe(0x68n);
  });

  it("ltr of a busy TSS or an LDT is #GP(selector); a null selector is #GP(0)", () => {
    for (const [sel, code] of [[0x38, 0x38n], [0x48, 0x48n], [0x00, 0n]] as const) {
      const { v } = withTables(`start:\n mov ax, ${sel}\n ltr ax\n mov r15, 1\n hlt\n${FAULT}`);
      run(v);
      expect(v.getReg("r15"), `ltr 0x${sel.toString(16)}`).toBe(13n);
      expect(v.getReg("rbx")).toBe(code);
    }
  });
});

describe("lar / lsl / verr / verw", () => {
  it("lsl gives the G-scaled limit, the TSS limit; null and RPL > DPL fail with ZF=0", () => {
    const { v } = withTables(`start:
      mov ax, 0x10
      lsl ebx, ax
      setz r8b
      mov ax, 0x38
      lsl ecx, ax
      setz r9b
      mov rdx, 7
      xor eax, eax
      lsl edx, ax
      setz r10b
      mov ax, 0x0b          ; kernel code with RPL 3: RPL > DPL
      mov rsi, 9
      lar esi, ax
      setz r11b
      hlt\n${FAULT}`);
    run(v);
    expect(v.getReg("rbx")).toBe(0xffffffffn);
    expect(v.getReg("rcx")).toBe(0x67n);
    expect(v.getReg("rdx")).toBe(7n);
    expect(v.getReg("rsi")).toBe(9n);
    expect([v.getReg("r8"), v.getReg("r9"), v.getReg("r10"), v.getReg("r11")].map((x) => x & 0xffn)).toEqual([1n, 1n, 0n, 0n]);
  });

  it("verr: readable code and data; verw: writable data only; system descriptors fail both", () => {
    const { v } = withTables(`start:
      mov ax, 0x48
      lldt ax
      verr word [sel_code]
      setz r8b
      verw word [sel_code]
      setz r9b
      mov ax, 0x10
      verw ax
      setz r10b
      mov ax, 0x38
      verr ax
      setz r11b
      mov ax, 0x14          ; execute-only code in the LDT
      verr ax
      setz r12b
      hlt
sel_code: dw 0x08\n${FAULT}`);
    run(v);
    expect([8, 9, 10, 11, 12].map((r) => v.getReg(`r${r}`) & 0xffn)).toEqual([1n, 0n, 1n, 0n, 0n]);
  });
});

describe("other system instructions", () => {
  it("mov to CR4 with a bit this vCPU does not implement (LA57) is #GP(0)", () => {
    const { v } = withTables(`start:\n mov rax, cr4\n or eax, 1 << 12\n mov cr4, rax\n mov r15, 1\n hlt\n${FAULT}`);
    run(v);
    expect(v.getReg("r15")).toBe(13n);
    expect(v.getReg("rbx")).toBe(0n);
  });

  it("invlpg on a non-canonical address is a no-op; clflush of an unmapped page is #PF as a read", () => {
    const { v } = withTables(`start:\n mov rax, 0x8000000000000000\n invlpg [rax]\n clflush [0x400000]\n mov r14, 1\n clflush [0x900008]\n hlt\n${FAULT}`);
    run(v);
    expect(v.getReg("r14")).toBe(1n);
    expect(v.getReg("r15")).toBe(14n);
    expect(v.getReg("rbx")).toBe(0n);
    expect(v.getReg("rcx")).toBe(0x900008n);
  });
});

describe("non-canonical stack accesses", () => {
  it("an RSP- or RBP-based operand or a pop at a non-canonical address is #SS(0); other bases are #GP(0)", () => {
    for (const [body, vec] of [["mov rbp, rax\n mov rbx, [rbp+8]", 12n], ["mov rsp, rax\n pop rbx", 12n], ["mov rsi, rax\n mov rbx, [rsi]", 13n]] as const) {
      const { v, g, at } = sysGuest(`start:\n mov rax, 0x0000800000000000\n ${body}\n mov r15, 1\n hlt
vec_12:\n mov r15, 12\n hlt\nvec_13:\n mov r15, 13\n hlt\n`);
      // #SS on its own stack (IST1), as kernels do: the faulting RSP itself is unusable.
      writeIdtGate(g, IDT_AT, 12, at("vec_12"), { ist: 1 });
      run(v);
      expect(v.getReg("r15"), body).toBe(vec);
    }
  });
});
