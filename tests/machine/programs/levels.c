/* What libgcc's __builtin_cpu_supports (its own decoding of CPUID, cpuinfo.c) says about the
 * processor it runs on: one "name yes|no" line per feature or psABI level. Run on the emulator it
 * is an independent reading of the vCPU's CPUID. */
#include "freestanding.h"

static void say(const char *name, int yes) {
  char b[32];
  u64 n = 0;
  while (*name) b[n++] = *name++;
  for (const char *s = yes ? " yes\n" : " no\n"; *s; s++) b[n++] = *s;
  put(b, n);
}

int main(void) {
  __builtin_cpu_init();
  say("mmx", __builtin_cpu_supports("mmx"));
  say("sse", __builtin_cpu_supports("sse"));
  say("sse2", __builtin_cpu_supports("sse2"));
  say("sse3", __builtin_cpu_supports("sse3"));
  say("ssse3", __builtin_cpu_supports("ssse3"));
  say("sse4.1", __builtin_cpu_supports("sse4.1"));
  say("sse4.2", __builtin_cpu_supports("sse4.2"));
  say("popcnt", __builtin_cpu_supports("popcnt"));
  say("pclmul", __builtin_cpu_supports("pclmul"));
  say("aes", __builtin_cpu_supports("aes"));
  say("avx", __builtin_cpu_supports("avx"));
  say("avx2", __builtin_cpu_supports("avx2"));
  say("x86-64", __builtin_cpu_supports("x86-64"));
  say("x86-64-v2", __builtin_cpu_supports("x86-64-v2"));
  say("x86-64-v3", __builtin_cpu_supports("x86-64-v3"));
  return 0;
}
