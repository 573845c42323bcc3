/* SSE differential harness, native side. Reads cases from stdin (96-byte code slot: length byte +
 * instruction bytes; 1296-byte state, see sse-runner.asm), runs each on the host CPU and writes
 * the state after execution. A snippet that faults (#GP, #UD, #XM...) is caught by a signal
 * handler that records the exception vector (the kernel's trap number), the registers and the
 * FXSAVE image at the fault; vector 255 means no exception. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include "snippet.h"

#define STATE 1296
extern void sse_run_case(uint8_t *state, void *code);
extern char sse_ret_point[];

static sigjmp_buf env;
static uint8_t *cur;

static void on_fault(int sig, siginfo_t *si, void *ctx) {
  (void)sig; (void)si;
  ucontext_t *uc = ctx;
  greg_t *g = uc->uc_mcontext.gregs;
  uint64_t r[16] = {g[REG_RAX], g[REG_RCX], g[REG_RDX], g[REG_RBX], 0, g[REG_RBP], g[REG_RSI], g[REG_RDI],
                    g[REG_R8], g[REG_R9], g[REG_R10], g[REG_R11], g[REG_R12], g[REG_R13], g[REG_R14], g[REG_R15]};
  memcpy(cur, r, 128);
  uint64_t fl = g[REG_EFL], vec = g[REG_TRAPNO];
  memcpy(cur + 128, &fl, 8);
  memcpy(cur + 136, &vec, 8);
  memcpy(cur + 144, uc->uc_mcontext.fpregs, 464); /* bytes 464..511 hold the kernel's sw_reserved */
  siglongjmp(env, 1);
}

int main(void) {
  uint8_t *code = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (code == MAP_FAILED) { perror("mmap"); return 1; }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigaction(SIGSEGV, &sa, 0); sigaction(SIGILL, &sa, 0); sigaction(SIGFPE, &sa, 0); sigaction(SIGBUS, &sa, 0);
  static uint8_t slot[96];
  static uint8_t state[STATE] __attribute__((aligned(64)));
  while (fread(slot, 1, 96, stdin) == 96 && fread(state, 1, STATE, stdin) == STATE) {
    place_snippet(code, slot, sse_ret_point);
    uint64_t none = 255;
    memcpy(state + 136, &none, 8);
    cur = state;
    if (sigsetjmp(env, 1) == 0) sse_run_case(state, code);
    fwrite(state, 1, STATE, stdout);
  }
  return 0;
}
