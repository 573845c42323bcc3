/* String search: Boyer-Moore-Horspool and a naive byte loop counting every occurrence of a few
 * patterns in 64 KiB of pseudo-text (byte loads, compares, table lookups). */
#define NAME "strsearch"
#include "rt.h"

#define SIZE (160 * 1024)
static u8 text[SIZE];
static const char *pats[5] = {"xen", "grant table", "event channel", "zzz", "hypercall page"};

static u32 len(const char *s) { u32 n = 0; while (s[n]) n++; return n; }
static u32 horspool(const u8 *p, u32 m) {
  u32 skip[256], hits = 0;
  for (int i = 0; i < 256; i++) skip[i] = m;
  for (u32 i = 0; i + 1 < m; i++) skip[p[i]] = m - 1 - i;
  for (u32 i = 0; i + m <= SIZE; i += skip[text[i + m - 1]]) {
    u32 j = m;
    while (j > 0 && text[i + j - 1] == p[j - 1]) j--;
    hits += j == 0;
  }
  return hits;
}
static u32 naive(const u8 *p, u32 m) {
  u32 hits = 0;
  for (u32 i = 0; i + m <= SIZE; i++) {
    u32 j = 0;
    while (j < m && text[i + j] == p[j]) j++;
    hits += j == m;
  }
  return hits;
}

static u64 workload(u64 seed) {
  static const char *words[8] = {"xen ", "grant ", "table ", "event ", "channel ", "hypercall ", "page ", "zz "};
  u64 s = seed;
  u32 n = 0;
  while (n < SIZE) {
    s = s * 6364136223846793005UL + 1;
    const char *w = words[s >> 61];
    while (*w && n < SIZE) text[n++] = (u8)*w++;
  }
  u64 h = 0;
  for (int k = 0; k < 5; k++) {
    const u8 *p = (const u8 *)pats[k];
    u32 m = len(pats[k]);
    h = h * 1000003 + horspool(p, m) * 7 + naive(p, m);
  }
  return h;
}
