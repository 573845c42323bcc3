/* Reads cases from stdin (32-byte code slot: length byte + instruction bytes; 200-byte state),
 * runs each on the host CPU, writes the 200-byte state after execution to stdout. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include "snippet.h"

extern void run_case(uint64_t *state, void *code);
extern char ret_point[];

int main(void) {
  uint8_t *code = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (code == MAP_FAILED) { perror("mmap"); return 1; }
  uint8_t slot[32];
  uint64_t state[25] __attribute__((aligned(16))); /* mem at +136: 8 mod 16, as in the emulator */
  while (fread(slot, 1, 32, stdin) == 32 && fread(state, 1, 200, stdin) == 200) {
    place_snippet(code, slot, ret_point);
    run_case(state, code);
    fwrite(state, 1, 200, stdout);
  }
  return 0;
}
