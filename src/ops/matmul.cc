// matmul (batched, broadcasting) and linear (x·Wᵀ + b with the bias fused into the GEMM; at
// precision bf16, inference or training, the bf16 GEMM of ops/cpu/gemm_bf16.h).
// Transposed views are passed to the BLAS as transpose flags, so backward never copies A or B.
#include <omp.h>

#include "focus/runtime.h"
#include "ops/common.h"
#include "ops/cpu/gemm_bf16.h"
#include "ops/cpu/strided.h"
#include "runtime/blas.h"

namespace focus {
namespace {

// How a 2-D view [rows, cols] with strides (sr, sc) reads as a BLAS operand.
struct Operand {
  bool trans;
  int64_t ld;
};

bool as_operand(int64_t rows, int64_t cols, int64_t sr, int64_t sc, Operand& op) {
  if ((sc == 1 || cols == 1) && sr >= std::max<int64_t>(cols, 1)) return op = {false, sr}, true;
  if ((sr == 1 || rows == 1) && sc >= std::max<int64_t>(rows, 1)) return op = {true, sc}, true;
  if (rows == 1 && cols == 1) return op = {false, 1}, true;
  return false;
}

// A view of the last two axes usable by the BLAS: itself when its strides allow, else a copy.
Tensor blas_ready(const Tensor& t, Operand& op) {
  const int r = t.dim();
  if (as_operand(t.shape()[r - 2], t.shape()[r - 1], t.strides()[r - 2], t.strides()[r - 1], op))
    return t;
  Tensor c = t.detach().contiguous();
  as_operand(c.shape()[r - 2], c.shape()[r - 1], c.strides()[r - 2], c.strides()[r - 1], op);
  return c;
}

Shape batch_of(const Tensor& t) {
  Shape s;
  for (int i = 0; i < t.dim() - 2; ++i) s.push_back(t.shape()[i]);
  return s;
}

// Strides over the broadcast batch shape (0 where t is broadcast).
Shape batch_strides(const Tensor& t, const Shape& batch) {
  Shape st;
  const int lead = batch.rank() - (t.dim() - 2);
  for (int i = 0; i < batch.rank(); ++i) {
    const int j = i - lead;
    st.push_back(j < 0 || t.shape()[j] == 1 ? 0 : t.strides()[j]);
  }
  return st;
}

int64_t batch_offset(int64_t b, const Shape& batch, const Shape& strides) {
  int64_t off = 0;
  for (int i = batch.rank() - 1; i >= 0; --i) {
    off += (b % batch[i]) * strides[i];
    b /= batch[i];
  }
  return off;
}

// out[batch.., M, N] = a[.., M, K] · b[.., K, N] on raw (already checked) tensors.
Tensor matmul_raw(const Tensor& a_in, const Tensor& b_in) {
  const int64_t m = a_in.shape()[a_in.dim() - 2], k = a_in.shape()[a_in.dim() - 1];
  const int64_t n = b_in.shape()[b_in.dim() - 1];
  const Shape batch = broadcast_shapes(batch_of(a_in), batch_of(b_in), "matmul");
  Shape out_shape = batch;
  out_shape.push_back(m);
  out_shape.push_back(n);
  Tensor out = make_tensor(out_shape);
  if (out.numel() == 0) return out;
  if (k == 0) return Tensor::zeros(out_shape);

  Operand oa, ob;
  Tensor a = blas_ready(a_in, oa), b = blas_ready(b_in, ob);
  const int64_t nb = batch.numel();
  // b shared by every batch and a a contiguous stack of rows: one [nb·M, K] x [K, N] GEMM.
  bool b_shared = true;
  for (int i = 0; i < b.dim() - 2; ++i) b_shared = b_shared && b.shape()[i] == 1;
  if (nb > 1 && b_shared && !oa.trans && a.is_contiguous() && batch_of(a) == batch) {
    blas::sgemm(false, ob.trans, nb * m, n, k, 1.0f, a.data(), k, b.data(), ob.ld, 0.0f, out.data(),
                n);
    return out;
  }
  const Shape sa = batch_strides(a, batch), sb = batch_strides(b, batch);
  const float* pa = a.data();
  const float* pb = b.data();
  float* po = out.data();
  auto one = [&](int64_t i) {
    blas::sgemm(oa.trans, ob.trans, m, n, k, 1.0f, pa + batch_offset(i, batch, sa), oa.ld,
                pb + batch_offset(i, batch, sb), ob.ld, 0.0f, po + i * m * n, n);
  };
  // Many small products: one per thread, each single-threaded inside the BLAS (OpenBLAS's OpenMP
  // build runs serially inside a parallel region). Large products: the BLAS's own threads.
  const bool per_thread = nb >= num_threads() && m * n * k <= (int64_t(192) << 14);
  if (per_thread) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < nb; ++i) one(i);
  } else {
    for (int64_t i = 0; i < nb; ++i) one(i);
  }
  return out;
}

