/* Dense matrix multiply in doubles, compiled to WebAssembly as a realistic float workload. */
#include <stdint.h>
#include <stdlib.h>

/* Multiplies two n x n matrices filled deterministically and returns the trace of the product. */
__attribute__((export_name("matmul"))) double matmul(int32_t n) {
  size_t size = (size_t)(n > 0 ? n : 1);
  double *a = malloc(size * size * sizeof(double)), *b = malloc(size * size * sizeof(double));
  double *c = calloc(size * size, sizeof(double));
  for (int32_t i = 0; i < n; i++)
    for (int32_t j = 0; j < n; j++) {
      a[i * n + j] = (double)((i * 7 + j * 3) % 17) / 8.0 - 1.0;
      b[i * n + j] = (double)((i * 5 + j * 11) % 13) / 6.0 - 1.0;
    }
  for (int32_t i = 0; i < n; i++)
    for (int32_t k = 0; k < n; k++) {
      double aik = a[i * n + k];
      for (int32_t j = 0; j < n; j++) c[i * n + j] += aik * b[k * n + j];
    }
  double trace = 0;
  for (int32_t i = 0; i < n; i++) trace += c[i * n + i];
  free(a); free(b); free(c);
  return trace;
}
