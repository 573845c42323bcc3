/* The mem* functions gcc may emit calls to in freestanding code (memset/memcpy/memmove/memcmp),
 * shared by the test programs (freestanding.h) and the bench workloads (bench/workloads/rt.h).
 * The includer defines u8 first; sizes are size_t (__SIZE_TYPE__), as the calls gcc emits pass them. */
void *memset(void *d, int c, __SIZE_TYPE__ n) { u8 *p = d; while (n--) *p++ = (u8)c; return d; }
void *memcpy(void *d, const void *s, __SIZE_TYPE__ n) { u8 *p = d; const u8 *q = s; while (n--) *p++ = *q++; return d; }
void *memmove(void *d, const void *s, __SIZE_TYPE__ n) {
  u8 *p = d; const u8 *q = s;
  if (p < q) while (n--) *p++ = *q++; else { p += n; q += n; while (n--) *--p = *--q; }
  return d;
}
int memcmp(const void *a, const void *b, __SIZE_TYPE__ n) {
  const u8 *p = a, *q = b;
  for (; n; n--, p++, q++) if (*p != *q) return *p - *q;
  return 0;
}
