/* SHA-256 (FIPS 180-4), compiled to WebAssembly as a realistic fixture:
 * libc malloc, a shadow stack (__stack_pointer) and its own exported memory. */
#include <stdint.h>
#include <string.h>
#include "json_abi.h"

static const uint32_t K[64] = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

typedef struct { uint32_t h[8]; uint8_t block[64]; uint32_t used; uint64_t total; } sha256_t;

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void compress(sha256_t *s, const uint8_t *p) {
  uint32_t w[64];
  for (int i = 0; i < 16; i++) w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = ROTR(w[i - 15], 7) ^ ROTR(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = ROTR(w[i - 2], 17) ^ ROTR(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3], e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
  for (int i = 0; i < 64; i++) {
    uint32_t t1 = h + (ROTR(e, 6) ^ ROTR(e, 11) ^ ROTR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
    uint32_t t2 = (ROTR(a, 2) ^ ROTR(a, 13) ^ ROTR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  s->h[0] += a; s->h[1] += b; s->h[2] += c; s->h[3] += d; s->h[4] += e; s->h[5] += f; s->h[6] += g; s->h[7] += h;
}

static void sha256_init(sha256_t *s) {
  static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  memcpy(s->h, iv, sizeof iv);
  s->used = 0;
  s->total = 0;
}

static void sha256_update(sha256_t *s, const uint8_t *p, uint32_t n) {
  s->total += n;
  while (n > 0) {
    uint32_t take = 64 - s->used < n ? 64 - s->used : n;
    memcpy(s->block + s->used, p, take);
    s->used += take; p += take; n -= take;
    if (s->used == 64) { compress(s, s->block); s->used = 0; }
  }
}

static void sha256_final(sha256_t *s, uint8_t out[32]) {
  uint64_t bits = s->total * 8;
  uint8_t pad = 0x80, zero = 0, len[8];
  sha256_update(s, &pad, 1);
  while (s->used != 56) sha256_update(s, &zero, 1);
  for (int i = 0; i < 8; i++) len[i] = (uint8_t)(bits >> (56 - 8 * i));
  sha256_update(s, len, 8);
  for (int i = 0; i < 8; i++) {
    out[4 * i] = s->h[i] >> 24; out[4 * i + 1] = s->h[i] >> 16; out[4 * i + 2] = s->h[i] >> 8; out[4 * i + 3] = s->h[i];
  }
}

/* Hashes n bytes of the pattern byte[i] = (i * 31 + 7) & 0xff; returns the digest's first 4 bytes (big-endian). */
__attribute__((export_name("sha256_pattern"))) int32_t sha256_pattern(int32_t n) {
  uint8_t *data = malloc(n > 0 ? (size_t)n : 1);
  for (int32_t i = 0; i < n; i++) data[i] = (uint8_t)(i * 31 + 7);
  sha256_t s;
  uint8_t digest[32];
  sha256_init(&s);
  sha256_update(&s, data, (uint32_t)n);
  sha256_final(&s, digest);
  free(data);
  return (int32_t)((uint32_t)digest[0] << 24 | (uint32_t)digest[1] << 16 | (uint32_t)digest[2] << 8 | digest[3]);
}

static void put_utf8(buffer_t *b, uint32_t cp) {
  char u[4];
  if (cp < 0x80) { u[0] = (char)cp; buffer_put(b, u, 1); }
  else if (cp < 0x800) { u[0] = (char)(0xc0 | cp >> 6); u[1] = (char)(0x80 | (cp & 0x3f)); buffer_put(b, u, 2); }
  else { u[0] = (char)(0xe0 | cp >> 12); u[1] = (char)(0x80 | ((cp >> 6) & 0x3f)); u[2] = (char)(0x80 | (cp & 0x3f)); buffer_put(b, u, 3); }
}

static int hexval(char c) {
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Parses a JSON string literal (escapes included, \u limited to the BMP) into raw bytes. Returns 0 on error. */
static int parse_string(const char *p, const char *end, buffer_t *out) {
  skip_space(&p, end);
  if (p >= end || *p++ != '"') return 0;
  while (p < end && *p != '"') {
    char c = *p++;
    if (c != '\\') { buffer_putc(out, c); continue; }
    if (p >= end) return 0;
    char e = *p++;
    switch (e) {
      case '"': case '\\': case '/': buffer_putc(out, e); break;
      case 'b': buffer_putc(out, '\b'); break;
      case 'f': buffer_putc(out, '\f'); break;
      case 'n': buffer_putc(out, '\n'); break;
      case 'r': buffer_putc(out, '\r'); break;
      case 't': buffer_putc(out, '\t'); break;
      case 'u': {
        uint32_t cp = 0;
        for (int i = 0; i < 4; i++) {
          int v = p < end ? hexval(*p++) : -1;
          if (v < 0) return 0;
          cp = cp << 4 | (uint32_t)v;
        }
        put_utf8(out, cp);
        break;
      }
      default: return 0;
    }
  }
  if (p >= end) return 0;
  p++;
  skip_space(&p, end);
  return p == end;
}

/* JSON ABI action: a JSON string in, its SHA-256 as a JSON hex string out; a JSON error object on bad input. */
__attribute__((export_name("sha256"))) int64_t sha256_json(const char *input, int32_t len) {
  static const char hex[] = "0123456789abcdef";
  static const char bad[] = "{\"error\":\"expected a JSON string\"}";
  buffer_t text = {0}, out = {0};
  if (!parse_string(input, input + len, &text)) return json_abi_return(bad, sizeof bad - 1);
  sha256_t s;
  uint8_t digest[32];
  sha256_init(&s);
  sha256_update(&s, (const uint8_t *)text.data, text.len);
  sha256_final(&s, digest);
  free(text.data);
  buffer_putc(&out, '"');
  for (int i = 0; i < 32; i++) { buffer_putc(&out, hex[digest[i] >> 4]); buffer_putc(&out, hex[digest[i] & 15]); }
  buffer_putc(&out, '"');
  return json_abi_return(out.data, out.len);
}
