/* gcc freestanding x87 workload (built with -mno-sse: every float, double and long double
 * operation is x87 code): a long double Mandelbrot, Machin's pi and series for e, Newton and
 * fsqrt square roots, fmodl (fprem) and rintl (frndint) under the four rounding modes set with
 * fldcw, float/double/long double conversions and a printf-style decimal formatter. Built natively
 * (-DNATIVE: Linux syscalls) and for the emulator (-DEMU: port 0xE9, then hlt); both print the same. */
#include "freestanding.h"



static u64 slen(const char *s) { u64 n = 0; while (s[n]) n++; return n; }
static void puts_(const char *s) { put(s, slen(s)); }

static void putu(u64 v) {
  char b[24]; int n = 24;
  do { b[--n] = (char)('0' + v % 10); v /= 10; } while (v);
  put(b + n, 24 - n);
}

/* The raw 80-bit pattern, so every bit of a result is compared. */
static void putbits(long double x) {
  unsigned char b[16];
  memcpy(b, &x, 10);
  static const char hex[] = "0123456789abcdef";
  char o[20];
  for (int i = 0; i < 10; i++) { o[2 * i] = hex[b[9 - i] >> 4]; o[2 * i + 1] = hex[b[9 - i] & 15]; }
  put(o, 20);
}

/* A printf("%.*Le")-style formatter done in long double arithmetic (digits by scaling by 10). */
static void putld(long double x, int digits) {
  if (x != x) { puts_("nan"); return; }
  if (x < 0) { put("-", 1); x = -x; }
  if (x == 1.0L / 0.0L) { puts_("inf"); return; }
  int e = 0;
  if (x != 0) {
    while (x >= 10.0L) { x /= 10.0L; e++; }
    while (x < 1.0L) { x *= 10.0L; e--; }
  }
  for (int i = 0; i < digits; i++) {
    int d = (int)x;
    char c = (char)('0' + d);
    put(&c, 1);
    if (i == 0) put(".", 1);
    x = (x - d) * 10.0L;
  }
  put("e", 1);
  if (e < 0) { put("-", 1); e = -e; }
  putu((u64)e);
}

static void line(const char *label, long double x) {
  puts_(label); put(" ", 1); putbits(x); put(" ", 1); putld(x, 18); put("\n", 1);
}

static unsigned short getcw(void) { unsigned short cw; __asm__ volatile("fnstcw %0" : "=m"(cw)); return cw; }
static void setcw(unsigned short cw) { __asm__ volatile("fldcw %0" : : "m"(cw)); }

/* fsqrt and an fprem loop (what glibc's sqrtl/fmodl are), written out: freestanding has no libm. */
static long double sqrtl_(long double x) { long double r; __asm__("fsqrt" : "=t"(r) : "0"(x)); return r; }
static long double fmodl_(long double a, long double b) {
  long double r;
  __asm__("1: fprem\n fnstsw %%ax\n testb $4, %%ah\n jnz 1b" : "=t"(r) : "0"(a), "u"(b) : "ax", "cc");
  return r;
}

static long double atan_inv(long double n) {
  /* atan(1/n) = sum (-1)^k / ((2k+1) n^(2k+1)) */
  long double x = 1.0L / n, x2 = x * x, term = x, sum = 0;
  for (int k = 0; k < 40; k++) { sum += (k & 1 ? -term : term) / (2 * k + 1); term *= x2; }
  return sum;
}

static u64 mandel(void) {
  u64 total = 0;
  for (int py = 0; py < 24; py++) {
    for (int px = 0; px < 48; px++) {
      long double cr = -2.0L + px * (3.0L / 48), ci = -1.2L + py * (2.4L / 24);
      long double zr = 0, zi = 0;
      int it = 0;
      while (it < 200 && zr * zr + zi * zi <= 4.0L) {
        long double t = zr * zr - zi * zi + cr;
        zi = 2 * zr * zi + ci;
        zr = t;
        it++;
      }
      total = total * 31 + it;
    }
  }
  return total;
}

volatile long double vin[] = { 2.5L, -2.5L, 3.5L, 1e30L, 1.0L / 3, -7.0L / 9, 123456789.987654321L, 1e-4000L };

int main(void) {
  puts_("mandel "); putu(mandel()); put("\n", 1);
  long double pi = 16 * atan_inv(5) - 4 * atan_inv(239);
  line("pi", pi);
  long double e = 1, t = 1;
  for (int k = 1; k < 30; k++) { t /= k; e += t; }
  line("e", e);
  long double s = 2, x = 1;
  for (int k = 0; k < 8; k++) x = (x + s / x) / 2;
  line("newton", x);
  line("fsqrt", sqrtl_(vin[4]));
  line("fmodl", fmodl_(vin[6], vin[4]));
  line("fmodl2", fmodl_(vin[3], vin[6]));
  /* Rounding modes through the control word: rintl (frndint) and conversions to integers. */
  unsigned short cw = getcw();
  for (int rc = 0; rc < 4; rc++) {
    setcw((unsigned short)((cw & ~0xc00) | (rc << 10)));
    for (int i = 0; i < 3; i++) {
      long double r = __builtin_rintl(vin[i]);
      long long n;
      __asm__ volatile("fistpll %0" : "=m"(n) : "t"(vin[i] / 3) : "st");
      puts_("rc"); putu((u64)rc); put(" ", 1); putbits(r); put(" ", 1); putu((u64)n); put(" ", 1);
      putbits(vin[4] * vin[5]); put("\n", 1);
    }
  }
  setcw(cw);
  /* Precision control: the same sum at 24, 53 and 64 bits. */
  for (int pc = 0; pc < 4; pc += 2) {
    setcw((unsigned short)((cw & ~0x300) | (pc << 8)));
    long double h = 0;
    for (int k = 1; k <= 1000; k++) h += 1.0L / k;
    setcw(cw);
    line(pc == 0 ? "harmonic24" : "harmonic53", h);
  }
  /* float and double: stores round to the format. */
  float f = (float)pi; double d = (double)pi;
  line("float", f); line("double", d);
  double acc = 0;
  for (int k = 1; k < 200; k++) acc += 1.0 / ((double)k * k);
  line("basel", acc);
  line("tiny", vin[7] * vin[7] + vin[7]);
  long long big = (long long)(vin[3] / 1e12L);
  puts_("big "); putu((u64)big); put("\n", 1);
  return 0;
}
