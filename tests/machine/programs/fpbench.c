/* The SSE bench workload (bench/sse.bench.ts): a Mandelbrot set and a matrix multiply, in double
 * precision (SSE2 scalar and packed arithmetic) or, with -DINTEGER, the same algorithms in 16.16
 * fixed point (integer code), `iterations` times. Prints a checksum (hex). */
#include "freestanding.h"

#ifndef ITERS
#define ITERS 1
#endif
volatile u32 iterations = ITERS;

#ifdef INTEGER
typedef long num;
#define ONE 65536L
#define MUL(a, b) (((a) * (b)) >> 16)
#define FROM(n, d) ((num)((n) * ONE / (d)))
#else
typedef double num;
#define ONE 1.0
#define MUL(a, b) ((a) * (b))
#define FROM(n, d) ((num)(n) / (num)(d))
#endif

static u64 mandel(void) {
  u64 total = 0;
  for (int y = 0; y < 32; y++)
    for (int x = 0; x < 48; x++) {
      num cr = FROM(x * 3 - 100, 48), ci = FROM(y * 2 - 32, 32);
      num zr = 0, zi = 0;
      int it = 0;
      while (it < 64 && MUL(zr, zr) + MUL(zi, zi) <= 4 * ONE) {
        num t = MUL(zr, zr) - MUL(zi, zi) + cr;
        zi = 2 * MUL(zr, zi) + ci;
        zr = t;
        it++;
      }
      total += it;
    }
  return total;
}

#define N 20
static num A[N][N], B[N][N], C[N][N];
static u64 matmul(u32 seed) {
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) { A[i][j] = FROM((int)((i * 7 + j + seed) % 13) - 6, 4); B[i][j] = FROM((int)((i + j * 3) % 11) - 5, 8); }
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) {
      num s = 0;
      for (int k = 0; k < N; k++) s += MUL(A[i][k], B[k][j]);
      C[i][j] = s;
    }
  u64 h = 0;
  for (int i = 0; i < N; i++) for (int j = 0; j < N; j++) h = h * 31 + (u64)(long)(C[i][j] * 16);
  return h;
}

int main(void) {
  u64 h = 0;
  for (u32 i = 0; i < iterations; i++) h = h * 1000003 + mandel() + matmul(i);
  char buf[20];
  for (int i = 0; i < 16; i++) buf[i] = "0123456789abcdef"[(h >> (60 - 4 * i)) & 15];
  buf[16] = '\n';
  put(buf, 17);
  return 0;
}
