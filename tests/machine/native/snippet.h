/* Shared by the native runners: copy a snippet (slot: length byte + bytes) into executable
 * memory followed by `jmp qword [rip+0]; dq back`, so it returns to the runner's store half
 * without touching the flags. */
#include <stdint.h>
#include <string.h>

static inline void place_snippet(uint8_t *code, const uint8_t *slot, const void *back) {
  unsigned len = slot[0];
  memcpy(code, slot + 1, len);
  code[len] = 0xff; code[len + 1] = 0x25;
  memset(code + len + 2, 0, 4);
  uint64_t target = (uint64_t)(uintptr_t)back;
  memcpy(code + len + 6, &target, 8);
}
