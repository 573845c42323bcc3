/* A bytecode VM: a stack machine with a switch dispatch (an indirect jump per opcode) running a
 * program that counts primes below a bound by trial division. */
#define NAME "bytecode"
#include "rt.h"

enum { PUSH, LOAD, STORE, ADD, SUB, MOD, LT, JZ, JMP, DUP, DROP, HALT, INC, MUL, GT };
/* locals: 0 n, 1 d, 2 count, 3 bound, 4 isprime */
static const i32 prog[] = {
  PUSH, 2, STORE, 0,                                   /* n = 2 */
  /*  4 outer */ LOAD, 0, LOAD, 3, LT, JZ, 57,         /* while n < bound */
  /* 11 */ PUSH, 1, STORE, 4, PUSH, 2, STORE, 1,       /* isprime = 1; d = 2 */
  /* 19 inner */ LOAD, 1, LOAD, 1, MUL, LOAD, 0, GT, JZ, 31, JMP, 46, /* d*d > n: done */
  /* 31 */ LOAD, 0, LOAD, 1, MOD, JZ, 42, INC, 1, JMP, 19,           /* n % d == 0: composite */
  /* 42 */ PUSH, 0, STORE, 4,
  /* 46 */ LOAD, 2, LOAD, 4, ADD, STORE, 2, INC, 0, JMP, 4,          /* count += isprime; n++ */
  /* 57 */ LOAD, 2, HALT,
};

static i64 run(i64 bound) {
  i64 stack[64], loc[8] = {0};
  int sp = 0, pc = 0;
  loc[3] = bound;
  for (;;) {
    switch (prog[pc++]) {
    case PUSH: stack[sp++] = prog[pc++]; break;
    case LOAD: stack[sp++] = loc[prog[pc++]]; break;
    case STORE: loc[prog[pc++]] = stack[--sp]; break;
    case ADD: sp--; stack[sp - 1] += stack[sp]; break;
    case SUB: sp--; stack[sp - 1] -= stack[sp]; break;
    case MUL: sp--; stack[sp - 1] *= stack[sp]; break;
    case MOD: sp--; stack[sp - 1] %= stack[sp]; break;
    case LT: sp--; stack[sp - 1] = stack[sp - 1] < stack[sp]; break;
    case GT: sp--; stack[sp - 1] = stack[sp - 1] > stack[sp]; break;
    case JZ: { i32 t = prog[pc++]; if (stack[--sp] == 0) pc = t; break; }
    case JMP: pc = prog[pc]; break;
    case DUP: stack[sp] = stack[sp - 1]; sp++; break;
    case DROP: sp--; break;
    case INC: loc[prog[pc++]]++; break;
    case HALT: return stack[sp - 1];
    }
  }
}

static u64 workload(u64 seed) { return (u64)run(9000 + (i64)((seed >> 40) & 1)) * 1000003u + seed; }
