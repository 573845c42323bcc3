/* PRNG: xoshiro256** and PCG32 streams (64-bit shifts, rotates and multiplies) feeding a
 * histogram and a Monte Carlo estimate of pi in fixed point. */
#define NAME "prng"
#include "rt.h"

static u64 rotl(u64 x, int k) { return (x << k) | (x >> (64 - k)); }
static u64 xs[4];
static u64 xoshiro(void) {
  u64 r = rotl(xs[1] * 5, 7) * 9, t = xs[1] << 17;
  xs[2] ^= xs[0]; xs[3] ^= xs[1]; xs[1] ^= xs[2]; xs[0] ^= xs[3]; xs[2] ^= t; xs[3] = rotl(xs[3], 45);
  return r;
}
static u64 pcg_state;
static u32 pcg32(void) {
  u64 old = pcg_state;
  pcg_state = old * 6364136223846793005UL + 1442695040888963407UL;
  u32 x = (u32)(((old >> 18) ^ old) >> 27), rot = (u32)(old >> 59);
  return (x >> rot) | (x << ((-rot) & 31));
}

static u64 workload(u64 seed) {
  xs[0] = seed; xs[1] = seed ^ 0xdeadbeef; xs[2] = seed * 3; xs[3] = ~seed;
  pcg_state = seed;
  u32 hist[64] = {0};
  u64 inside = 0;
  for (u32 i = 0; i < 400000; i++) {
    hist[xoshiro() >> 58]++;
    u64 x = pcg32() >> 16, y = pcg32() >> 16;
    inside += x * x + y * y < (1UL << 32);
  }
  u64 h = inside;
  for (int i = 0; i < 64; i++) h = h * 1099511628211UL ^ hist[i];
  return h;
}
