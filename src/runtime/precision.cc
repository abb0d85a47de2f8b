#include <atomic>
#include <string>

#include "focus/error.h"
#include "focus/runtime.h"
#include "ops/cpu/gemm_bf16.h"

namespace focus {
namespace {

std::atomic<Precision> g_precision{Precision::f32};

}  // namespace

void set_inference_precision(Precision p) { g_precision.store(p, std::memory_order_relaxed); }

Precision inference_precision() { return g_precision.load(std::memory_order_relaxed); }

const char* precision_name(Precision p) { return p == Precision::bf16 ? "bf16" : "f32"; }

Precision parse_precision(const std::string& name) {
  if (name == "f32") return Precision::f32;
  if (name == "bf16") return Precision::bf16;
  throw Error("precision: expected f32 or bf16, got '" + name + "'");
}

std::string bf16_info() {
  if (cpu::bf16_native()) return "avx512_bf16";
  return "portable (this CPU has no AVX512-BF16 instructions: bf16 is slower than f32 here)";
}

}  // namespace focus
