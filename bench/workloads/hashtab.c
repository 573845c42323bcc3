/* Hash table: open addressing with linear probing and tombstones, 64-bit keys through a
 * multiplicative hash; inserts, hits, misses and deletes. */
#define NAME "hashtab"
#include "rt.h"

#define CAP (1u << 16)
static u64 keys[CAP], vals[CAP];
static u8 state[CAP]; /* 0 empty, 1 full, 2 deleted */

static u32 slot(u64 k) { return (u32)((k * 0x9e3779b97f4a7c15UL) >> 48); }
static void put(u64 k, u64 v) {
  u32 i = slot(k);
  while (state[i] == 1 && keys[i] != k) i = (i + 1) & (CAP - 1);
  keys[i] = k; vals[i] = v; state[i] = 1;
}
static int get(u64 k, u64 *v) {
  for (u32 i = slot(k);; i = (i + 1) & (CAP - 1)) {
    if (state[i] == 0) return 0;
    if (state[i] == 1 && keys[i] == k) { *v = vals[i]; return 1; }
  }
}
static void del(u64 k) {
  for (u32 i = slot(k);; i = (i + 1) & (CAP - 1)) {
    if (state[i] == 0) return;
    if (state[i] == 1 && keys[i] == k) { state[i] = 2; return; }
  }
}

/* One pass: fill from empty, look up hits and misses while deleting a quarter, look up again. */
static u64 pass(u64 seed) {
  memset(state, 0, sizeof state);
  u64 s = seed, h = 0, v;
  for (u32 i = 0; i < 40000; i++) { s = s * 2862933555777941757UL + 3037000493UL; put(s >> 11, i); }
  s = seed;
  for (u32 i = 0; i < 40000; i++) {
    s = s * 2862933555777941757UL + 3037000493UL;
    if (get(s >> 11, &v)) h += v;
    if (get((s >> 11) ^ 0x5555, &v)) h ^= v;
    if ((i & 3) == 0) del(s >> 11);
  }
  s = seed;
  for (u32 i = 0; i < 40000; i++) { s = s * 2862933555777941757UL + 3037000493UL; h += get(s >> 11, &v); }
  return h;
}

static u64 workload(u64 seed) {
  u64 h = 0;
  for (int rep = 0; rep < 3; rep++) h = h * 7 + pass(seed + (u64)rep);
  return h;
}
