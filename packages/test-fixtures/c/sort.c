/* Sorting with libc's qsort, compiled to WebAssembly as a realistic fixture:
 * malloc/realloc, a shadow stack (__stack_pointer) and its own exported memory. */
#include <stdint.h>
#include "json_abi.h"

static int compare(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* Fills n integers from a linear congruential generator, sorts them, checks the order and
 * returns a checksum (sum of value * index, wrapping); -1 if the result is out of order. */
__attribute__((export_name("sort_random"))) int32_t sort_random(int32_t n, int32_t seed) {
  int64_t *values = malloc((size_t)(n > 0 ? n : 1) * sizeof *values);
  uint32_t state = (uint32_t)seed;
  for (int32_t i = 0; i < n; i++) {
    state = state * 1664525u + 1013904223u;
    values[i] = (int64_t)(state >> 8) - (1 << 23);
  }
  qsort(values, (size_t)n, sizeof *values, compare);
  uint32_t checksum = 0;
  for (int32_t i = 0; i < n; i++) {
    if (i > 0 && values[i - 1] > values[i]) { free(values); return -1; }
    checksum += (uint32_t)values[i] * (uint32_t)i;
  }
  free(values);
  return (int32_t)checksum;
}

static int parse_int(const char **p, const char *end, int64_t *out) {
  int negative = 0;
  int64_t value = 0;
  if (*p < end && **p == '-') { negative = 1; (*p)++; }
  if (*p >= end || **p < '0' || **p > '9') return 0;
  while (*p < end && **p >= '0' && **p <= '9') {
    value = value * 10 + (**p - '0');
    if (value > 9007199254740991LL) return 0;
    (*p)++;
  }
  *out = negative ? -value : value;
  return 1;
}

static void put_int(buffer_t *b, int64_t value) {
  char digits[24];
  int n = 0;
  uint64_t magnitude = value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value;
  do { digits[n++] = (char)('0' + magnitude % 10); magnitude /= 10; } while (magnitude != 0);
  if (value < 0) buffer_putc(b, '-');
  while (n > 0) buffer_putc(b, digits[--n]);
}

static int expect_text(const char **p, const char *end, const char *text) {
  skip_space(p, end);
  for (; *text; text++, (*p)++) if (*p >= end || **p != *text) return 0;
  return 1;
}

/* JSON ABI action: {"values": [integers]} in (an object, since a bare array of numbers is a
 * direct-mode payload), the integers sorted out as an array; a JSON error object on bad input. */
__attribute__((export_name("sort"))) int64_t sort_json(const char *input, int32_t len) {
  static const char bad[] = "{\"error\":\"expected {\\\"values\\\": [integers]}\"}";
  const char *p = input, *end = input + len;
  int64_t *values = NULL;
  uint32_t count = 0, cap = 0;
  if (!expect_text(&p, end, "{") || !expect_text(&p, end, "\"values\"") || !expect_text(&p, end, ":") ||
      !expect_text(&p, end, "[")) {
    return json_abi_return(bad, sizeof bad - 1);
  }
  skip_space(&p, end);
  if (p < end && *p == ']') {
    p++;
  } else {
    for (;;) {
      int64_t v;
      skip_space(&p, end);
      if (!parse_int(&p, end, &v)) { free(values); return json_abi_return(bad, sizeof bad - 1); }
      if (count == cap) { cap = cap ? cap * 2 : 16; values = realloc(values, cap * sizeof *values); }
      values[count++] = v;
      skip_space(&p, end);
      if (p < end && *p == ',') { p++; continue; }
      if (p < end && *p == ']') { p++; break; }
      free(values);
      return json_abi_return(bad, sizeof bad - 1);
    }
  }
  if (!expect_text(&p, end, "}")) { free(values); return json_abi_return(bad, sizeof bad - 1); }
  skip_space(&p, end);
  if (p != end) { free(values); return json_abi_return(bad, sizeof bad - 1); }
  qsort(values, count, sizeof *values, compare);
  buffer_t out = {0};
  buffer_putc(&out, '[');
  for (uint32_t i = 0; i < count; i++) {
    if (i > 0) buffer_putc(&out, ',');
    put_int(&out, values[i]);
  }
  buffer_putc(&out, ']');
  free(values);
  return json_abi_return(out.data, out.len);
}
