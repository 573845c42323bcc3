/* Compression: an LZ77 coder with a hash of 3-byte prefixes (greedy matching) over 48 KiB of
 * pseudo-text, then the decoder, checked against the input. */
#define NAME "lz"
#include "rt.h"

#define SIZE (256 * 1024)
static u8 text[SIZE], packed[SIZE * 2], unpacked[SIZE];
static u32 head[4096];
static const char *words[16] = {"the ", "vcpu ", "page ", "table ", "of ", "xen ", "domain ", "grant ",
                                "event ", "channel ", "block ", "ring ", "and ", "a ", "hypercall ", "frame "};

static u32 lz_pack(void) {
  u32 out = 0, i = 0;
  for (u32 k = 0; k < 4096; k++) head[k] = 0xffffffffu;
  while (i < SIZE) {
    u32 best = 0, dist = 0;
    if (i + 3 <= SIZE) {
      u32 h = ((text[i] << 8) ^ (text[i + 1] << 4) ^ text[i + 2]) & 4095;
      u32 cand = head[h];
      head[h] = i;
      if (cand != 0xffffffffu && i - cand < 65535) {
        u32 l = 0;
        while (i + l < SIZE && l < 255 && text[cand + l] == text[i + l]) l++;
        if (l >= 3) { best = l; dist = i - cand; }
      }
    }
    if (best) {
      packed[out++] = 1; packed[out++] = (u8)best; packed[out++] = (u8)dist; packed[out++] = (u8)(dist >> 8);
      i += best;
    } else { packed[out++] = 0; packed[out++] = text[i++]; }
  }
  return out;
}

static u32 lz_unpack(u32 n) {
  u32 o = 0;
  for (u32 i = 0; i < n;) {
    if (packed[i] == 0) { unpacked[o++] = packed[i + 1]; i += 2; }
    else {
      u32 l = packed[i + 1], d = packed[i + 2] | (packed[i + 3] << 8);
      for (u32 k = 0; k < l; k++, o++) unpacked[o] = unpacked[o - d];
      i += 4;
    }
  }
  return o;
}

static u64 workload(u64 seed) {
  u64 s = seed;
  u32 n = 0;
  while (n < SIZE) {
    s ^= s << 13; s ^= s >> 7; s ^= s << 17;
    const char *w = words[(s >> 20) & 15];
    while (*w && n < SIZE) text[n++] = (u8)*w++;
  }
  u32 plen = lz_pack();
  u32 ulen = lz_unpack(plen);
  u64 ok = ulen == SIZE && memcmp(text, unpacked, SIZE) == 0;
  u64 h = 0;
  for (u32 i = 0; i < plen; i++) h = h * 33 + packed[i];
  return (h << 1) | ok;
}
