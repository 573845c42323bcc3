/* MMX through gcc's mmintrin.h/xmmintrin.h intrinsics, built with -msse -mno-sse2 (with SSE2 gcc
 * carries these intrinsics out in XMM registers): saturating pixel blends, sums of absolute
 * differences, pmaddwd, pshufw, pmaxsw/pavgb, packs, unpacks, shifts, pmovmskb, each followed
 * by x87 long double arithmetic after _mm_empty (emms), as MMX code must; then int32 pairs to
 * floats and back (cvtpi2ps, cvtps2pi, cvttps2pi). Checked against plain C loops; natively and on the emulator the output must match. */
#include <xmmintrin.h>

#include "print.h"

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
  /* MMX <-> SSE conversions (cvtpi2ps, cvtps2pi, cvttps2pi): int32 pairs to floats and back. */
  __m128 f = _mm_setzero_ps();
  for (int k = 0; k < 100; k++) {
    int lo = (int)(rnd() >> 35) - (1 << 28), hi = (int)(rnd() >> 40) - (1 << 23);
    f = _mm_cvtpi32_ps(f, _mm_set_pi32(hi, lo));
    float o[4];
    _mm_storeu_ps(o, f);
    bad += o[0] != (float)lo || o[1] != (float)hi;
    f = _mm_mul_ps(f, _mm_set1_ps(0.3f));
    u64 r = bits(_mm_cvtps_pi32(f)), t = bits(_mm_cvtt_ps2pi(f));
    bad += (int)(u32)t != (int)(o[0] * 0.3f) || (int)(u32)(t >> 32) != (int)(o[1] * 0.3f);
    h = h * 31 + r; h = h * 31 + t;
    _mm_empty();
  }
  line("mismatches against plain loops", bad);
  line("hash", h);
  line("x87 after emms", (u64)(acc * 1000.0L));
  flush();
  return 0;
}
