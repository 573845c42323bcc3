/* Call-heavy: naive recursive Fibonacci, Ackermann, and a callback-driven insertion sort
 * through a function pointer (direct calls, returns, and indirect calls). */
#define NAME "calls"
#include "rt.h"

static __attribute__((noinline)) u64 fib(u32 n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
static __attribute__((noinline)) u64 ack(u64 m, u64 n) {
  if (m == 0) return n + 1;
  if (n == 0) return ack(m - 1, 1);
  return ack(m - 1, ack(m, n - 1));
}
typedef int (*cmp_fn)(u32, u32);
static __attribute__((noinline)) int up(u32 a, u32 b) { return a > b; }
static __attribute__((noinline)) int down(u32 a, u32 b) { return a < b; }
static u32 arr[600];
static __attribute__((noinline)) void isort(u32 *a, int n, cmp_fn gt) {
  for (int i = 1; i < n; i++) {
    u32 v = a[i];
    int j = i - 1;
    while (j >= 0 && gt(a[j], v)) { a[j + 1] = a[j]; j--; }
    a[j + 1] = v;
  }
}
static cmp_fn volatile order[2] = {up, down};

static u64 workload(u64 seed) {
  u64 h = fib(26) + ack(2, 300);
  u32 s = (u32)seed | 1;
  for (int i = 0; i < 600; i++) { s = s * 1103515245 + 12345; arr[i] = s >> 8; }
  isort(arr, 600, order[seed & 1]);
  isort(arr, 600, order[(seed & 1) ^ 1]);
  for (int i = 0; i < 600; i++) h = h * 131 + arr[i];
  return h;
}
