/* MMX through gcc's mmintrin.h/xmmintrin.h intrinsics, built with -msse -mno-sse2 (with SSE2 gcc
 * carries these intrinsics out in XMM registers): saturating pixel blends, sums of absolute
 * differences, pmaddwd, pshufw, pmaxsw/pavgb, packs, unpacks, shifts, pmovmskb, each followed
 * by x87 long double arithmetic after _mm_empty (emms), as MMX code must. Checked against plain C loops; natively and on the emulator the output must match. */
#include <xmmintrin.h>

#include "freestanding.h"

static char out[4096];
static u64 outn;
static void putc_(char c) { out[outn++] = c; }
static void puts_(const char *s) { while (*s) putc_(*s++); }
static void puthex(u64 v) { for (int i = 60; i >= 0; i -= 4) putc_("0123456789abcdef"[(v >> i) & 15]); }
static void line(const char *name, u64 v) { puts_(name); putc_(' '); puthex(v); putc_('\n'); }
static u64 bits(__m64 m) { return (u64)_mm_cvtm64_si64(m); }

static u64 seed = 0x9e3779b97f4a7c15ul;
static u64 rnd(void) { seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17; return seed; }

int main(void) {
  u64 h = 0, bad = 0;
  long double acc = 1.0L;
  for (int k = 0; k < 300; k++) {
    u64 a = rnd(), b = rnd();
    __m64 ma = _mm_cvtsi64_m64((long long)a), mb = _mm_cvtsi64_m64((long long)b);
    u64 sat = bits(_mm_adds_pu8(ma, mb)), ref = 0;
    for (int i = 0; i < 8; i++) { unsigned s = ((a >> 8 * i) & 255) + ((b >> 8 * i) & 255); ref |= (u64)(s > 255 ? 255 : s) << 8 * i; }
    bad += sat != ref;
    u64 sad = bits(_mm_sad_pu8(ma, mb)), rs = 0;
    for (int i = 0; i < 8; i++) { int d = (int)((a >> 8 * i) & 255) - (int)((b >> 8 * i) & 255); rs += d < 0 ? -d : d; }
    bad += sad != rs;
    u64 madd = bits(_mm_madd_pi16(ma, mb));
    u64 sh = bits(_mm_shuffle_pi16(ma, 0x1b)) ^ bits(_mm_max_pi16(ma, mb)) ^ bits(_mm_avg_pu8(ma, mb));
    u64 pk = bits(_mm_packs_pi16(ma, mb)) ^ bits(_mm_unpackhi_pi8(ma, mb)) ^ bits(_mm_srai_pi16(ma, 3)) ^ bits(_mm_sll_pi32(ma, _mm_cvtsi32_si64(k & 31)));
    int mask = _mm_movemask_pi8(ma);
    h = h * 31 + sat; h = h * 31 + sad; h = h * 31 + madd; h = h * 31 + sh; h = h * 31 + pk; h = h * 31 + (u64)mask;
    _mm_empty();
    acc = acc * 1.0009765625L + (long double)(sad & 255) / 7.0L;
  }
  line("mismatches against plain loops", bad);
  line("hash", h);
  line("x87 after emms", (u64)(acc * 1000.0L));
  put(out, outn);
  return 0;
}
