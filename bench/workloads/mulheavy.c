/* Multiply-heavy: a 64-bit integer matrix product, a polynomial hash and 64-bit modular
 * exponentiation by a 31-bit prime (64-bit mul and div in the inner loops). */
#define NAME "mulheavy"
#include "rt.h"

#define N 64
static u64 A[N][N], B[N][N], C[N][N];

static u64 powmod(u64 b, u64 e, u64 m) {
  u64 r = 1;
  b %= m;
  while (e) { if (e & 1) r = r * b % m; b = b * b % m; e >>= 1; }
  return r;
}

static u64 workload(u64 seed) {
  u64 s = seed;
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) { s = s * 6364136223846793005UL + 1442695040888963407UL; A[i][j] = s; B[j][i] = s >> 7; }
  for (int rep = 0; rep < 4; rep++)
    for (int i = 0; i < N; i++)
      for (int j = 0; j < N; j++) {
        u64 acc = 0;
        for (int k = 0; k < N; k++) acc += A[i][k] * B[k][j];
        C[i][j] = acc + rep;
      }
  u64 h = 0;
  for (int i = 0; i < N; i++) for (int j = 0; j < N; j++) h = h * 0x100000001b3UL ^ C[i][j];
  for (u64 k = 1; k < 8000; k++) h += powmod(h ^ k, k * 977, 2147483647UL);
  return h;
}
