// Tensor: a shared handle to an n-d view (shape, strides, offset) of a reference-counted storage.
// Copying a Tensor copies the handle, not the data; views (reshape, permute, slice, expand) share
// storage. Autograd state (requires_grad, grad, the node that produced it) lives beside the view.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "focus/error.h"
#include "focus/rng.h"
#include "focus/shape.h"

namespace focus {

// f32 is computed everywhere; i32 holds indices (embedding ids, class targets); bf16 is declared
// for the later fast path and not computed yet.
enum class DType : uint8_t { f32, bf16, i32 };
enum class Device : uint8_t { cpu, cuda };  // cuda: reserved

const char* dtype_name(DType t);
size_t dtype_size(DType t);

// Owns one aligned allocation. Freed blocks go back to a size-keyed cache (src/tensor/storage.cc)
// because training loops allocate the same sizes every step.
class Storage {
 public:
  Storage(size_t bytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data() { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

 private:
  void* data_;
  size_t bytes_;
  Device device_;
};

namespace autograd {
class Node;
}
class Tensor;

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;  // in elements
  int64_t offset = 0;
  DType dtype = DType::f32;
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;          // accumulated gradient (leaves)
  std::shared_ptr<autograd::Node> grad_fn;   // the node that produced this tensor, if recorded
  std::shared_ptr<autograd::Node> grad_acc;  // leaf accumulator, created on first use
};

class Tensor {
 public:
  Tensor() = default;  // undefined: defined() is false
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // Factories. Data is f32 on the CPU.
  static Tensor empty(const Shape& shape);  // uninitialised
  static Tensor zeros(const Shape& shape);
  static Tensor ones(const Shape& shape);
  static Tensor full(const Shape& shape, float value);
  static Tensor scalar(float value);  // rank 0
  static Tensor from_vector(const std::vector<float>& values, const Shape& shape);
  static Tensor arange(int64_t n);  // 0, 1, ..., n-1 as floats, shape [n]
  static Tensor uniform(const Shape& shape, float lo, float hi,
                        Generator& gen = default_generator());
  static Tensor normal(const Shape& shape, float mean, float stddev,
                       Generator& gen = default_generator());
  static Tensor bernoulli(const Shape& shape, float p, Generator& gen = default_generator());
  static Tensor from_indices(const std::vector<int32_t>& values, const Shape& shape);  // i32

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  const Shape& strides() const { return impl().strides; }
  int64_t offset() const { return impl().offset; }
  int dim() const { return impl().shape.rank(); }
  int64_t size(int axis) const { return impl().shape.at(axis); }
  int64_t numel() const { return impl().shape.numel(); }
  DType dtype() const { return impl().dtype; }
  Device device() const { return impl().storage->device(); }
  bool is_contiguous() const;
  bool shares_storage(const Tensor& o) const;

  // Element pointers (offset applied). Throws unless f32 on the CPU.
  float* data();
  const float* data() const;
  int32_t* data_i32();  // throws unless i32 on the CPU
  const int32_t* data_i32() const;
  float item() const;                            // the value of a one-element tensor
  std::vector<float> to_vector() const;          // row-major copy of the logical elements
  std::string str(int max_elements = 16) const;  // shape and leading values, for messages

  // A contiguous tensor with the same values: itself when already contiguous.
  Tensor contiguous() const;
  Tensor clone() const;  // a contiguous copy that records a copy node

  // Views; all are differentiable. reshape copies when the strides do not allow a view.
  Tensor reshape(const Shape& shape) const;
  Tensor permute(const std::vector<int>& axes) const;
  Tensor transpose(int a, int b) const;
  Tensor slice(int axis, int64_t start, int64_t end, int64_t step = 1) const;  // [start, end)
  Tensor expand(const Shape& shape) const;  // broadcast to shape without copying
  Tensor unsqueeze(int axis) const;
  Tensor squeeze(int axis) const;
  Tensor flatten(int start_axis = 0, int end_axis = -1) const;

  // Autograd.
  bool requires_grad() const { return impl().requires_grad; }
  Tensor& requires_grad_(bool on = true);
  Tensor grad() const;  // undefined until a backward pass reaches this leaf
  void set_grad(const Tensor& g);
  void zero_grad();  // drops the gradient
  bool is_leaf() const { return impl().grad_fn == nullptr; }
  const std::shared_ptr<autograd::Node>& grad_fn() const { return impl().grad_fn; }
  // Backward from a one-element tensor (seed 1), or from any tensor with a gradient of its shape.
  void backward() const;
  void backward(const Tensor& grad) const;
  Tensor detach() const;  // same storage, no history

  TensorImpl& impl() const;
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// A CPU tensor of `shape` backed by a new contiguous storage, not recorded by autograd.
Tensor make_tensor(const Shape& shape, DType dtype = DType::f32);

}  // namespace focus
