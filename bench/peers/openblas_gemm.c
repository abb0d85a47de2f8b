// Raw OpenBLAS SGEMM, the matmul peer: C[N,N] = A[N,N]·B[N,N] through cblas_sgemm, nothing else.
// The library is dlopen'ed, so OPENBLAS_CORETYPE and OPENBLAS_NUM_THREADS / OMP_NUM_THREADS (read
// while it loads) come from the environment that ops_torch.py sets for each run.
// usage: openblas_gemm LIBRARY N REPS  -> "core NAME", one line per rep (milliseconds), then
// "rss_mb PEAK".
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float*, int, const float*, int,
                         float, float*, int);

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

int main(int argc, char** argv) {
  if (argc != 4) return fprintf(stderr, "usage: %s LIBRARY N REPS\n", argv[0]), 2;
  void* h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!h) return fprintf(stderr, "%s\n", dlerror()), 1;
  sgemm_fn sgemm = (sgemm_fn)dlsym(h, "cblas_sgemm");
  char* (*corename)(void) = (char* (*)(void))dlsym(h, "openblas_get_corename");
  if (!sgemm) return fprintf(stderr, "no cblas_sgemm in %s\n", argv[1]), 1;
  const int n = atoi(argv[2]), reps = atoi(argv[3]);
  float* a = aligned_alloc(64, sizeof(float) * n * n);
  float* b = aligned_alloc(64, sizeof(float) * n * n);
  float* c = aligned_alloc(64, sizeof(float) * n * n);
  for (long i = 0; i < (long)n * n; ++i) {
    a[i] = (float)((i * 7 % 13) - 6) / 13.0f;
    b[i] = (float)((i * 5 % 11) - 5) / 11.0f;
    c[i] = 0.0f;
  }
  printf("core %s\n", corename ? corename() : "?");
  for (int r = -2; r < reps; ++r) {  // two warm-up runs
    const double t0 = now_ms();
    sgemm(101, 111, 111, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);  // row-major, no transposes
    const double t1 = now_ms();
    if (r >= 0) printf("%.6f\n", t1 - t0);
  }
  // Peak RSS of this image (VmHWM): getrusage would include the Python parent it was forked from.
  long hwm_kb = 0;
  char line[256];
  FILE* f = fopen("/proc/self/status", "r");
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmHWM: %ld", &hwm_kb) == 1) break;
  if (f) fclose(f);
  printf("rss_mb %.1f\n", hwm_kb / 1024.0);
  return 0;
}
