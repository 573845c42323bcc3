/* Float-heavy freestanding programs, built with SSE (no -mno-sse) natively (-DNATIVE: Linux
 * syscalls) and for the emulator (-DEMU: port 0xE9, then hlt): a Mandelbrot set in double, matrix
 * multiplies in double and float, printf-style formatting of doubles, the four MXCSR rounding
 * modes, float/int conversions, and (with SSE4.2) a CRC-32C with the crc32 instruction. Both
 * builds must print the same text. */
#include "freestanding.h"

static char out[8192];
static u64 outn;
static void flush(void) { put(out, outn); outn = 0; }
static void putc_(char c) { if (outn == sizeof out) flush(); out[outn++] = c; }
static void puts_(const char *s) { while (*s) putc_(*s++); }
static void putu(u64 v) { char b[24]; int n = 0; do b[n++] = '0' + v % 10; while (v /= 10); while (n) putc_(b[--n]); }
static void puti(i64 v) { if (v < 0) { putc_('-'); putu((u64)-v); } else putu((u64)v); }
static void puthex(u64 v) { for (int i = 60; i >= 0; i -= 4) putc_("0123456789abcdef"[(v >> i) & 15]); }
static u64 bits(double d) { u64 u; memcpy(&u, &d, 8); return u; }
static u32 fbits(float f) { u32 u; memcpy(&u, &f, 4); return u; }

static double sqrt_(double x) { double r; __asm__("sqrtsd %1, %0" : "=x"(r) : "x"(x)); return r; }

/* %.<prec>f of a double: digits by repeated multiplication (the arithmetic printf's simple
 * implementations use), with round-half-up on the last digit. */
static void putf(double v, int prec) {
  if (v != v) { puts_("nan"); return; }
  if (v < 0) { putc_('-'); v = -v; }
  if (v > 1e18) { puts_("inf"); return; }
  double scale = 1;
  for (int i = 0; i < prec; i++) scale *= 10;
  double r = v * scale + 0.5;
  u64 whole = (u64)r;
  u64 ip = whole, fp = 0, div = 1;
  for (int i = 0; i < prec; i++) div *= 10;
  ip = whole / div; fp = whole % div;
  putu(ip);
  if (prec) {
    putc_('.');
    char b[24];
    for (int i = prec - 1; i >= 0; i--) { b[i] = '0' + fp % 10; fp /= 10; }
    for (int i = 0; i < prec; i++) putc_(b[i]);
  }
}
/* %e with 6 digits: normalise by powers of ten in double. */
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
  static const char shade[] = " .:-=+*#%@";
  u64 total = 0;
  for (int y = 0; y < 24; y++) {
    for (int x = 0; x < 64; x++) {
      double cr = -2.2 + x * (3.2 / 64), ci = -1.2 + y * (2.4 / 24);
      double zr = 0, zi = 0;
      int it = 0;
      while (it < 200 && zr * zr + zi * zi <= 4.0) {
        double t = zr * zr - zi * zi + cr;
        zi = 2 * zr * zi + ci;
        zr = t;
        it++;
      }
      total += it;
      putc_(shade[it * 9 / 200]);
    }
    putc_('\n');
  }
  puts_("mandelbrot iterations "); putu(total); putc_('\n');
}

#define N 24
static double A[N][N], B[N][N], C[N][N];
static float Af[N][N], Bf[N][N], Cf[N][N];
static void matmul(void) {
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) {
      A[i][j] = (double)(i * N + j) / 7.0 - 3.25;
      B[i][j] = 1.0 / (1 + i + 2 * j);
      Af[i][j] = (float)A[i][j];
      Bf[i][j] = (float)B[i][j] * 1.5f;
    }
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) {
      double s = 0;
      float sf = 0;
      for (int k = 0; k < N; k++) { s += A[i][k] * B[k][j]; sf += Af[i][k] * Bf[k][j]; }
      C[i][j] = s;
      Cf[i][j] = sf;
    }
  double tr = 0, fro = 0;
  float trf = 0;
  for (int i = 0; i < N; i++) { tr += C[i][i]; trf += Cf[i][i]; for (int j = 0; j < N; j++) fro += C[i][j] * C[i][j]; }
  puts_("matmul trace "); putf(tr, 9); puts_(" bits "); puthex(bits(tr));
  puts_("\nmatmul frobenius "); putf(sqrt_(fro), 9); puts_(" "); pute(fro);
  puts_("\nmatmul float trace bits "); puthex(fbits(trf)); puts_(" "); putf(trf, 5); putc_('\n');
}

