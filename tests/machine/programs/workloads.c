/* gcc -O2 freestanding workloads: built natively (-DNATIVE: Linux syscalls) and for the emulator
 * (-DEMU: output on port 0xE9, then hlt). Both print the same hex lines. `iterations` can be
 * patched through the ELF symbol table to make the benchmark run longer. */
#include "freestanding.h"

#define i32_t(x) ((i32)(x))

#ifndef ITERS
#define ITERS 1
#endif
volatile u32 iterations = ITERS;

static void puthex(const char *label, u64 v) {
  char buf[64];
  int n = 0;
  while (*label) buf[n++] = *label++;
  buf[n++] = ' ';
  for (int i = 60; i >= 0; i -= 4) buf[n++] = "0123456789abcdef"[(v >> i) & 15];
  buf[n++] = '\n';
  put(buf, n);
}

static u8 sieve_buf[65536];
static u64 sieve(void) {
  u64 n = sizeof sieve_buf, count = 0;
  memset(sieve_buf, 1, n);
  sieve_buf[0] = sieve_buf[1] = 0;
  for (u64 i = 2; i * i < n; i++)
    if (sieve_buf[i]) for (u64 j = i * i; j < n; j += i) sieve_buf[j] = 0;
  for (u64 i = 0; i < n; i++) count += sieve_buf[i];
  return count;
}

static u8 data[16384];
static void fill(u32 seed) {
  for (u64 i = 0; i < sizeof data; i++) { seed = seed * 1103515245u + 12345u; data[i] = (u8)(seed >> 16); }
}

static u32 crc32(const u8 *p, u64 n) {
  u32 crc = 0xffffffffu;
  for (u64 i = 0; i < n; i++) {
    crc ^= p[i];
    for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1));
  }
  return ~crc;
}

static const u32 K[64] = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
static void sha256_block(u32 h[8], const u8 *p) {
  u32 w[64];
  for (int i = 0; i < 16; i++) w[i] = (u32)p[4 * i] << 24 | (u32)p[4 * i + 1] << 16 | (u32)p[4 * i + 2] << 8 | p[4 * i + 3];
  for (int i = 16; i < 64; i++) {
    u32 s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
    u32 s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  u32 a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
  for (int i = 0; i < 64; i++) {
    u32 t1 = hh + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
    u32 t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}
static u64 sha256(const u8 *p, u64 n) {
  u32 h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  u64 i = 0;
  for (; i + 64 <= n; i += 64) sha256_block(h, p + i);
  u8 last[128];
  u64 rem = n - i;
  memset(last, 0, sizeof last);
  memcpy(last, p + i, rem);
  last[rem] = 0x80;
  u64 blocks = rem + 9 > 64 ? 2 : 1;
  u64 bits = n * 8;
  for (int k = 0; k < 8; k++) last[blocks * 64 - 1 - k] = (u8)(bits >> (8 * k));
  for (u64 b = 0; b < blocks; b++) sha256_block(h, last + 64 * b);
  return (u64)h[0] << 32 | h[1];
}

static u32 arr[4096];
static void quicksort(u32 *a, long lo, long hi) {
  while (lo < hi) {
    u32 pivot = a[(lo + hi) / 2];
    long i = lo, j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) { u32 t = a[i]; a[i] = a[j]; a[j] = t; i++; j--; }
    }
    if (j - lo < hi - i) { quicksort(a, lo, j); lo = i; } else { quicksort(a, i, hi); hi = j; }
  }
}
static u64 sort_check(void) {
  u32 seed = 42;
  for (int i = 0; i < 4096; i++) { seed = seed * 1664525u + 1013904223u; arr[i] = seed; }
  quicksort(arr, 0, 4095);
  u64 h = 0;
  for (int i = 0; i < 4096; i++) { if (i && arr[i - 1] > arr[i]) return 0; h = h * 31 + arr[i]; }
  return h;
}

static u64 A[32], B[32], P[64];
static u64 bignum(void) {
  u64 s = 0x9e3779b97f4a7c15ul;
  for (int i = 0; i < 32; i++) { s ^= s << 13; s ^= s >> 7; s ^= s << 17; A[i] = s; s ^= s << 13; s ^= s >> 7; s ^= s << 17; B[i] = s; }
  memset(P, 0, sizeof P);
  for (int i = 0; i < 32; i++) {
    u64 carry = 0;
    for (int j = 0; j < 32; j++) {
      unsigned __int128 t = (unsigned __int128)A[i] * B[j] + P[i + j] + carry;
      P[i + j] = (u64)t;
      carry = (u64)(t >> 64);
    }
    P[i + 32] = carry;
  }
  u64 h = 0;
  for (int i = 0; i < 64; i++) h = (h ^ P[i]) * 0x100000001b3ul;
  return h;
}

