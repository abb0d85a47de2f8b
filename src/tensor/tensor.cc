#include "focus/tensor.h"

#include <cmath>
#include <cstring>
#include <numeric>
#include <sstream>

#include "focus/autograd.h"
#include "focus/ops.h"
#include "focus/runtime.h"
#include "ops/cpu/strided.h"

namespace focus {
namespace {
// Every program that makes a tensor links this file: read FOCUS_THREADS before any parallel region.
const int g_threads = num_threads();
}  // namespace

const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32:
      return "f32";
    case DType::bf16:
      return "bf16";
    case DType::i32:
      return "i32";
  }
  return "?";
}

size_t dtype_size(DType t) { return t == DType::bf16 ? 2 : 4; }

Tensor make_tensor(const Shape& shape, DType dtype) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(shape.numel() * dtype_size(dtype), Device::cpu);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

TensorImpl& Tensor::impl() const {
  FOCUS_CHECK(impl_ != nullptr, "tensor: use of an undefined tensor");
  return *impl_;
}

Tensor Tensor::empty(const Shape& shape) { return make_tensor(shape); }

Tensor Tensor::full(const Shape& shape, float value) {
  Tensor t = make_tensor(shape);
  float* p = t.data();
  const int64_t n = t.numel();
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) p[i] = value;
  return t;
}

Tensor Tensor::zeros(const Shape& shape) { return full(shape, 0.0f); }
Tensor Tensor::ones(const Shape& shape) { return full(shape, 1.0f); }
Tensor Tensor::scalar(float value) { return full(Shape{}, value); }

Tensor Tensor::from_vector(const std::vector<float>& values, const Shape& shape) {
  FOCUS_CHECK(static_cast<int64_t>(values.size()) == shape.numel(), "from_vector: ", values.size(),
              " values do not fill shape ", shape, " (expected ", shape.numel(), ")");
  Tensor t = make_tensor(shape);
  if (!values.empty()) std::memcpy(t.data(), values.data(), values.size() * sizeof(float));
  return t;
}

Tensor Tensor::from_indices(const std::vector<int32_t>& values, const Shape& shape) {
  FOCUS_CHECK(static_cast<int64_t>(values.size()) == shape.numel(), "from_indices: ", values.size(),
              " values do not fill shape ", shape, " (expected ", shape.numel(), ")");
  Tensor t = make_tensor(shape, DType::i32);
  if (!values.empty()) std::memcpy(t.data_i32(), values.data(), values.size() * sizeof(int32_t));
  return t;
}

Tensor Tensor::arange(int64_t n) {
  Tensor t = make_tensor(Shape{n});
  for (int64_t i = 0; i < n; ++i) t.data()[i] = static_cast<float>(i);
  return t;
}

Tensor Tensor::uniform(const Shape& shape, float lo, float hi, Generator& gen) {
  FOCUS_CHECK(lo <= hi, "uniform: lo ", lo, " > hi ", hi);
  Tensor t = make_tensor(shape);
  const int64_t n = t.numel();
  const uint64_t first = gen.advance(n);
  float* p = t.data();
#pragma omp parallel for schedule(static) if (n > (1 << 15))
  for (int64_t i = 0; i < n; ++i) p[i] = lo + (hi - lo) * gen.uniform(first + i);
  return t;
}

Tensor Tensor::normal(const Shape& shape, float mean, float stddev, Generator& gen) {
  FOCUS_CHECK(stddev >= 0, "normal: negative stddev ", stddev);
  Tensor t = make_tensor(shape);
  const int64_t n = t.numel();
  const uint64_t first = gen.advance(n);
  float* p = t.data();
#pragma omp parallel for schedule(static) if (n > (1 << 14))
  for (int64_t i = 0; i < n; ++i) {
    // Box-Muller on the two 32-bit halves of one counter's bits.
    uint64_t b = gen.bits(first + i);
    double u1 = (static_cast<double>(b >> 32) + 1.0) * 0x1.0p-32;  // (0, 1]
    double u2 = static_cast<double>(b & 0xffffffffu) * 0x1.0p-32;  // [0, 1)
    double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
    p[i] = mean + stddev * static_cast<float>(z);
  }
  return t;
}

