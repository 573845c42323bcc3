/**
 * Instruction semantics as JavaScript source, dispatched from one table: iced-x86's mnemonic →
 * the families implementing it (see Family in form.ts). Each emitter is specialised for the
 * decoded operands; an instruction no family implements returns undefined (compiled to #UD).
 */
import * as iced from "iced-x86";

import { Opd, eaExpr, lit64, operand } from "../operands";
import { alu } from "./alu";
import { bits } from "./bits";
import { branch } from "./branch";
import { descriptor } from "./descriptor";
import { Ctx, Family, Form } from "./form";
import { mmx } from "./mmx";
import { modes16 } from "./modes16";
import { move } from "./move";
import { sse } from "./sse";
import { sseFp } from "./sse-fp";
import { sseFpExtra } from "./sse-fp-extra";
import { sseState } from "./sse-state";
import { sse4 } from "./sse4";
import { sse42String } from "./sse42-string";
import { stack } from "./stack";
import { string } from "./string";
import { system } from "./system";
import { x87 } from "./x87";
import { random } from "./random";

export type { Ctx, Emitter, Family, Form } from "./form";
export { ALU, aluCode, inlineShift } from "./alu";

const { Mnemonic, OpKind } = iced;

/** Every family, in the order the dispatcher asks them when two claim one mnemonic. */
export const FAMILIES: readonly Family[] = [modes16, alu, move, stack, bits, branch, string, system, descriptor, x87, sse, sseFp, sse4, sse42String, sseState, random, mmx, sseFpExtra];

/** iced Mnemonic value → the families that implement it. */
const TABLE = buildTable(FAMILIES);

function buildTable(families: readonly Family[]): Map<number, Family[]> {
  const table = new Map<number, Family[]>();
  const names = Mnemonic as unknown as Record<string, number | undefined>;
  for (const fam of families) {
    for (const name of fam.mnemonics) {
      const m = names[name];
      if (typeof m !== "number") throw new Error(`emit/${fam.name}: ${name} is not an iced-x86 mnemonic`);
      const list = table.get(m) ?? [];
      if (list.includes(fam)) throw new Error(`emit/${fam.name}: ${name} listed twice`);
      list.push(fam);
      table.set(m, list);
    }
  }
  return table;
}

/** The mnemonics some family implements (for views and tests). */
export function implementedMnemonics(): string[] {
  return [...TABLE.keys()].map((m) => Mnemonic[m]!).sort();
}

const sizeOf = (o: Opd) => (o.k === "r" || o.k === "m" || o.k === "i" ? o.s : 0);

/** Emits the JS for one instruction; undefined = not implemented (compiled to #UD). */
export function emit(x: Ctx): string | undefined {
  const ins = x.ins;
  const families = TABLE.get(ins.mnemonic);
  if (families === undefined) return undefined;
  const f = formOf(x);
  for (const fam of families) {
    const code = fam.emit(x, f);
    if (code !== undefined) return code;
  }
  return undefined;
}

function formOf(x: Ctx): Form {
  const ins = x.ins;
  const mn = Mnemonic[ins.mnemonic]!;
  const codeName = iced.Code[ins.code]!;
  const nops = ins.opCount;
  const o0 = nops > 0 ? operand(ins, 0) : ({ k: "x" } as Opd);
  const o1 = nops > 1 ? operand(ins, 1) : ({ k: "x" } as Opd);
  const hasMem = (nops > 0 && ins.opKind(0) === OpKind.Memory) || (nops > 1 && ins.opKind(1) === OpKind.Memory) || (nops > 2 && ins.opKind(2) === OpKind.Memory);
  let pre = "";
  if (hasMem && mn !== "Lea" && mn !== "Nop" && !mn.startsWith("Prefetch")) pre = `ea=${eaExpr(ins, x.m64, false, x.code16).code};`;
  if (o0.k === "m") x.writes = true;
  const next = x.next;
  const [nL, nH] = lit64(next);
  const stackSize = x.m64 ? (/16|w_/.test(codeName) ? 2 : 8) : /16|w_/.test(codeName) ? 2 : 4;
  return {
    ins, mn, codeName, nops, o0, o1, pre, sizeOf, s0: sizeOf(o0), next, nL, nH, stackSize,
    jump: (target: string) => { x.end = true; return `c.rip=${target};return ${x.i + 1};`; },
    done: () => { x.end = true; return `c.rip=${next};return ${x.i + 1};`; },
  };
}
