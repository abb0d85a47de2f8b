// Attention of a vision model laid back onto its grid of patches.
#include <algorithm>
#include <cmath>

#include "focus/attention.h"
#include "focus/error.h"
#include "focus/viz.h"

namespace focus::viz {

namespace {

struct Grid {
  int64_t offset = 0, gh = 0, gw = 0;  // tokens [offset, offset + gh·gw) are the patches
};

// The patch grid of n tokens for an image of height×width, with or without a leading token.
Grid grid_of(int64_t n, int64_t height, int64_t width, const std::string& layer) {
  for (int64_t offset : {int64_t(0), int64_t(1)}) {
    const int64_t p = n - offset;
    if (p < 1) continue;
    const int64_t gh = std::max<int64_t>(1, std::llround(std::sqrt(double(p) * height / width)));
    for (int64_t h = std::max<int64_t>(1, gh - 1); h <= gh + 1; ++h)
      if (p % h == 0 && std::abs(double(h) / double(p / h) - double(height) / width) <
                            0.25 * double(height) / width)
        return {offset, h, p / h};
  }
  throw Error(detail::cat("image_attention: ", layer, ": ", n,
                          " tokens are not a grid of patches of a ", height, "x", width,
                          " image (with or without a class token)"));
}

// Row `offset == 1 ? 0 : mean` of a [N,N] map (given as a pointer), over the patch tokens.
Tensor patch_row(const float* m, int64_t n, const Grid& g) {
  Tensor out = Tensor::zeros({g.gh, g.gw});
  float* o = out.data();
  const int64_t p = g.gh * g.gw;
  if (g.offset == 1) {
    for (int64_t j = 0; j < p; ++j) o[j] = m[1 + j];
  } else {
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < p; ++j) o[j] += m[i * n + j] / float(n);
  }
  return out;
}

}  // namespace

std::vector<ImageAttention> image_attention(const std::vector<std::string>& layers,
                                            const std::vector<Tensor>& maps, int64_t height,
                                            int64_t width) {
  FOCUS_CHECK(layers.size() == maps.size(), "image_attention: ", layers.size(), " names for ",
              maps.size(), " maps");
  FOCUS_CHECK(height > 0 && width > 0, "image_attention: image ", height, "x", width);
  std::vector<Tensor> self;  // [B,H,N,N] each
  std::vector<std::string> self_names;
  Tensor pooling;  // [B,1,1,N]
  std::string pooling_name;
  int64_t batch = -1;
  for (size_t k = 0; k < maps.size(); ++k) {
    const Tensor& m = maps[k];
    FOCUS_CHECK(m.dim() == 4, "image_attention: ", layers[k], ": want [B,H,Nq,Nk], got ",
                m.shape().str());
    FOCUS_CHECK(batch < 0 || m.size(0) == batch, "image_attention: ", layers[k], ": batch ",
                m.size(0), " differs from the first map's ", batch);
    batch = m.size(0);
    if (m.size(2) == 1 && m.size(1) == 1) {
      pooling = m.contiguous(), pooling_name = layers[k];
    } else {
      FOCUS_CHECK(m.size(2) == m.size(3), "image_attention: ", layers[k],
                  ": self-attention must be square, got ", m.shape().str());
      FOCUS_CHECK(self.empty() || m.size(2) == self[0].size(2), "image_attention: ", layers[k],
                  " has ", m.size(2), " tokens, ", self_names[0], " ", self[0].size(2));
      self.push_back(m.contiguous()), self_names.push_back(layers[k]);
    }
  }
  std::vector<ImageAttention> out(size_t(std::max<int64_t>(batch, 0)));
  if (!self.empty()) {
    const Tensor& last = self.back();  // [B,H,N,N]
    const int64_t heads = last.size(1), n = last.size(2);
    const Grid g = grid_of(n, height, width, self_names.back());
    const Tensor roll = attention::rollout(self).contiguous();  // [B,N,N]
    for (int64_t b = 0; b < batch; ++b) {
      ImageAttention& a = out[size_t(b)];
      a.layers = int64_t(self.size());
      a.class_token = g.offset == 1;
      for (int64_t h = 0; h < heads; ++h)
        a.heads.push_back(patch_row(last.data() + (b * heads + h) * n * n, n, g));
      a.rollout = patch_row(roll.data() + b * n * n, n, g);
    }
  }
  if (pooling.defined()) {
    const int64_t n = pooling.size(3);
    const Grid g = grid_of(n, height, width, pooling_name);
    for (int64_t b = 0; b < batch; ++b) {
      Tensor p = Tensor::zeros({g.gh, g.gw});
      for (int64_t j = 0; j < g.gh * g.gw; ++j) p.data()[j] = pooling.data()[b * n + g.offset + j];
      out[size_t(b)].pooling = p;
    }
  }
  return out;
}

}  // namespace focus::viz
