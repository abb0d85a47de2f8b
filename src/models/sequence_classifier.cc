#include <algorithm>
#include <string>
#include <vector>

#include "focus/attention.h"
#include "focus/autograd.h"
#include "focus/models.h"

namespace focus::models {
namespace {

constexpr const char* kOp = "sequence_classifier";

// mask[b, j] = 1 for j < lens[b], else 0: f32 [B,N].
Tensor length_mask(const std::vector<int32_t>& lens, int64_t n) {
  std::vector<float> m(lens.size() * size_t(n), 0.0f);
  for (size_t i = 0; i < lens.size(); ++i)
    std::fill(m.begin() + int64_t(i) * n, m.begin() + int64_t(i) * n + lens[i], 1.0f);
  return Tensor::from_vector(m, {int64_t(lens.size()), n});
}

}  // namespace

std::vector<int32_t> unpadded_lengths(const Tensor& ids, int32_t pad) {
  const Tensor c = ids.contiguous();
  const int64_t b = c.size(0), n = c.size(1);
  const int32_t* p = c.data_i32();
  std::vector<int32_t> lens(size_t(b), 0);
  for (int64_t i = 0; i < b; ++i)
    for (int64_t j = n; j > 0; --j)
      if (p[i * n + j - 1] != pad) {
        lens[size_t(i)] = int32_t(j);
        break;
      }
  return lens;
}

SequenceClassifier::SequenceClassifier(const SequenceClassifierOptions& opt, Generator& gen)
    : opt_(opt) {
  FOCUS_CHECK(opt.vocab >= 1 && opt.max_len >= 1 && opt.classes >= 2, kOp, ": vocab ", opt.vocab,
              ", max_len ", opt.max_len, " and classes ", opt.classes,
              " must be >= 1, >= 1 and >= 2");
  FOCUS_CHECK(opt.pool == "cls" || opt.pool == "mean" || opt.pool == "soft", kOp,
              ": pool must be 'cls', 'mean' or 'soft', got '", opt.pool, "'");
  FOCUS_CHECK(opt.conv == 0 || (opt.conv >= 1 && opt.conv % 2 == 1), kOp,
              ": conv kernel must be 0 (none) or odd, got ", opt.conv);
  FOCUS_CHECK(opt.pad_id >= -1 && opt.pad_id < opt.vocab, kOp, ": pad id ", opt.pad_id,
              " outside [-1, ", opt.vocab, ")");
  embed_ = register_module("embed", std::make_shared<nn::Embedding>(opt.vocab, opt.dim, gen));
  const int64_t positions = opt.max_len + (opt.pool == "cls" ? 1 : 0);
  pos_ = register_module("pos", std::make_shared<nn::LearnedPositions>(positions, opt.dim, gen));
  if (opt.pool == "cls") {
    Tensor cls = Tensor::zeros({1, 1, opt.dim});
    nn::init::trunc_normal_(cls, 0.0f, 0.02f, -0.04f, 0.04f, gen);
    cls_ = register_parameter("cls", cls);
  }
  if (opt.conv > 0)
    conv_ = register_module(
        "conv", std::make_shared<nn::Conv1d>(opt.dim, opt.dim, opt.conv, 1, opt.conv / 2, gen));
  for (int64_t i = 0; i < opt.depth; ++i)
    blocks_.push_back(register_module(
        "blocks." + std::to_string(i),
        std::make_shared<nn::EncoderBlock>(nn::BlockOptions{.dim = opt.dim,
                                                            .heads = opt.heads,
                                                            .mlp_ratio = opt.mlp_ratio,
                                                            .dropout = opt.dropout,
                                                            .name = "blocks." + std::to_string(i)},
                                           gen)));
  norm_ = register_module("norm", std::make_shared<nn::LayerNorm>(opt.dim));
  if (opt.pool == "soft") {
    soft_ = std::make_shared<attention::SoftAttention>(
        attention::SoftAttentionOptions{.dim = opt.dim, .score = attention::Score::additive}, gen);
    // The same tensors, registered: optimisers and checkpoints update soft_'s in place.
    for (auto& [name, t] : soft_->named_parameters()) register_parameter("pool." + name, t);
  }
  head_ = register_module(
      "head", std::make_shared<nn::Linear>(opt.dim, opt.classes, nn::LinearOptions{}, gen));
}

nn::NamedTensors SequenceClassifier::encoder_parameters() const {
  nn::NamedTensors out;
  for (auto& [name, t] : named_parameters())
    if (name.rfind("pool.", 0) != 0 && name.rfind("head.", 0) != 0) out.emplace_back(name, t);
  return out;
}

SequenceClassifier::Encoded SequenceClassifier::encode_all(const Tensor& ids_in) const {
  FOCUS_CHECK(ids_in.dtype() == DType::i32 && ids_in.dim() == 2 && ids_in.size(1) >= 1 &&
                  ids_in.size(1) <= opt_.max_len,
              kOp, ": expected i32 ids [B,N] with 1 <= N <= ", opt_.max_len, ", got ",
              dtype_name(ids_in.dtype()), " ", ids_in.shape());
  const int64_t b = ids_in.size(0);
  Tensor ids = ids_in;
  Encoded e;
  std::vector<int32_t> keys;  // unpadded length of each row, counting the class token
  Tensor key_lengths;         // the same, i32 [B]
  const int64_t offset = cls_.defined() ? 1 : 0;
  if (opt_.pad_id >= 0) {
    e.lengths = unpadded_lengths(ids_in, opt_.pad_id);
    // Positions past every row's end change nothing but cost time: cut the batch there.
    const int64_t longest =
        std::max<int64_t>(1, *std::max_element(e.lengths.begin(), e.lengths.end()));
    if (longest < ids.size(1)) ids = ids.slice(1, 0, longest).contiguous();
    keys = e.lengths;
    for (auto& k : keys) k += int32_t(offset);
    key_lengths = Tensor::from_indices(keys, {b});
  }
  Tensor x = (*embed_)(ids);                                              // [B,N,D]
  if (cls_.defined()) x = concat({cls_.expand({b, 1, opt_.dim}), x}, 1);  // [B,1+N,D]
  x = (*pos_)(x);
  if (conv_) {
    // Padding must reach the convolution as its own zero padding does, or the last pieces of a
    // short row would read the pad token's embedding.
    Tensor xin = x;  // [B,T,D], T = offset+N
    if (!keys.empty()) xin = x * length_mask(keys, x.size(1)).reshape({b, x.size(1), 1});
    x = x + gelu(conv_->over_rows(xin));
  }
  for (const auto& block : blocks_) x = (*block)(x, key_lengths);
  e.states = (*norm_)(x);  // [B,offset+N,D]
  return e;
}

Tensor SequenceClassifier::encode(const Tensor& ids) const {
  Tensor x = encode_all(ids).states;
  if (cls_.defined()) x = x.slice(1, 1, x.size(1));
  return x;  // [B,N',D]
}

Tensor SequenceClassifier::operator()(const Tensor& ids) const {
  const Encoded e = encode_all(ids);
  const Tensor& x = e.states;  // [B,offset+N,D]
  const std::vector<int32_t>& lens = e.lengths;
  const int64_t b = x.size(0), n = x.size(1);
  Tensor pooled;  // [B,D]
  if (cls_.defined()) {
    pooled = x.slice(1, 0, 1).squeeze(1);
  } else if (soft_) {
    pooled = (*soft_)(x, lens.empty() ? Tensor() : length_mask(lens, n)).output;
  } else if (lens.empty()) {
    pooled = mean(x, {1});
  } else {
    std::vector<float> inv(lens.size());
    for (size_t i = 0; i < lens.size(); ++i) inv[i] = 1.0f / float(std::max(lens[i], 1));
    Tensor mask = length_mask(lens, n).reshape({b, n, 1});           // [B,N,1]
    pooled = sum(x * mask, {1}) * Tensor::from_vector(inv, {b, 1});  // [B,D]
  }
  return (*head_)(pooled);
}

Tensor SequenceClassifier::token_attention(const Tensor& ids) const {
  autograd::NoGradGuard no_grad;
  attention::Capture capture;
  (*this)(ids);
  const int64_t b = ids.size(0), n_in = ids.size(1);
  std::vector<int32_t> lens =
      opt_.pad_id >= 0 ? unpadded_lengths(ids, opt_.pad_id) : std::vector<int32_t>(size_t(b), n_in);
  std::vector<float> out(size_t(b * n_in), 0.0f);
  std::vector<Tensor> layers;
  Tensor soft;
  for (const auto& m : capture.maps()) {
    if (m.layer.rfind("soft_attention", 0) == 0)
      soft = m.probs;  // [B,1,1,N]
    else
      layers.push_back(m.probs);  // [B,H,N',N']
  }
  if (soft_) {
    FOCUS_CHECK(soft.defined(), kOp, ": soft pooling recorded no weights");
    const int64_t n = soft.size(3);
    const Tensor w = soft.contiguous();
    for (int64_t i = 0; i < b; ++i)
      for (int64_t j = 0; j < n; ++j) out[size_t(i * n_in + j)] = w.data()[i * n + j];
  } else {
    FOCUS_CHECK(!layers.empty(), kOp, ": no attention maps were recorded");
    const Tensor r = attention::rollout(layers).contiguous();  // [B,N',N']
    const int64_t np = r.size(1), offset = cls_.defined() ? 1 : 0;
    for (int64_t i = 0; i < b; ++i) {
      const float* ri = r.data() + i * np * np;
      const int64_t len = lens[size_t(i)];
      double total = 0;
      for (int64_t j = 0; j < len; ++j) {
        double a = 0;
        if (cls_.defined()) {
          a = ri[offset + j];  // row 0: the class token
        } else {
          for (int64_t q = 0; q < len; ++q) a += ri[q * np + j];
        }
        out[size_t(i * n_in + j)] = float(a);
        total += a;
      }
      for (int64_t j = 0; j < len && total > 0; ++j) out[size_t(i * n_in + j)] /= float(total);
    }
  }
  return Tensor::from_vector(out, {b, n_in});
}

}  // namespace focus::models
