/* A freestanding i386 program (gcc -m32) for 32-bit protected mode under 32-bit and PAE paging:
 * integer work (a sieve, a quicksort, 64-bit multiply/divide/shift through libgcc's helpers, the
 * string instructions with 32-bit operands, bit builtins), and float work: a Mandelbrot set in
 * double, a matrix multiply in double and float, printf-style decimal formatting, conversions,
 * rounding modes (MXCSR.RC with -mfpmath=sse, the x87 control word's RC with the x87), long
 * double. Built natively (-DNATIVE: Linux i386 syscalls) and for the emulator (-DEMU); both
 * builds must print the same text (tests/machine/programs-32.test.ts). */
#include "freestanding.h"

static char out[8192];
static u32 outn;
static void flush(void) { put(out, outn); outn = 0; }
static void putc_(char c) { if (outn == sizeof out) flush(); out[outn++] = c; }
static void puts_(const char *s) { while (*s) putc_(*s++); }
static void putu(u64 v) { char b[24]; int n = 0; do b[n++] = '0' + v % 10; while (v /= 10); while (n) putc_(b[--n]); }
static void puti(i64 v) { if (v < 0) { putc_('-'); putu((u64)-v); } else putu((u64)v); }
static void puthex(u64 v) { for (int i = 60; i >= 0; i -= 4) putc_("0123456789abcdef"[(v >> i) & 15]); }
static void line(const char *name, u64 v) { puts_(name); putc_(' '); puthex(v); putc_('\n'); }
static u64 bits(double d) { u64 u; memcpy(&u, &d, 8); return u; }
static u32 fbits(float f) { u32 u; memcpy(&u, &f, 4); return u; }

/* ---- integer ---- */
static u8 composite[20000];
static u64 sieve(void) {
  u32 count = 0;
  for (u32 i = 2; i < sizeof composite; i++) {
    if (composite[i]) continue;
    count++;
    for (u32 j = i * 2; j < sizeof composite; j += i) composite[j] = 1;
  }
  return count;
}

static u32 arr[3000];
static void quicksort(u32 *a, int lo, int hi) {
  while (lo < hi) {
    u32 p = a[(lo + hi) / 2];
    int i = lo, j = hi;
    while (i <= j) {
      while (a[i] < p) i++;
      while (a[j] > p) j--;
      if (i <= j) { u32 t = a[i]; a[i] = a[j]; a[j] = t; i++; j--; }
    }
    if (j - lo < hi - i) { quicksort(a, lo, j); lo = i; } else { quicksort(a, i, hi); hi = j; }
  }
}
static u64 sorting(void) {
  u32 s = 12345;
  for (u32 i = 0; i < 3000; i++) { s = s * 1103515245u + 12345u; arr[i] = s >> 3; }
  quicksort(arr, 0, 2999);
  u64 h = 0xcbf29ce484222325ull;
  for (u32 i = 0; i < 3000; i++) { if (i && arr[i - 1] > arr[i]) return 0; h = (h ^ arr[i]) * 0x100000001b3ull; }
  return h;
}

/* 64-bit arithmetic on a 32-bit machine: gcc emits mul/adc sequences and calls __udivdi3 & co. */
static u64 wide(void) {
  u64 acc = 0;
  i64 sacc = 0;
  volatile u64 d = 7;
  for (u64 i = 1; i <= 1000; i++) {
    acc += (i * 0x123456789abcdefull) / (d + i);
    sacc += (i64)(acc ^ (i << 40)) % (i64)(d - 3 * (i64)i);
    acc ^= acc >> (i & 63);
    acc += (u64)((i64)acc >> (i % 37));
  }
  return acc ^ (u64)sacc;
}

