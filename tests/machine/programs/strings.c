/* String functions written the way glibc's SSE4.2 versions are (strlen, strchr, strspn, strcspn,
 * strstr, a ranges-based toupper count, a word-string length, memcmp with explicit lengths, a
 * signed-byte range test) with the _mm_cmpistri/_mm_cmpistrm/_mm_cmpestri/_mm_cmpestrm
 * intrinsics, each checked against a plain byte loop over pseudo-random texts. Built natively
 * (-DNATIVE) and for the emulator (-DEMU) with -msse4.2; both builds must print the same text. */
#include <nmmintrin.h>

#include "print.h"

/* 16-byte aligned loads never cross a page the string does not reach: glibc's own argument. */
#define ALIGNED(p) ((const __m128i *)((u64)(p) & ~15ul))

static u64 sse_strlen(const char *s) {
  const __m128i range = _mm_setr_epi8(1, (char)0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  const __m128i *p = ALIGNED(s);
  u64 skip = (u64)s & 15;
  /* The first block: bytes before s count as non-null by or-ing them with 1. */
  __m128i v = _mm_load_si128(p);
  __m128i before = _mm_cmplt_epi8(_mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm_set1_epi8((char)skip));
  v = _mm_or_si128(v, _mm_and_si128(before, _mm_set1_epi8(1)));
  for (;;) {
    int i = _mm_cmpistri(range, v, _SIDD_UBYTE_OPS | _SIDD_CMP_RANGES | _SIDD_NEGATIVE_POLARITY | _SIDD_LEAST_SIGNIFICANT);
    if (i < 16) return (u64)((const char *)p - s) + i;
    v = _mm_load_si128(++p);
  }
}

static const char *sse_strchr(const char *s, char c) {
  const __m128i set = _mm_setr_epi8(c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  for (;; s += 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)s);
    int i = _mm_cmpistri(set, v, _SIDD_UBYTE_OPS | _SIDD_CMP_EQUAL_ANY | _SIDD_LEAST_SIGNIFICANT);
    if (_mm_cmpistrc(set, v, _SIDD_UBYTE_OPS | _SIDD_CMP_EQUAL_ANY)) return s + i;
    if (_mm_cmpistrz(set, v, _SIDD_UBYTE_OPS | _SIDD_CMP_EQUAL_ANY)) return c == 0 ? s + sse_strlen(s) : 0;
  }
}

/* strspn (negative polarity: the first byte not in the set, or the end) and strcspn (the first
 * byte in the set; at a null in the block, the end). */
static u64 sse_span(const char *s, const char *accept, int complement) {
  __m128i set = _mm_loadu_si128((const __m128i *)accept);
  u64 n = 0;
  for (;; n += 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)(s + n));
    int i = complement ? _mm_cmpistri(set, v, _SIDD_UBYTE_OPS | _SIDD_CMP_EQUAL_ANY | _SIDD_LEAST_SIGNIFICANT)
                       : _mm_cmpistri(set, v, _SIDD_UBYTE_OPS | _SIDD_CMP_EQUAL_ANY | _SIDD_NEGATIVE_POLARITY | _SIDD_LEAST_SIGNIFICANT);
    if (i < 16) return n + i;
    if (_mm_cmpistrz(set, v, _SIDD_UBYTE_OPS | _SIDD_CMP_EQUAL_ANY)) return n + sse_strlen(s + n);
  }
}

/* strstr with equal ordered (needle of at most 16 bytes): a candidate, then a full check. */
static const char *sse_strstr(const char *h, const char *needle) {
  __m128i nd = _mm_loadu_si128((const __m128i *)needle);
  for (;;) {
    __m128i v = _mm_loadu_si128((const __m128i *)h);
    int i = _mm_cmpistri(nd, v, _SIDD_UBYTE_OPS | _SIDD_CMP_EQUAL_ORDERED | _SIDD_LEAST_SIGNIFICANT);
    if (_mm_cmpistrc(nd, v, _SIDD_UBYTE_OPS | _SIDD_CMP_EQUAL_ORDERED)) {
      const char *c = h + i, *a = c, *b = needle;
      while (*b && *a == *b) { a++; b++; }
      if (!*b) return c;
      h = c + 1;
      continue;
    }
    if (_mm_cmpistrz(nd, v, _SIDD_UBYTE_OPS | _SIDD_CMP_EQUAL_ORDERED)) return 0;
    h += 16;
  }
}

