/**
 * Compile-time flag analysis for a block: which instructions' flags are dead (a later one
 * overwrites all six before anything reads them), and conditions computed directly from the
 * operands of a known flag-setting instruction (cmp/test + jcc without materialising EFLAGS).
 */
import * as iced from "iced-x86";

const { Decoder, DecoderOptions, Instruction, Mnemonic, OpKind, Code, DecoderError } = iced;
export const MAX_BLOCK = 64;

/** Mnemonics that always overwrite all six arithmetic flags (in this implementation). */
export const FLAG_WRITERS = new Set(["Add", "Sub", "And", "Or", "Xor", "Cmp", "Test", "Neg", "Cmpxchg", "Xadd", "Popcnt", "Tzcnt", "Lzcnt", "Mul", "Imul", "Andn", "Blsr", "Blsi", "Blsmsk", "Bzhi"]);

/** Mnemonics that change only some flags, or none for some inputs: transparent for liveness. */
export const FLAG_PARTIAL = new Set(["Rol", "Ror", "Shl", "Sal", "Shr", "Sar"]);

/**
 * Per instruction of the block starting at `va`: true if the flags it produces are dead (Blink's
 * flag-liveness idea, blink/deps.c). Pessimistic: block end and any unknown instruction read them.
 */
export function flagLiveness(bytes: Uint8Array, va: number, m64: boolean): boolean[] {
  const dec = new Decoder(m64 ? 64 : 32, bytes, DecoderOptions.None);
  dec.ip = BigInt.asUintN(64, BigInt(va));
  const ins = new Instruction();
  const kinds: number[] = []; // 0 neutral/partial (transparent), 1 writes all, 2 reads
  const stopsAfter: boolean[] = [];
  try {
    let ip = va;
    const page = va - (va & 4095);
    while (kinds.length < MAX_BLOCK && dec.canDecode) {
      if (kinds.length > 0 && ip - (ip & 4095) !== page) break;
      dec.decodeOut(ins);
      if (dec.lastError !== DecoderError.None || ins.code === Code.INVALID) break;
      const mn = Mnemonic[ins.mnemonic]!;
      let k = 2;
      // setcc/cmovcc leave the flags alone (FLAG_NEUTRAL) but read them.
      if (FLAG_NEUTRAL.has(mn) && !mn.startsWith("Set") && !mn.startsWith("Cmov")) k = 0;
      else if (FLAG_WRITERS.has(mn) && !ins.hasRepPrefix) k = 1;
      else if (FLAG_PARTIAL.has(mn)) {
        const imm = ins.opCount > 1 && ins.op1Kind >= OpKind.Immediate8 && ins.op1Kind <= OpKind.Immediate32to64;
        k = imm && (mn !== "Rol" && mn !== "Ror") && (Number(ins.immediate(1)) & 31) !== 0 ? 1 : 0;
      }
      // An instruction that can fault exposes the incoming flags (pushed in the exception frame,
      // or visible to the owner at a gpa-fault exit), so for liveness it reads them.
      if (k !== 2 && mayFault(ins, mn)) k = 2;
      kinds.push(k);
      // A store can end the block right after it (watchpoint, self-modifying code): its own
      // flags are then visible, so they count as live.
      stopsAfter.push(mayStopAfter(ins, mn));
      ip += ins.length;
      if (ins.flowControl !== iced.FlowControl.Next) break;
    }
  } finally {
    ins.free();
    dec.free();
  }
  const dead: boolean[] = new Array<boolean>(kinds.length).fill(false);
  let live = true;
  for (let j = kinds.length - 1; j >= 0; j--) {
    if (stopsAfter[j]) live = true;
    dead[j] = !live;
    if (kinds[j] === 1) live = false;
    else if (kinds[j] === 2) live = true;
  }
  return dead;
}

/** Instructions that leave the arithmetic flags alone (the known lazy op survives them). */
export const FLAG_NEUTRAL = new Set([
  "Mov", "Movzx", "Movsx", "Movsxd", "Lea", "Push", "Pop", "Xchg", "Nop", "Cbw", "Cwde", "Cdqe", "Cwd", "Cdq", "Cqo",
  "Bswap", "Not", "Leave", "Rorx", "Shlx", "Shrx", "Sarx", "Mulx", "Movbe", "Endbr64", "Endbr32", "Pause", "Prefetchnta", "Prefetcht0", "Prefetcht1", "Prefetcht2",
  "Setb", "Setae", "Sete", "Setne", "Setbe", "Seta", "Sets", "Setns", "Setp", "Setnp", "Setl", "Setge", "Setle", "Setg", "Seto", "Setno",
  "Cmovb", "Cmovae", "Cmove", "Cmovne", "Cmovbe", "Cmova", "Cmovs", "Cmovns", "Cmovp", "Cmovnp", "Cmovl", "Cmovge", "Cmovle", "Cmovg", "Cmovo", "Cmovno",
]);

/** The lazy flag op after this instruction, if known at compile time. */
export function nextFop(mn: string, fop: number, code: string): number {
  if (FLAG_NEUTRAL.has(mn)) return fop;
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