static u8 sbuf[512], dbuf[512];
static u64 strings(void) {
  u64 h = 0;
  for (int i = 0; i < 512; i++) sbuf[i] = (u8)(i * 7 + 3);
  u32 n = 300; void *d = dbuf + 5; const void *sp = sbuf + 9;
  __asm__ volatile("rep movsb" : "+D"(d), "+S"(sp), "+c"(n) : : "memory");
  n = 16; d = dbuf + 400; u32 v = 0x05060708u;
  __asm__ volatile("rep stosl" : "+D"(d), "+c"(n) : "a"(v) : "memory");
  n = 100; d = dbuf + 300 + 99; sp = sbuf + 200 + 99;
  __asm__ volatile("std\n rep movsb\n cld" : "+D"(d), "+S"(sp), "+c"(n) : : "memory");
  n = 20; d = dbuf + 100; sp = sbuf + 3;
  __asm__ volatile("rep movsw" : "+D"(d), "+S"(sp), "+c"(n) : : "memory");
  for (int i = 0; i < 512; i++) h = h * 131 + dbuf[i];
  n = 512; d = sbuf; u32 al = sbuf[77];
  __asm__ volatile("repne scasb" : "+D"(d), "+c"(n) : "a"(al) : "memory", "cc");
  h ^= (u64)n * 1000003;
  n = 64; d = dbuf + 5; sp = sbuf + 9;
  __asm__ volatile("repe cmpsb" : "+D"(d), "+S"(sp), "+c"(n) : : "memory", "cc");
  h ^= (u64)n << 20;
  u32 q; sp = sbuf + 32;
  __asm__ volatile("lodsl" : "=a"(q), "+S"(sp) : : "memory");
  return h + q;
}

static u64 bitops(u32 seed) {
  u64 h = 0;
  for (int i = 0; i < 300; i++) {
    seed = seed * 1664525u + 1013904223u;
    u32 x = seed | 1;
    h += (u64)__builtin_ctz(x) + ((u64)__builtin_clz(x) << 8) + ((u64)__builtin_popcount(seed) << 16);
    h ^= __builtin_bswap32(seed);
    u64 w = (u64)seed * (u64)(seed ^ 0x9e3779b9u);
    h += (w >> 32) ^ (u32)w;
    h = (h << 7) | (h >> 57);
  }
  return h;
}

/* ---- float ---- */
static double sqrt_(double x) { return __builtin_sqrt(x); }

static void putf(double v, int prec) {
  if (v != v) { puts_("nan"); return; }
  if (v < 0) { putc_('-'); v = -v; }
  if (v > 1e18) { puts_("inf"); return; }
  double scale = 1;
  for (int i = 0; i < prec; i++) scale *= 10;
  u64 whole = (u64)(v * scale + 0.5), div = 1;
  for (int i = 0; i < prec; i++) div *= 10;
  putu(whole / div);
  if (prec) {
    u64 fp = whole % div;
    char b[24];
    putc_('.');
    for (int i = prec - 1; i >= 0; i--) { b[i] = '0' + fp % 10; fp /= 10; }
    for (int i = 0; i < prec; i++) putc_(b[i]);
  }
}
static void pute(double v) {
  if (v == 0) { puts_("0.000000e+00"); return; }
  if (v < 0) { putc_('-'); v = -v; }
  int e = 0;
  while (v >= 10) { v /= 10; e++; }
  while (v < 1) { v *= 10; e--; }
  putf(v, 6);
  putc_('e'); putc_(e < 0 ? '-' : '+');
  if (e < 0) e = -e;
  if (e < 10) putc_('0');
  putu((u64)e);
}

static void mandelbrot(void) {
  u64 total = 0;
  for (int py = 0; py < 40; py++)
    for (int px = 0; px < 80; px++) {
      double cr = -2.0 + px * (3.0 / 80), ci = -1.2 + py * (2.4 / 40), zr = 0, zi = 0;
      int k = 0;
      while (k < 100 && zr * zr + zi * zi <= 4.0) { double t = zr * zr - zi * zi + cr; zi = 2 * zr * zi + ci; zr = t; k++; }
      total += (u64)k;
    }
  puts_("mandelbrot iterations "); putu(total); putc_('\n');
}

static double ma[12][12], mb[12][12], mc[12][12];
static float fa[12][12], fb[12][12], fc[12][12];
static void matmul(void) {
  for (int i = 0; i < 12; i++)
    for (int j = 0; j < 12; j++) {
      ma[i][j] = (i + 1) * 0.37 - j * 0.11; mb[i][j] = 1.0 / (i + j + 1);
      fa[i][j] = (float)ma[i][j]; fb[i][j] = (float)mb[i][j];
    }
  for (int i = 0; i < 12; i++)
    for (int j = 0; j < 12; j++) {
      double s = 0; float f = 0;
      for (int k = 0; k < 12; k++) { s += ma[i][k] * mb[k][j]; f += fa[i][k] * fb[k][j]; }
      mc[i][j] = s; fc[i][j] = f;
    }
  double tr = 0, fro = 0; float trf = 0;
  for (int i = 0; i < 12; i++) { tr += mc[i][i]; trf += fc[i][i]; for (int j = 0; j < 12; j++) fro += mc[i][j] * mc[i][j]; }
  puts_("matmul trace "); putf(tr, 9); puts_(" bits "); puthex(bits(tr));
  puts_("\nmatmul frobenius "); putf(sqrt_(fro), 9); puts_(" "); pute(fro);
  puts_("\nmatmul float trace bits "); puthex(fbits(trf)); puts_(" "); putf(trf, 5); putc_('\n');
}

