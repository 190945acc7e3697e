/* The ri-sandbox JSON ABI, C side: the host allocates input with __alloc,
 * calls an action with (ptr, len), and receives (out_ptr << 32 | out_len). */
#ifndef JSON_ABI_H
#define JSON_ABI_H
#include <stdint.h>
#include <stdlib.h>

__attribute__((export_name("__alloc"))) void *json_abi_alloc(int32_t len) { return malloc(len > 0 ? (size_t)len : 1); }

static inline int64_t json_abi_return(const char *out, uint32_t len) {
  return (int64_t)(((uint64_t)(uintptr_t)out << 32) | len);
}

/* A growable output buffer. */
typedef struct { char *data; uint32_t len, cap; } buffer_t;

static void buffer_put(buffer_t *b, const char *s, uint32_t n) {
  if (b->len + n > b->cap) {
    uint32_t cap = b->cap ? b->cap * 2 : 64;
    while (cap < b->len + n) cap *= 2;
    b->data = realloc(b->data, cap);
    b->cap = cap;
  }
  for (uint32_t i = 0; i < n; i++) b->data[b->len + i] = s[i];
  b->len += n;
}

static void buffer_putc(buffer_t *b, char c) { buffer_put(b, &c, 1); }

static void skip_space(const char **p, const char *end) {
  while (*p < end && (**p == ' ' || **p == '\n' || **p == '\r' || **p == '\t')) (*p)++;
}
#endif
