/* Branchy: Collatz trajectories (a data-dependent branch every step) and a hand-written decision
 * tree over pseudo-random points; short basic blocks, unpredictable conditional jumps. */
#define NAME "branchy"
#include "rt.h"

static u32 classify(u32 x, u32 y) {
  if (x < 0x8000) {
    if (y < 0x4000) return x & 1 ? 0 : 1;
    if (y < 0xc000) return x < 0x2000 ? 2 : 3;
    return 4;
  }
  if (y & 0x100) return x > 0xc000 ? 5 : 6;
  return (x ^ y) & 0x20 ? 7 : 8;
}

static u64 workload(u64 seed) {
  u64 steps = 0;
  for (u64 n = 1; n < 20000; n++) {
    u64 x = n;
    while (x != 1) { x = (x & 1) ? 3 * x + 1 : x >> 1; steps++; }
  }
  u32 hist[9] = {0};
  u32 s = (u32)seed;
  for (int i = 0; i < 300000; i++) {
    s ^= s << 13; s ^= s >> 17; s ^= s << 5;
    hist[classify(s & 0xffff, s >> 16)]++;
  }
  u64 h = steps;
  for (int i = 0; i < 9; i++) h = h * 31 + hist[i];
  return h;
}