// dw[Out, In] = bf16(g)ᵀ[Out, R] · bf16(x)[R, In]. Both operands are read along R, their slow
// axis: the wider one goes to the GEMM's B side, whose packing reads 32 floats of a row at a time
// (A's reads 12), and the product is then transposed when that was g.
void linear_weight_grad_bf16(const float* g, const float* x, int64_t rows, int64_t in,
                             int64_t out_f, float* gw) {
  if (out_f <= in) {
    cpu::gemm_bf16({g, 1, out_f}, out_f, rows, {x, 1, in}, in, nullptr, gw);
    return;
  }
  std::vector<float> gwt(size_t(in * out_f));  // [In, Out]
  cpu::gemm_bf16({x, 1, in}, in, rows, {g, 1, out_f}, out_f, nullptr, gwt.data());
#pragma omp parallel for schedule(static) if (in * out_f > (1 << 16))
  for (int64_t o = 0; o < out_f; ++o)
    for (int64_t i = 0; i < in; ++i) gw[o * in + i] = gwt[size_t(i * out_f + o)];
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  ops::check_f32("matmul", "a", a);
  ops::check_f32("matmul", "b", b);
  FOCUS_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul: operands must have rank >= 1, got ", a.shape(),
              " and ", b.shape());
  if (a.dim() == 1) return matmul(a.unsqueeze(0), b).squeeze(-2);
  if (b.dim() == 1) return matmul(a, b.unsqueeze(1)).squeeze(-1);
  FOCUS_CHECK(a.shape()[a.dim() - 1] == b.shape()[b.dim() - 2], "matmul: a ", a.shape(), " and b ",
              b.shape(), " do not chain: expected a.shape[-1] == b.shape[-2] (",
              a.shape()[a.dim() - 1], " vs ", b.shape()[b.dim() - 2], ")");
  for (int i = 3; i <= std::min(a.dim(), b.dim()); ++i) {
    const int64_t da = a.shape()[a.dim() - i], db = b.shape()[b.dim() - i];
    FOCUS_CHECK(da == db || da == 1 || db == 1, "matmul: the batch axes of a ", a.shape(),
                " and b ", b.shape(), " do not broadcast (", da, " vs ", db, ")");
  }
  Tensor out = matmul_raw(a.detach(), b.detach());
  ops::check_output("matmul", out);
  Tensor ad = a.detach(), bd = b.detach();
  autograd::record("matmul", out, {a, b}, [ad, bd](const Tensor& g, const autograd::Needs& needs) {
    Tensor ga, gb;
    if (needs[0]) ga = sum_to(matmul_raw(g, bd.transpose(-1, -2)), ad.shape());
    if (needs[1]) {
      if (bd.dim() == 2 && ad.dim() > 2) {
        // b shared across the batch: fold the batch into one [K, nb·M] x [nb·M, N] product.
        const int64_t k = ad.shape()[ad.dim() - 1], n = bd.shape()[1];
        gb = matmul_raw(ad.reshape(Shape{ad.numel() / std::max<int64_t>(k, 1), k}).transpose(0, 1),
                        g.reshape(Shape{g.numel() / n, n}));
      } else {
        gb = sum_to(matmul_raw(ad.transpose(-1, -2), g), bd.shape());
      }
    }
    return std::vector<Tensor>{ga, gb};
  });
  return out;
}

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  ops::check_f32("linear", "x", x);
  ops::check_f32("linear", "weight", w);
  FOCUS_CHECK(w.dim() == 2, "linear: weight must be [Out,In], got ", w.shape());
  FOCUS_CHECK(x.dim() >= 1 && x.shape()[x.dim() - 1] == w.shape()[1], "linear: x ", x.shape(),
              " does not match weight ", w.shape(), ": expected x.shape[-1] == ", w.shape()[1]);
  const int64_t in = w.shape()[1], out_f = w.shape()[0];
  if (b.defined()) {
    ops::check_f32("linear", "bias", b);
    FOCUS_CHECK(b.dim() == 1 && b.shape()[0] == out_f, "linear: bias ", b.shape(),
                " does not match weight ", w.shape(), ": expected [", out_f, "]");
  }
  Shape out_shape = x.shape();
  out_shape[out_shape.rank() - 1] = out_f;
  const int64_t rows = x.numel() / std::max<int64_t>(in, 1);
  Tensor xc = x.detach().contiguous(), wc = w.detach().contiguous();
  Tensor bc = b.defined() ? b.detach().contiguous() : Tensor();
  Tensor out = make_tensor(out_shape);
  float* po = out.data();
  // The precision of this product (inference's without a gradient, training's with one) picks
  // the bf16 GEMM or OpenBLAS, for the forward here and the gradients below.
  const bool bf16 = ops::bf16_linear({x, w, b});
  if (bf16) {
    cpu::linear_bf16(xc.data(), rows, in, wc.data(), out_f, bc.defined() ? bc.data() : nullptr, po);
  } else {
    if (bc.defined()) {
      const float* pb = bc.data();
#pragma omp parallel for schedule(static) if (rows * out_f > (1 << 15))
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < out_f; ++j) po[r * out_f + j] = pb[j];
    }
    if (rows > 0 && out_f > 0) {
      if (in > 0)
        blas::sgemm(false, true, rows, out_f, in, 1.0f, xc.data(), in, wc.data(), in,
                    bc.defined() ? 1.0f : 0.0f, po, out_f);
      else if (!bc.defined())
        std::fill(po, po + rows * out_f, 0.0f);
    }
  }
  ops::check_output("linear", out);
  const bool has_bias = b.defined();
  autograd::record(
      "linear", out, {x, w, b},
      [xc, wc, rows, in, out_f, has_bias, bf16](const Tensor& g_in, const autograd::Needs& needs) {
        Tensor g = g_in.contiguous();
        Tensor gx, gw, gb;
        if (needs[0]) {  // dx[R,In] = g[R,Out] · w[Out,In]
          gx = make_tensor(xc.shape());
          if (bf16)  // B[In, Out] = wᵀ: a transposed view
            cpu::gemm_bf16({g.data(), out_f, 1}, rows, out_f, {wc.data(), 1, in}, in, nullptr,
                           gx.data());
          else
            blas::sgemm(false, false, rows, in, out_f, 1.0f, g.data(), out_f, wc.data(), in, 0.0f,
                        gx.data(), in);
        }
        if (needs[1]) {  // dw[Out,In] = gᵀ[Out,R] · x[R,In]
          gw = make_tensor(wc.shape());
          if (bf16)
            linear_weight_grad_bf16(g.data(), xc.data(), rows, in, out_f, gw.data());
          else
            blas::sgemm(true, false, out_f, in, rows, 1.0f, g.data(), out_f, xc.data(), in, 0.0f,
                        gw.data(), in);
        }
        if (has_bias && needs[2]) gb = sum(g.reshape(Shape{rows, out_f}), {0});
        return std::vector<Tensor>{gx, gw, gb};
      });
  return out;
}

}  // namespace focus