Tensor Tensor::bernoulli(const Shape& shape, float prob, Generator& gen) {
  FOCUS_CHECK(prob >= 0 && prob <= 1, "bernoulli: probability ", prob, " is outside [0, 1]");
  Tensor t = make_tensor(shape);
  const int64_t n = t.numel();
  const uint64_t first = gen.advance(n);
  float* p = t.data();
#pragma omp parallel for schedule(static) if (n > (1 << 15))
  for (int64_t i = 0; i < n; ++i) p[i] = gen.uniform(first + i) < prob ? 1.0f : 0.0f;
  return t;
}

bool Tensor::is_contiguous() const {
  const Shape& s = shape();
  int64_t expected = 1;
  for (int i = s.rank() - 1; i >= 0; --i) {
    if (s[i] == 1) continue;
    if (strides()[i] != expected) return false;
    expected *= s[i];
  }
  return true;
}

bool Tensor::shares_storage(const Tensor& o) const {
  return defined() && o.defined() && impl().storage == o.impl().storage;
}

float* Tensor::data() {
  FOCUS_CHECK(dtype() == DType::f32, "tensor: f32 data requested from a ", dtype_name(dtype()),
              " tensor ", shape());
  return static_cast<float*>(impl().storage->data()) + offset();
}
const float* Tensor::data() const { return const_cast<Tensor*>(this)->data(); }

int32_t* Tensor::data_i32() {
  FOCUS_CHECK(dtype() == DType::i32, "tensor: i32 data requested from a ", dtype_name(dtype()),
              " tensor ", shape());
  return static_cast<int32_t*>(impl().storage->data()) + offset();
}
const int32_t* Tensor::data_i32() const { return const_cast<Tensor*>(this)->data_i32(); }

float Tensor::item() const {
  FOCUS_CHECK(numel() == 1, "item: expected a one-element tensor, got ", shape());
  return dtype() == DType::i32 ? static_cast<float>(*data_i32()) : *data();
}

std::vector<float> Tensor::to_vector() const {
  Tensor c = contiguous();
  if (c.dtype() == DType::i32) return {c.data_i32(), c.data_i32() + c.numel()};
  return {c.data(), c.data() + c.numel()};
}

std::string Tensor::str(int max_elements) const {
  if (!defined()) return "Tensor(undefined)";
  std::ostringstream os;
  os << "Tensor" << shape() << " " << dtype_name(dtype()) << " {";
  std::vector<float> v = to_vector();
  for (size_t i = 0; i < v.size() && static_cast<int>(i) < max_elements; ++i)
    os << (i ? ", " : "") << v[i];
  if (static_cast<int>(v.size()) > max_elements) os << ", ...";
  return os.str() + "}";
}

namespace {

// A view of `base` with new geometry, sharing storage and not recorded.
Tensor view_of(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.impl().storage;
  impl->shape = shape;
  impl->strides = strides;
  impl->offset = offset;
  impl->dtype = base.dtype();
  return Tensor(std::move(impl));
}

Tensor raw_contiguous(const Tensor& t) {
  Tensor out = make_tensor(t.shape(), t.dtype());
  if (t.numel() == 0) return out;
  const auto* base = static_cast<const uint32_t*>(t.impl().storage->data()) + t.offset();
  cpu::copy_strided(base, t.shape(), t.strides(),
                    static_cast<uint32_t*>(out.impl().storage->data()));
  return out;
}

}  // namespace

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  Tensor out = raw_contiguous(*this);
  autograd::record("contiguous", out, {*this},
                   [](const Tensor& g, const autograd::Needs&) { return std::vector<Tensor>{g}; });
  return out;
}

Tensor Tensor::clone() const {
  Tensor out = raw_contiguous(*this);
  autograd::record("clone", out, {*this},
                   [](const Tensor& g, const autograd::Needs&) { return std::vector<Tensor>{g}; });
  return out;
}

