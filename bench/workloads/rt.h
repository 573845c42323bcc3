/* The runtime every workload shares. One ELF runs three ways, unchanged: natively and under
 * qemu-x86_64 as a static Linux binary, and on the XenLab vCPU, where bench/workloads.bench.ts
 * points LSTAR at a tiny handler that turns write(2) into port 0xE9 output and exit(2) into hlt.
 * Only write and exit are used. `prog N` runs the workload N times (default 1; the vCPU starts
 * with argc 0): the bench times two counts to separate process start-up from the work itself. */
typedef unsigned long u64;
typedef long i64;
typedef unsigned int u32;
typedef int i32;
typedef unsigned short u16;
typedef unsigned char u8;

#include "../../tests/machine/programs/mem-functions.h"

/* Linux x86-64 syscall ABI: rax number, rdi/rsi/rdx arguments; rcx and r11 are clobbered. */
static void sys_write(const char *s, u64 n) {
  long r = 1;
  __asm__ volatile("syscall" : "+a"(r), "+S"(s), "+d"(n) : "D"(1L) : "rcx", "r11", "memory");
}
static __attribute__((noreturn)) void sys_exit(int code) {
  __asm__ volatile("syscall" : : "a"(60L), "D"((long)code) : "rcx", "r11", "memory");
  for (;;) {}
}

static void puthex(const char *label, u64 v) {
  char buf[80];
  int n = 0;
  while (*label) buf[n++] = *label++;
  buf[n++] = ' ';
  for (int i = 60; i >= 0; i -= 4) buf[n++] = "0123456789abcdef"[(v >> i) & 15];
  buf[n++] = '\n';
  sys_write(buf, n);
}

/* The seed is read through a volatile so the compiler cannot hoist a repeated workload. */
static volatile u64 seed_cell = 0x9e3779b97f4a7c15UL;

/* One run of the workload: the same work every call (it resets its own state). */
static u64 workload(u64 seed);

static u64 parse_count(const char *s) {
  u64 n = 0;
  while (*s >= '0' && *s <= '9') n = n * 10 + (u64)(*s++ - '0');
  return n ? n : 1;
}

__attribute__((used)) static void start_c(u64 *sp) {
  u64 argc = sp[0];
  u64 runs = argc > 1 ? parse_count((const char *)sp[2]) : 1;
  u64 first = workload(seed_cell);
  for (u64 r = 1; r < runs; r++)
    if (workload(seed_cell) != first) { sys_write("runs differ\n", 12); sys_exit(1); }
  puthex(NAME, first);
  sys_exit(0);
}

__attribute__((naked, noreturn)) void _start(void) {
  __asm__ volatile("mov %rsp, %rdi\n and $-16, %rsp\n call start_c\n hlt\n");
}
