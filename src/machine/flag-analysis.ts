/**
 * Compile-time flag analysis for a block: which instructions' flags are dead (a later one
 * overwrites all six before anything reads them), and conditions computed directly from the
 * operands of a known flag-setting instruction (cmp/test + jcc without materialising EFLAGS).
 */
import * as iced from "iced-x86";

const { Mnemonic, OpKind, RflagsBits } = iced;
export const MAX_BLOCK = 64;

/** The six arithmetic flags in iced-x86's RflagsBits (OF SF ZF AF CF PF). */
const ARITH = RflagsBits.OF | RflagsBits.SF | RflagsBits.ZF | RflagsBits.AF | RflagsBits.CF | RflagsBits.PF;

/** Shifts and rotates leave every flag alone when the masked count is 0 (SDM Vol. 2B SAL/SAR/SHL/SHR). */
const COUNTED = new Set(["Rol", "Ror", "Rcl", "Rcr", "Shl", "Sal", "Shr", "Sar", "Shld", "Shrd"]);

/**
 * What an instruction does to the six arithmetic flags, from iced-x86's flag information
 * (Instruction.rflagsRead / rflagsModified: written, cleared, set or left undefined):
 * 0 leaves at least one alone (transparent for liveness), 1 overwrites all six, 2 reads one.
 */
export function flagUse(ins: iced.Instruction): 0 | 1 | 2 {
  if ((ins.rflagsRead & ARITH) !== 0) return 2;
  if ((ins.rflagsModified & ARITH) !== ARITH) return 0;
  // A rep-prefixed string instruction with rCX = 0 runs no iteration and changes no flag.
  if (ins.hasRepPrefix || ins.hasRepePrefix || ins.hasRepnePrefix) return 0;
  if (COUNTED.has(Mnemonic[ins.mnemonic]!)) {
    const last = ins.opCount - 1;
    const k = ins.opKind(last);
    const imm = k >= OpKind.Immediate8 && k <= OpKind.Immediate32to64;
    // Rotates write only CF and OF (iced agrees); a count in CL may be 0; a 64-bit count of 32 is
    // kept conservative as before (masked to 5 bits here).
    return imm && (Number(ins.immediate(last)) & 31) !== 0 ? 1 : 0;
  }
  return 1;
}

/** No arithmetic flag changes: the lazy flag op known before survives the instruction. */
export function flagNeutral(ins: iced.Instruction): boolean {
  return (ins.rflagsModified & ARITH) === 0;
}

/**
 * Per instruction of a decoded block (exactly the instructions compiled): true if the flags it
 * produces are dead (Blink's flag-liveness idea, blink/deps.c). Pessimistic: the block end reads
 * them, and so does any instruction that can fault or stop the block after itself.
 */
export function flagLiveness(block: readonly iced.Instruction[], code: readonly string[]): boolean[] {
  const dead: boolean[] = new Array<boolean>(block.length).fill(false);
  let live = true;
  for (let j = block.length - 1; j >= 0; j--) {
    const ins = block[j]!;
    const mn = Mnemonic[ins.mnemonic]!;
    // A store can end the block right after it (watchpoint, self-modifying code): its own
    // flags are then visible, so they count as live.
    if (mayStopAfter(ins, mn)) live = true;
    dead[j] = !live;
    // An instruction that can fault exposes the incoming flags (pushed in the exception frame,
    // or visible to the owner at a gpa-fault exit), so for liveness it reads them.
    const k = mayFault(ins, mn) || callsFaultingHelper(code[j]!) ? 2 : flagUse(ins);
    if (k === 1) live = false;
    else if (k === 2) live = true;
  }
  return dead;
}

/** The lazy flag op after this instruction, if known at compile time. */
export function nextFop(ins: iced.Instruction, fop: number, code: string): number {
  if (flagNeutral(ins)) return fop;
  const mn = Mnemonic[ins.mnemonic]!;
  const m = /c\.fop=(\d+);/.exec(code);
  if (m && !code.includes("X.") && !code.includes("c.cf()") ) return Number(m[1]);
  if (m && (mn === "Inc" || mn === "Dec")) return Number(m[1]);
  return -1;
}

