// Threads and the BLAS. One knob: FOCUS_THREADS (or set_num_threads); OpenMP and the BLAS share one
// pool so they never oversubscribe the cores.
#pragma once

#include <string>

namespace focus {

void set_num_threads(int n);  // n >= 1
int num_threads();
// Which BLAS was loaded and with which kernels, e.g. "OpenBLAS 0.3.21 (OpenMP, Haswell kernels)".
std::string blas_info();

}  // namespace focus