static u64 divs(void) {
  u64 acc = 0;
  i64 sacc = 0;
  volatile u64 d = 7;
  for (u64 i = 1; i <= 1000; i++) {
    acc += (i * 0x123456789abcdeful) / (d + i);
    sacc += (i64)(acc ^ (i << 40)) % (i64)(d - 3 * (i64)i);
  }
  return acc ^ (u64)sacc;
}

/* String instructions and bit tricks through inline asm and builtins: the native build is the oracle. */
static u8 sbuf[512], dbuf[512];
static u64 strings(void) {
  u64 h = 0;
  for (int i = 0; i < 512; i++) sbuf[i] = (u8)(i * 7 + 3);
  u64 n = 300; void *d = dbuf + 5; const void *sp = sbuf + 9;
  __asm__ volatile("rep movsb" : "+D"(d), "+S"(sp), "+c"(n) : : "memory");
  n = 16; d = dbuf + 400; u64 v = 0x0102030405060708ul;
  __asm__ volatile("rep stosq" : "+D"(d), "+c"(n) : "a"(v) : "memory");
  n = 100; d = dbuf + 300 + 99; sp = sbuf + 200 + 99;
  __asm__ volatile("std\n rep movsb\n cld" : "+D"(d), "+S"(sp), "+c"(n) : : "memory");
  for (int i = 0; i < 512; i++) h = h * 131 + dbuf[i];
  n = 512; d = sbuf; u64 al = sbuf[77];
  __asm__ volatile("repne scasb" : "+D"(d), "+c"(n) : "a"(al) : "memory", "cc");
  h ^= n * 1000003;
  n = 64; d = dbuf + 5; sp = sbuf + 9;
  __asm__ volatile("repe cmpsb" : "+D"(d), "+S"(sp), "+c"(n) : : "memory", "cc");
  h ^= n << 20;
  u64 q; sp = sbuf + 32;
  __asm__ volatile("lodsq" : "=a"(q), "+S"(sp) : : "memory");
  h += q;
  return h;
}

static u64 bits(u64 seed) {
  u64 h = 0;
  for (int i = 0; i < 200; i++) {
    seed = seed * 6364136223846793005ul + 1442695040888963407ul;
    u64 x = seed | 1;
    h += (u64)__builtin_ctzll(x) + ((u64)__builtin_clzll(x) << 8);
    h ^= __builtin_bswap64(seed);
    unsigned __int128 w = (unsigned __int128)seed << (i & 127);
    h += (u64)(w >> 64) ^ (u64)w;
    __int128 sw = (__int128)(i64)seed >> (i & 63);
    h += (u64)sw;
    h += (i64)seed < 0 ? 3 : 7;
    h += (u32)seed > 0x80000000u;
    i64 a = (i64)seed, b = (i64)(seed >> 7) | 1;
    h += (u64)(a / b) + (u64)(a % b) + (u64)((i32_t(seed)) / 3);
  }
  return h;
}

/* A dense switch: gcc -O2 compiles it to a jump table (indirect jmp through memory or register). */
static __attribute__((noinline)) u64 op(u32 k, u64 x) {
  switch (k & 15) {
    case 0: return x + 1;
    case 1: return x * 3;
    case 2: return x ^ 0x5555;
    case 3: return x >> 3;
    case 4: return x << 5;
    case 5: return ~x;
    case 6: return x - 77;
    case 7: return x * x;
    case 8: return x / 7;
    case 9: return x % 1000;
    case 10: return x | 0x100;
    case 11: return x & 0xff00ff;
    case 12: return (x << 13) | (x >> 51);
    case 13: return -x;
    default: return x + k;
  }
}
static u64 dispatch(void) {
  u64 x = 12345;
  for (u32 i = 0; i < 5000; i++) x = op(i * 7 + (u32)(x >> 9), x);
  return x;
}

int main(void) {
  u64 r[9] = {0};
  for (u32 it = 0; it < iterations; it++) {
    fill(it + 1);
    r[0] += sieve();
    r[1] += crc32(data, 4096);
    r[2] += sha256(data, sizeof data);
    r[3] += sort_check();
    r[4] += bignum();
    r[5] += divs();
    r[6] += strings();
    r[7] += bits(it + 99);
    r[8] += dispatch();
  }
  puthex("sieve", r[0]);
  puthex("crc32", r[1]);
  puthex("sha256", r[2]);
  puthex("qsort", r[3]);
  puthex("bignum", r[4]);
  puthex("divs", r[5]);
  puthex("strings", r[6]);
  puthex("bits", r[7]);
  puthex("switch", r[8]);
  return 0;
}