/**
 * A condition as a JS expression. When the flag-setting op of this block is known (cmp, sub,
 * test, and...), the condition is computed from its operands directly instead of materialising
 * EFLAGS (a cmp/jcc pair costs two comparisons).
 */
export function condExpr(cc: number, fop: number): string {
  const generic = `c.cond(${cc})`;
  if (fop < 0) return generic;
  const op = fop >> 2, lg = fop & 3;
  const neg = (e: string) => ((cc & 1) ? `!(${e})` : `(${e})`);
  const zf = lg === 3 ? "(c.fr|c.frh)===0" : "c.fr===0";
  const sf = lg === 3 ? "c.frh<0" : lg === 2 ? "c.fr<0" : lg === 1 ? "(c.fr&32768)!==0" : "(c.fr&128)!==0";
  const base = cc >> 1;
  if (base === 2) return neg(zf);
  if (base === 4) return neg(sf);
  if (op === 5) {
    // logic ops: CF=OF=0
    if (base === 0 || base === 1) return (cc & 1) ? "true" : "false";
    if (base === 3) return neg(zf);
    if (base === 6) return neg(sf);
    if (base === 7) return neg(`${zf}||${sf}`);
    return generic;
  }
  if (op === 2) {
    // sub/cmp: compare the operands
    const sx = (v: string) => (lg === 0 ? `((${v}<<24)>>24)` : lg === 1 ? `((${v}<<16)>>16)` : v);
    let lt: string, le: string, ult: string, ule: string;
    if (lg === 3) {
      ult = "((c.fah>>>0)<(c.fbh>>>0)||(c.fah===c.fbh&&(c.fa>>>0)<(c.fb>>>0)))";
      ule = "((c.fah>>>0)<(c.fbh>>>0)||(c.fah===c.fbh&&(c.fa>>>0)<=(c.fb>>>0)))";
      lt = "(c.fah<c.fbh||(c.fah===c.fbh&&(c.fa>>>0)<(c.fb>>>0)))";
      le = "(c.fah<c.fbh||(c.fah===c.fbh&&(c.fa>>>0)<=(c.fb>>>0)))";
    } else {
      ult = "(c.fa>>>0)<(c.fb>>>0)";
      ule = "(c.fa>>>0)<=(c.fb>>>0)";
      lt = `${sx("c.fa")}<${sx("c.fb")}`;
      le = `${sx("c.fa")}<=${sx("c.fb")}`;
    }
    if (base === 1) return neg(ult);
    if (base === 3) return neg(ule);
    if (base === 6) return neg(lt);
    if (base === 7) return neg(le);
  }
  return generic;
}

/** vCPU helpers the generated code calls that never fault (every other c.*() call may). */
const SAFE_HELPERS = new Set(["cf", "cond", "mergeArith", "setArith", "getFlags", "cn"]);

/** The compiled code of an instruction calls a vCPU helper that can raise an exception (c.priv, c.cli...). */
export function callsFaultingHelper(code: string): boolean {
  for (const m of code.matchAll(/\bc\.(\w+)\(/g)) if (!SAFE_HELPERS.has(m[1]!)) return true;
  return false;
}

/** Instructions that take a memory operand, use the stack or divide can fault mid-block. */
const FAULTING = new Set(["Push", "Pop", "Call", "Ret", "Leave", "Div", "Idiv", "Pushfq", "Popfq", "Pushfd", "Popfd", "Pushf", "Popf"]);
function mayFault(ins: iced.Instruction, mn: string): boolean {
  if (FAULTING.has(mn)) return true;
  if (mn === "Lea" || mn === "Nop" || mn.startsWith("Prefetch")) return false;
  for (let i = 0; i < ins.opCount; i++) if (ins.opKind(i) >= OpKind.MemorySegSI) return true;
  return false;
}

const STACK_WRITERS = new Set(["Push", "Call", "Pushfq", "Pushfd", "Pushf"]);
function mayStopAfter(ins: iced.Instruction, mn: string): boolean {
  if (STACK_WRITERS.has(mn) || /^(Movs|Stos|Cmpxchg8b|Cmpxchg16b)/.test(mn)) return true;
  return ins.opCount > 0 && ins.opKind(0) >= OpKind.MemorySegSI && mn !== "Nop" && !mn.startsWith("Prefetch") && mn !== "Cmp" && mn !== "Test" && mn !== "Bt";
}