static void formatting(void) {
  static const double v[] = {0.1, 1.0 / 3, 2.0 / 3, 3.14159265358979, 2.718281828459045, 1e10 / 3, 123456.789, -0.000123456, 1e-300, 6.02214076e23, 1.7976931348623157e308 / 1e300};
  for (unsigned i = 0; i < sizeof v / sizeof v[0]; i++) {
    putf(v[i], 6); putc_(' '); pute(v[i]); putc_(' '); puthex(bits(v[i])); putc_('\n');
  }
}

static void rounding_modes(void) {
  static const char *name[] = {"nearest", "down", "up", "zero"};
  u32 saved;
  __asm__ volatile("stmxcsr %0" : "=m"(saved));
  for (u32 rc = 0; rc < 4; rc++) {
    u32 m = (saved & ~0x6000u) | (rc << 13);
    __asm__ volatile("ldmxcsr %0" : : "m"(m));
    volatile double a = 1.0, b = 3.0, c = -7.0;
    double q = a / b, r = c / b, s = sqrt_(2.0);
    volatile float fa = 1.0f, fb = 3.0f;
    float fq = fa / fb;
    i64 k = (i64)(c / b * 1.5);
    volatile double big = 2.5;
    i64 cv; __asm__ volatile("cvtsd2si %1, %0" : "=r"(cv) : "x"((double)big));
    puts_(name[rc]); puts_(" "); puthex(bits(q)); puts_(" "); puthex(bits(r)); puts_(" "); puthex(bits(s));
    puts_(" "); puthex(fbits(fq)); puts_(" "); puti(k); puts_(" "); puti(cv); putc_('\n');
  }
  __asm__ volatile("ldmxcsr %0" : : "m"(saved));
  u32 flags;
  __asm__ volatile("stmxcsr %0" : "=m"(flags));
  puts_("mxcsr "); puthex(flags); putc_('\n');
}

static int i32_conv(double d) { return (int)d; }

static void conversions(void) {
  static const double d[] = {0.5, 1.5, 2.5, -2.5, 1e19, -1e19, 4294967296.7, -0.0, 9007199254740993.0};
  u64 h = 0;
  for (unsigned i = 0; i < sizeof d / sizeof d[0]; i++) {
    u64 u = (u64)d[i];
    i64 s = (i64)d[i];
    float f = (float)d[i];
    double back = (double)(u64)(i * 0x9e3779b97f4a7c15ul);
    h = h * 31 + u + (u64)s + fbits(f) + bits(back) + (u64)(i32_conv(d[i]));
  }
  puts_("conversions "); puthex(h); putc_('\n');
}

#ifdef __SSE4_2__
static u8 crcdata[4096];
static void crc32c(void) {
  for (int i = 0; i < 4096; i++) crcdata[i] = (u8)(i * 7 + (i >> 3));
  u64 c = 0xffffffff;
  for (int i = 0; i < 4096; i += 8) { u64 w; memcpy(&w, crcdata + i, 8); c = __builtin_ia32_crc32di(c, w); }
  u32 c32 = (u32)c;
  for (int i = 0; i < 17; i++) c32 = __builtin_ia32_crc32qi(c32, crcdata[i]);
  puts_("crc32c "); puthex(c ^ 0xffffffff); puts_(" "); puthex(c32); putc_('\n');
}
#endif

int main(void) {
  mandelbrot();
  matmul();
  formatting();
  rounding_modes();
  conversions();
#ifdef __SSE4_2__
  crc32c();
#endif
  flush();
  return 0;
}
