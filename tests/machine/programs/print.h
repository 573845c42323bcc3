/* Buffered output for the freestanding test programs: put() (freestanding.h) in 8 KiB pieces,
 * and `name 0123456789abcdef` lines. Call flush() before returning from main. */
#include "freestanding.h"

static char out[8192];
static u64 outn;
static void flush(void) { put(out, outn); outn = 0; }
static void putc_(char c) { if (outn == sizeof out) flush(); out[outn++] = c; }
static void puts_(const char *s) { while (*s) putc_(*s++); }
static void puthex(u64 v) { for (int i = 60; i >= 0; i -= 4) putc_("0123456789abcdef"[(v >> i) & 15]); }
static void line(const char *name, u64 v) { puts_(name); putc_(' '); puthex(v); putc_('\n'); }
