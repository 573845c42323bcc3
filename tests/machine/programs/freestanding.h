/* What the freestanding test programs share: types, the mem* functions gcc may call, put()
 * (Linux write(2) natively with -DNATIVE, port 0xE9 on the emulator with -DEMU) and _start
 * (calls main, then exit(2) natively or hlt on the emulator). */
typedef unsigned long u64;
typedef long i64;
typedef unsigned int u32;
typedef unsigned char u8;
typedef int i32;

#include "mem-functions.h"

static void put(const char *s, u64 n) {
#ifdef NATIVE
  long r;
  __asm__ volatile("syscall" : "=a"(r) : "a"(1), "D"(1), "S"(s), "d"(n) : "rcx", "r11", "memory");
#else
  for (u64 i = 0; i < n; i++) __asm__ volatile("outb %0, $0xe9" : : "a"(s[i]));
#endif
}

int main(void);

__attribute__((naked, noreturn)) void _start(void) {
#ifdef NATIVE
  __asm__ volatile("and $-16, %rsp\n call main\n mov $60, %eax\n xor %edi, %edi\n syscall\n");
#else
  __asm__ volatile("and $-16, %rsp\n call main\n 1: hlt\n jmp 1b\n");
#endif
}
