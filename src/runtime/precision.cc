#include <atomic>
#include <string>

#include "focus/error.h"
#include "focus/runtime.h"
#include "ops/cpu/gemm_bf16.h"

namespace focus {
namespace {

std::atomic<Precision> g_precision{Precision::f32};
std::atomic<Precision> g_training_precision{Precision::f32};

constexpr const char* kPortable =
    ", portable: this CPU has no AVX512-BF16 instructions, so bf16 is slower than f32 here";

}  // namespace

void set_inference_precision(Precision p) { g_precision.store(p, std::memory_order_relaxed); }

Precision inference_precision() { return g_precision.load(std::memory_order_relaxed); }

void set_training_precision(Precision p) {
  g_training_precision.store(p, std::memory_order_relaxed);
}

Precision training_precision() { return g_training_precision.load(std::memory_order_relaxed); }

Precision parse_precision(const std::string& name) {
  if (name == "f32") return Precision::f32;
  if (name == "bf16") return Precision::bf16;
  throw Error("precision: expected f32 or bf16, got '" + name + "'");
}

std::string bf16_info() {
  if (cpu::bf16_native()) return "linear layers and attention's P·V, avx512_bf16";
  return std::string("linear layers") + kPortable;
}

std::string bf16_training_info() {
  if (cpu::bf16_native())
    return "linear layers' products and attention's P·V, dP, dV, dK, dQ, avx512_bf16";
  return std::string("linear layers' products") + kPortable;
}

}  // namespace focus