Tensor Tensor::reshape(const Shape& target) const { return focus::reshape(*this, target); }

Tensor reshape(const Tensor& x, const Shape& target) {
  FOCUS_CHECK(target.numel() == x.numel(), "reshape: cannot view ", x.shape(), " (", x.numel(),
              " elements) as ", target, " (", target.numel(), " elements)");
  Tensor base = x.is_contiguous() ? x : x.contiguous();
  Tensor out = view_of(base, target, contiguous_strides(target), base.offset());
  Shape in_shape = x.shape();
  autograd::record("reshape", out, {base}, [in_shape](const Tensor& g, const autograd::Needs&) {
    return std::vector<Tensor>{g.reshape(in_shape)};
  });
  return out;
}

Tensor Tensor::permute(const std::vector<int>& axes) const { return focus::permute(*this, axes); }

Tensor permute(const Tensor& x, const std::vector<int>& axes) {
  const int r = x.dim();
  FOCUS_CHECK(static_cast<int>(axes.size()) == r, "permute: ", axes.size(),
              " axes given for a tensor of shape ", x.shape(), " (expected ", r, ")");
  Shape shape, strides;
  std::vector<int> inverse(r, -1);
  for (int i = 0; i < r; ++i) {
    int a = normalize_axis(axes[i], r, "permute");
    FOCUS_CHECK(inverse[a] < 0, "permute: axis ", axes[i], " repeated for shape ", x.shape());
    inverse[a] = i;
    shape.push_back(x.shape()[a]);
    strides.push_back(x.strides()[a]);
  }
  Tensor out = view_of(x, shape, strides, x.offset());
  autograd::record("permute", out, {x}, [inverse](const Tensor& g, const autograd::Needs&) {
    return std::vector<Tensor>{g.permute(inverse)};
  });
  return out;
}

Tensor Tensor::transpose(int a, int b) const { return focus::transpose(*this, a, b); }

Tensor transpose(const Tensor& x, int a, int b) {
  std::vector<int> axes(x.dim());
  std::iota(axes.begin(), axes.end(), 0);
  std::swap(axes[normalize_axis(a, x.dim(), "transpose")],
            axes[normalize_axis(b, x.dim(), "transpose")]);
  return permute(x, axes);
}

Tensor Tensor::slice(int axis, int64_t start, int64_t end, int64_t step) const {
  return focus::slice(*this, axis, start, end, step);
}

Tensor slice(const Tensor& x, int axis, int64_t start, int64_t end, int64_t step) {
  const int a = normalize_axis(axis, x.dim(), "slice");
  const int64_t n = x.shape()[a];
  FOCUS_CHECK(step >= 1, "slice: step must be >= 1, got ", step);
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<int64_t>(start, 0, n);
  end = std::clamp<int64_t>(end, start, n);
  Shape shape = x.shape(), strides = x.strides();
  shape[a] = (end - start + step - 1) / step;
  strides[a] *= step;
  Tensor out = view_of(x, shape, strides, x.offset() + start * x.strides()[a]);
  Shape in_shape = x.shape();
  autograd::record_view(
      "slice", out, x,
      [in_shape, a, start, end, step](const Tensor& g, const autograd::Needs&) {
        Tensor gx = Tensor::zeros(in_shape);
        Tensor dst = gx.slice(a, start, end, step);
        Tensor src = g.contiguous();
        if (src.numel() > 0)
          cpu::copy_to_strided(reinterpret_cast<const uint32_t*>(src.data()), dst.shape(),
                               dst.strides(), reinterpret_cast<uint32_t*>(dst.data()));
        return std::vector<Tensor>{gx};
      },
      [a, start, end, step](Tensor& acc, const Tensor& g) {
        Tensor dst = acc.slice(a, start, end, step);  // a view into acc
        Tensor sum = add(dst, g).contiguous();
        if (sum.numel() > 0)
          cpu::copy_to_strided(reinterpret_cast<const uint32_t*>(sum.data()), dst.shape(),
                               dst.strides(), reinterpret_cast<uint32_t*>(dst.data()));
      });
  return out;
}

