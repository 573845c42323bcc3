/* SSE4.1 dot products through gcc's smmintrin.h: a 4x4 float matrix times vectors with
 * _mm_dp_ps (several imm8 masks), a double dot product with _mm_dp_pd, an unmasked-exception-
 * free run under each MXCSR rounding mode, and a masked byte store with _mm_maskmoveu_si128
 * (maskmovdqu). Checked against plain C in the same rounding order; the output is the bits. */
#include <smmintrin.h>

#include "print.h"

static u64 seed = 0x243f6a8885a308d3ul;
static u64 rnd(void) { seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17; return seed; }
static float rf(void) { return (float)((i64)(rnd() >> 40) - (1l << 23)) / 1048576.0f; }
static u32 fbits(float f) { u32 u; __builtin_memcpy(&u, &f, 4); return u; }
static u64 dbits(double d) { u64 u; __builtin_memcpy(&u, &d, 8); return u; }

int main(void) {
  u64 h = 0, bad = 0;
  float m[16], v[4];
  for (int i = 0; i < 16; i++) m[i] = rf();
  for (int mode = 0; mode < 4; mode++) {
    _mm_setcsr(0x1f80 | (mode << 13));
    for (int k = 0; k < 200; k++) {
      for (int i = 0; i < 4; i++) v[i] = rf();
      __m128 x = _mm_loadu_ps(v);
      for (int r = 0; r < 4; r++) {
        __m128 row = _mm_loadu_ps(m + 4 * r);
        float d = _mm_cvtss_f32(_mm_dp_ps(row, x, 0xf1));
        /* The same sum in C, pairwise as the SDM orders it (volatile: one rounding per step). */
        volatile float p0 = m[4 * r] * v[0], p1 = m[4 * r + 1] * v[1], p2 = m[4 * r + 2] * v[2], p3 = m[4 * r + 3] * v[3];
        volatile float s01 = p0 + p1, s23 = p2 + p3, ref = s01 + s23;
        bad += fbits(d) != fbits(ref);
        h = h * 31 + fbits(d);
      }
      __m128 part = _mm_dp_ps(_mm_loadu_ps(m), x, 0x3a) ; /* lanes 0,1 multiplied; result in lanes 1 and 3 */
      float o[4];
      _mm_storeu_ps(o, part);
      for (int i = 0; i < 4; i++) h = h * 31 + fbits(o[i]);
      __m128d a = _mm_set_pd(v[1], v[0]), b = _mm_set_pd(m[1], m[0]);
      double dd = _mm_cvtsd_f64(_mm_dp_pd(a, b, 0x31));
      volatile double q0 = (double)v[0] * m[0], q1 = (double)v[1] * m[1], dref = q0 + q1;
      bad += dbits(dd) != dbits(dref);
      h = h * 31 + dbits(dd);
    }
    line("mxcsr after the run", _mm_getcsr());
  }
  _mm_setcsr(0x1f80);
  u8 buf[32];
  for (int i = 0; i < 32; i++) buf[i] = (u8)i;
  __m128i data = _mm_set1_epi8((char)0xee), mask = _mm_set_epi8(-1, 0, 0, -128, 0, 0, 0, 127, -1, -1, 0, 0, 1, 0, 0, -1);
  _mm_maskmoveu_si128(data, mask, (char *)buf + 3);
  for (int i = 0; i < 32; i += 8) { u64 w; __builtin_memcpy(&w, buf + i, 8); line("maskmovdqu", w); }
  line("mismatches against C", bad);
  line("hash", h);
  flush();
  return 0;
}