static void formatting(void) {
  static const double v[] = {0.1, 1.0 / 3, 2.0 / 3, 3.14159265358979, 2.718281828459045, 1e10 / 3, 123456.789, -0.000123456, 1e-300, 6.02214076e23};
  for (unsigned i = 0; i < sizeof v / sizeof v[0]; i++) { putf(v[i], 6); putc_(' '); pute(v[i]); putc_(' '); puthex(bits(v[i])); putc_('\n'); }
}

/* The rounding control the float code runs under: MXCSR.RC (bits 14:13) for SSE math, the x87
 * control word's RC (bits 11:10) for x87 math; the same two-bit encoding (SDM Vol. 1 §4.8.4). */
static void rounding_modes(void) {
  static const char *name[] = {"nearest", "down", "up", "zero"};
#ifdef __SSE2_MATH__
  u32 saved; __asm__ volatile("stmxcsr %0" : "=m"(saved));
#else
  unsigned short saved; __asm__ volatile("fnstcw %0" : "=m"(saved));
#endif
  for (u32 rc = 0; rc < 4; rc++) {
#ifdef __SSE2_MATH__
    u32 m = (saved & ~0x6000u) | (rc << 13); __asm__ volatile("ldmxcsr %0" : : "m"(m));
#else
    unsigned short m = (unsigned short)((saved & ~0xc00u) | (rc << 10)); __asm__ volatile("fldcw %0" : : "m"(m));
#endif
    volatile double a = 1.0, b = 3.0, c = -7.0;
    double q = a / b, r = c / b, s = sqrt_(2.0);
    volatile float x = 1.0f, y = 3.0f;
    float fq = x / y;
    puts_(name[rc]); puts_(" "); puthex(bits(q)); puts_(" "); puthex(bits(r)); puts_(" "); puthex(bits(s)); puts_(" "); puthex(fbits(fq)); putc_('\n');
  }
#ifdef __SSE2_MATH__
  __asm__ volatile("ldmxcsr %0" : : "m"(saved));
#else
  __asm__ volatile("fldcw %0" : : "m"(saved));
#endif
}

static void conversions(void) {
  static const double d[] = {0.5, 1.5, 2.5, -2.5, 1e19, 4294967296.7, -0.0, 9007199254740993.0, 123456789.987};
  u64 h = 0;
  for (unsigned i = 0; i < sizeof d / sizeof d[0]; i++) {
    u64 u = d[i] >= 0 && d[i] < 1.8e19 ? (u64)d[i] : 0;
    i64 s = d[i] > -9e18 && d[i] < 9e18 ? (i64)d[i] : 0;
    int k = d[i] > -2e9 && d[i] < 2e9 ? (int)d[i] : 0;
    float f = (float)d[i];
    double back = (double)(u64)(i * 0x9e3779b97f4a7c15ull) + (double)(i64)(i * 0x7f4a7c15ull - 99);
    h = h * 31 + u + (u64)s + (u64)k + fbits(f) + bits(back);
  }
  puts_("conversions "); puthex(h); putc_('\n');
}

/* long double is the x87's 80-bit format in every build. */
static void extended(void) {
  long double s = 0, p = 1;
  for (int k = 1; k <= 200; k++) { s += 1.0L / k; p *= 1.0L + 1.0L / (k * k); }
  unsigned char b[10];
  memcpy(b, &s, 10);
  puts_("harmonic200 ");
  for (int i = 9; i >= 0; i--) { putc_("0123456789abcdef"[b[i] >> 4]); putc_("0123456789abcdef"[b[i] & 15]); }
  memcpy(b, &p, 10);
  puts_(" product ");
  for (int i = 9; i >= 0; i--) { putc_("0123456789abcdef"[b[i] >> 4]); putc_("0123456789abcdef"[b[i] & 15]); }
  puts_(" as double "); puthex(bits((double)s)); putc_('\n');
}

int main(void) {
  line("sieve", sieve());
  line("sort", sorting());
  line("wide", wide());
  line("strings", strings());
  line("bitops", bitops(7));
  mandelbrot();
  matmul();
  formatting();
  rounding_modes();
  conversions();
  extended();
  flush();
  return 0;
}
