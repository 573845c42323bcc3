/* Reads x87 cases from stdin (32-byte code slot: length byte + instruction bytes; 256-byte state,
 * see x87runner.asm), runs each on the host CPU, writes the 256-byte state after it to stdout. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

extern void run_x87(uint8_t *state, void *code);
extern char x87_ret[];

int main(void) {
  uint8_t *code = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (code == MAP_FAILED) { perror("mmap"); return 1; }
  uint8_t slot[32];
  uint8_t state[256] __attribute__((aligned(16)));
  while (fread(slot, 1, 32, stdin) == 32 && fread(state, 1, 256, stdin) == 256) {
    unsigned len = slot[0];
    memcpy(code, slot + 1, len);
    code[len] = 0xff; code[len + 1] = 0x25; /* jmp qword [rip+0]; dq x87_ret */
    memset(code + len + 2, 0, 4);
    uint64_t target = (uint64_t)(uintptr_t)x87_ret;
    memcpy(code + len + 6, &target, 8);
    run_x87(state, code);
    fwrite(state, 1, 256, stdout);
  }
  return 0;
}