Tensor Tensor::expand(const Shape& target) const {
  const Shape& s = shape();
  FOCUS_CHECK(target.rank() >= s.rank(), "expand: cannot expand ", s, " to lower rank ", target);
  Shape strides;
  const int lead = target.rank() - s.rank();
  for (int i = 0; i < target.rank(); ++i) {
    if (i < lead) {
      strides.push_back(0);
      continue;
    }
    int64_t d = s[i - lead];
    FOCUS_CHECK(d == target[i] || d == 1, "expand: cannot expand ", s, " to ", target, " (axis ", i,
                ": ", d, " vs ", target[i], ")");
    strides.push_back(d == target[i] ? this->strides()[i - lead] : 0);
  }
  Tensor out = view_of(*this, target, strides, offset());
  Shape in_shape = s;
  autograd::record("expand", out, {*this}, [in_shape](const Tensor& g, const autograd::Needs&) {
    return std::vector<Tensor>{sum_to(g, in_shape)};
  });
  return out;
}

Tensor Tensor::unsqueeze(int axis) const {
  const int a = normalize_axis(axis, dim() + 1, "unsqueeze");
  std::vector<int64_t> dims = shape().vec();
  dims.insert(dims.begin() + a, 1);
  return reshape(Shape(dims));
}

Tensor Tensor::squeeze(int axis) const {
  const int a = normalize_axis(axis, dim(), "squeeze");
  FOCUS_CHECK(shape()[a] == 1, "squeeze: axis ", axis, " of ", shape(), " has extent ", shape()[a],
              ", expected 1");
  std::vector<int64_t> dims = shape().vec();
  dims.erase(dims.begin() + a);
  return reshape(Shape(dims));
}

Tensor Tensor::flatten(int start_axis, int end_axis) const {
  if (dim() == 0) return reshape(Shape{1});
  const int s = normalize_axis(start_axis, dim(), "flatten");
  const int e = normalize_axis(end_axis, dim(), "flatten");
  FOCUS_CHECK(s <= e, "flatten: start axis ", start_axis, " after end axis ", end_axis);
  std::vector<int64_t> dims;
  for (int i = 0; i < s; ++i) dims.push_back(shape()[i]);
  int64_t m = 1;
  for (int i = s; i <= e; ++i) m *= shape()[i];
  dims.push_back(m);
  for (int i = e + 1; i < dim(); ++i) dims.push_back(shape()[i]);
  return reshape(Shape(dims));
}

Tensor& Tensor::requires_grad_(bool on) {
  FOCUS_CHECK(!on || dtype() == DType::f32,
              "requires_grad: only f32 tensors can require grad, got ", dtype_name(dtype()));
  FOCUS_CHECK(is_leaf(), "requires_grad: only leaf tensors can be marked (this one comes from ",
              "an op); use detach() first");
  impl().requires_grad = on;
  return *this;
}

Tensor Tensor::grad() const { return impl().grad ? Tensor(impl().grad) : Tensor(); }

void Tensor::set_grad(const Tensor& g) {
  if (g.defined())
    FOCUS_CHECK(g.shape() == shape(), "set_grad: gradient ", g.shape(), " for tensor ", shape());
  impl().grad = g.defined() ? g.impl_ptr() : nullptr;
}

void Tensor::zero_grad() { impl().grad = nullptr; }

void Tensor::backward() const {
  FOCUS_CHECK(numel() == 1, "backward: called without a gradient on a tensor of shape ", shape(),
              "; expected one element (a loss), or pass a gradient of the same shape");
  autograd::backward(*this, Tensor::ones(shape()));
}

void Tensor::backward(const Tensor& grad) const { autograd::backward(*this, grad); }

Tensor Tensor::detach() const { return view_of(*this, shape(), strides(), offset()); }

}  // namespace focus
