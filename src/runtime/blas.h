// The one GEMM entry point. The BLAS is loaded at run time (see blas.cc) so Focus can pick
// OpenBLAS's fast kernels for this CPU before the library reads its environment.
#pragma once

#include <cstdint>

namespace focus::blas {

// Row-major C[M,N] = alpha · op(A)[M,K] · op(B)[K,N] + beta · C.
void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
           int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

}  // namespace focus::blas
