/* Memory-bound: pointer chasing through a random cyclic permutation of 512 Ki words (2 MiB, far
 * more pages than a small TLB holds), then a strided sum over the same array. */
#define NAME "membound"
#include "rt.h"

#define WORDS (512 * 1024)
static u32 next[WORDS];

static u64 workload(u64 seed) {
  u64 s = seed | 1;
  for (u32 i = 0; i < WORDS; i++) next[i] = i;
  /* Sattolo's algorithm: one cycle through every word. */
  for (u32 i = WORDS - 1; i > 0; i--) {
    s ^= s << 7; s ^= s >> 9;
    u32 j = (u32)(s % i);
    u32 t = next[i]; next[i] = next[j]; next[j] = t;
  }
  u64 sum = 0;
  u32 p = 0;
  for (u32 k = 0; k < 1000000; k++) { p = next[p]; sum += p; }
  for (u32 stride = 1024; stride < WORDS; stride *= 4)
    for (u32 i = 0; i < WORDS; i += stride / 64) sum ^= next[i] + i;
  return sum;
}
