/* What the freestanding test programs share: types, the mem* functions gcc may call, put()
 * (Linux write(2) natively with -DNATIVE, port 0xE9 on the emulator with -DEMU) and _start
 * (calls main, then exit(2) natively or hlt on the emulator). With -m32 (__i386__) the native
 * calls are Linux's i386 ones (int $0x80: write = 4, exit = 1; arguments in EBX, ECX, EDX), and
 * both i386 builds start with fninit, as Linux hands a process FCW = 0x37F. */
#ifdef __i386__
typedef unsigned long long u64;
typedef long long i64;
#else
typedef unsigned long u64;
typedef long i64;
#endif
typedef unsigned int u32;
typedef unsigned char u8;
typedef int i32;

#include "mem-functions.h"

static void put(const char *s, u64 n) {
#if defined(NATIVE) && defined(__i386__)
  long r;
  __asm__ volatile("int $0x80" : "=a"(r) : "a"(4), "b"(1), "c"(s), "d"((u32)n) : "memory");
#elif defined(NATIVE)
  long r;
  __asm__ volatile("syscall" : "=a"(r) : "a"(1), "D"(1), "S"(s), "d"(n) : "rcx", "r11", "memory");
#else
  for (u64 i = 0; i < n; i++) __asm__ volatile("outb %0, $0xe9" : : "a"(s[i]));
#endif
}

int main(void);

__attribute__((naked, noreturn)) void _start(void) {
#if defined(NATIVE) && defined(__i386__)
  __asm__ volatile("fninit\n and $-16, %esp\n call main\n mov $1, %eax\n xor %ebx, %ebx\n int $0x80\n");
#elif defined(__i386__)
  __asm__ volatile("fninit\n and $-16, %esp\n call main\n 1: hlt\n jmp 1b\n");
#elif defined(NATIVE)
  __asm__ volatile("and $-16, %rsp\n call main\n mov $60, %eax\n xor %edi, %edi\n syscall\n");
#else
  __asm__ volatile("and $-16, %rsp\n call main\n 1: hlt\n jmp 1b\n");
#endif
}