/* Lower-case letters in the first 16 bytes, from a byte mask (ranges 'a'..'z'). */
static u64 lower_mask(const char *s) {
  const __m128i az = _mm_setr_epi8('a', 'z', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  __m128i m = _mm_cmpistrm(az, _mm_loadu_si128((const __m128i *)s), _SIDD_UBYTE_OPS | _SIDD_CMP_RANGES | _SIDD_BIT_MASK);
  return (u64)_mm_cvtsi128_si32(m);
}

/* Length of a 16-bit string (word elements, most significant index of a non-null). */
static u64 wcslen16(const unsigned short *s) {
  const __m128i range = _mm_setr_epi16(1, (short)0xffff, 0, 0, 0, 0, 0, 0);
  for (u64 n = 0;; n += 8) {
    int i = _mm_cmpistri(range, _mm_loadu_si128((const __m128i *)(s + n)), _SIDD_UWORD_OPS | _SIDD_CMP_RANGES | _SIDD_NEGATIVE_POLARITY | _SIDD_LEAST_SIGNIFICANT);
    if (i < 8) return n + i;
  }
}

/* memcmp-style: the first differing byte within explicit lengths (equal each, negative masked). */
static int sse_memcmp16(const char *a, const char *b, int la, int lb) {
  __m128i x = _mm_loadu_si128((const __m128i *)a), y = _mm_loadu_si128((const __m128i *)b);
  return _mm_cmpestri(x, la, y, lb, _SIDD_UBYTE_OPS | _SIDD_CMP_EQUAL_EACH | _SIDD_MASKED_NEGATIVE_POLARITY | _SIDD_LEAST_SIGNIFICANT);
}

/* Signed bytes in [-5, 5] among explicit-length data, as a byte mask folded to 64 bits. */
static u64 small_signed(const char *s, int len) {
  const __m128i r = _mm_setr_epi8(-5, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  __m128i m = _mm_cmpestrm(r, 2, _mm_loadu_si128((const __m128i *)s), len, _SIDD_SBYTE_OPS | _SIDD_CMP_RANGES | _SIDD_UNIT_MASK);
  return (u64)_mm_extract_epi64(m, 0) ^ ((u64)_mm_extract_epi64(m, 1) * 3);
}

static u64 ref_strlen(const char *s) { u64 n = 0; while (s[n]) n++; return n; }
static const char *ref_strchr(const char *s, char c) { for (;; s++) { if (*s == c) return s; if (!*s) return 0; } }
static u64 ref_span(const char *s, const char *set, int complement) {
  u64 n = 0;
  for (; s[n]; n++) { int in = 0; for (const char *p = set; *p; p++) in |= *p == s[n]; if (in == complement) break; }
  return n;
}
static const char *ref_strstr(const char *h, const char *n) {
  for (;; h++) { const char *a = h, *b = n; while (*b && *a == *b) { a++; b++; } if (!*b) return h; if (!*h) return 0; }
}

static u64 seed = 0x243f6a8885a308d3ul;
static u64 rnd(void) { seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17; return seed; }

static char text[4096 + 64] __attribute__((aligned(16)));
static unsigned short wide[512 + 16];

int main(void) {
  /* Text from a small alphabet (matches are frequent), nulls scattered through it. */
  const char alpha[] = "abcabcxyzAB -_\x7f\x80\xfe";
  for (u64 i = 0; i < 4096; i++) text[i] = rnd() % 23 == 0 ? 0 : alpha[rnd() % (sizeof alpha - 1)];
  u64 h = 0, bad = 0, calls = 0;
  for (u64 k = 0; k < 400; k++) {
    const char *s = text + rnd() % 4000;
    u64 n = sse_strlen(s); bad += n != ref_strlen(s); h = h * 31 + n;
    char c = alpha[rnd() % (sizeof alpha - 1)];
    const char *p = sse_strchr(s, c); bad += p != ref_strchr(s, c); h = h * 31 + (p ? (u64)(p - s) : 99);
    char set[17] = {0};
    for (int i = 0, m = 1 + rnd() % 5; i < m; i++) set[i] = alpha[rnd() % (sizeof alpha - 1)];
    u64 a = sse_span(s, set, 0), b = sse_span(s, set, 1);
    bad += (a != ref_span(s, set, 0)) + (b != ref_span(s, set, 1)); h = h * 31 + a * 17 + b;
    char needle[17] = {0};
    for (int i = 0, m = 1 + rnd() % 3; i < m; i++) needle[i] = alpha[rnd() % 6];
    const char *q = sse_strstr(s, needle); bad += q != ref_strstr(s, needle); h = h * 31 + (q ? (u64)(q - s) : 99);
    h = h * 31 + lower_mask(s);
    h = h * 31 + (u64)sse_memcmp16(s, s + 1, (int)(rnd() % 20) - 2, (int)(rnd() % 20) - 2);
    h = h * 31 + small_signed(s, (int)(rnd() % 40) - 20);
    calls += 7;
  }
  for (u64 i = 0; i < 512; i++) wide[i] = rnd() % 11 == 0 ? 0 : (unsigned short)(rnd() % 3 == 0 ? 0x100 * (rnd() & 0xff) : 0x41 + rnd() % 26);
  for (u64 k = 0; k < 100; k++) {
    const unsigned short *s = wide + rnd() % 480;
    u64 n = wcslen16(s), r = 0;
    while (s[r]) r++;
    bad += n != r; h = h * 31 + n;
  }
  line("strlen(\"hello, world\")", sse_strlen("hello, world"));
  static const char find[] = "find the x here";
  line("strchr index", (u64)(sse_strchr(find, 'x') - find));
  line("lowercase mask of \"aBcDeFgHiJkLmNoP\"", lower_mask("aBcDeFgHiJkLmNoP"));
  line("calls", calls);
  line("mismatches against byte loops", bad);
  line("hash", h);
  flush();
  return 0;
}
