/**
 * What an instruction family's emitter receives: the block context (Ctx, shared with codegen)
 * and the decoded form of the instruction (Form: operands, sizes and helpers computed once by the
 * dispatcher in index.ts, so a family file holds only semantics).
 */
import type * as iced from "iced-x86";

import type { Opd } from "../operands";

export interface Ctx {
  ins: iced.Instruction;
  i: number;
  rip: number;
  next: number;
  m64: boolean;
  /** 16-bit code (real mode or a 16-bit code segment): 16-bit default operand and address size. */
  code16: boolean;
  /** True if the instruction ends the block (its code returns). */
  end: boolean;
  /** True if the instruction writes memory (a stop check follows). */
  writes: boolean;
  /** The lazy flag op (fop) known to be current at this point of the block, or -1. */
  fop: number;
  /** Block start: a branch back to it can loop inside the block function. */
  start: number;
  /** Set when the block loops on itself. */
  selfLoop: boolean;
  /** No instruction reads the flags this one produces (a later one in the block overwrites them all). */
  flagsDead: boolean;
}

export interface Form {
  ins: iced.Instruction;
  /** iced-x86's Mnemonic name ("Add", "Movdqa"...): the key of the dispatch table. */
  mn: string;
  /** iced-x86's Code name ("Add_rm32_imm8"...): the exact form. */
  codeName: string;
  nops: number;
  /** First two operands (k "x" when absent or a special register). */
  o0: Opd;
  o1: Opd;
  /** `ea=...;` for an instruction with a memory operand (empty otherwise). */
  pre: string;
  sizeOf(o: Opd): number;
  /** Size in bytes of operand 0. */
  s0: number;
  /** Address of the next instruction, and its int32 halves. */
  next: number;
  nL: number;
  nH: number;
  /** Ends the block with a jump to the JS expression `target`. */
  jump(target: string): string;
  /** Ends the block at the next instruction (after a state change the block cannot see past). */
  done(): string;
  /** Push/pop width in bytes for this instruction. */
  stackSize: number;
}

/** JS source for one instruction, or undefined for a form this family does not implement. */
export type Emitter = (x: Ctx, f: Form) => string | undefined;

/**
 * An instruction family: the iced-x86 mnemonics it implements and one emitter for them.
 * To add a family (x87, sse...), write emit/<family>.ts exporting a Family and list it in
 * FAMILIES in emit/index.ts. Two families may claim one mnemonic (the string instruction movsd
 * and SSE2's movsd share iced's Mnemonic.Movsd): the dispatcher asks them in FAMILIES order and
 * the first that returns code wins; if none does, the instruction compiles to #UD.
 */
export interface Family {
  name: string;
  mnemonics: readonly string[];
  emit: Emitter;
}
