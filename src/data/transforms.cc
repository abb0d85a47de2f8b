// Transforms: standardisation, scaling and image augmentation. They run in the loader's thread,
// so they use plain loops: an OpenMP region here would compete with the training thread's.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <tuple>

#include "data/random.h"
#include "focus/data.h"

namespace focus::data {
namespace {

constexpr double kMinStddev = 1e-6;

// Channels (axis 0; one for a scalar) and elements per channel of an example.
std::pair<int64_t, int64_t> channels_of(const Shape& s) {
  const int64_t c = s.rank() == 0 ? 1 : s[0];
  return {c, c == 0 ? 0 : s.numel() / c};
}

struct Image {
  int64_t planes, h, w;
};

Image image_of(const Tensor& x, const char* op) {
  FOCUS_CHECK(x.dim() >= 2, op, ": expected an image [..., H, W] (e.g. [C,H,W]), got ", x.shape());
  FOCUS_CHECK(x.dtype() == DType::f32, op, ": expected f32, got ", dtype_name(x.dtype()), " ",
              x.shape());
  const int64_t h = x.size(-2), w = x.size(-1);
  return {h * w == 0 ? 0 : x.numel() / (h * w), h, w};
}

// out[p, y, x] = in[p, y - dy, x - dx], zero where that falls outside the image.
Tensor translate(const Tensor& x, const Image& im, int64_t dy, int64_t dx) {
  if (dy == 0 && dx == 0) return x;
  const Tensor src = x.contiguous();
  Tensor out = make_tensor(x.shape());
  const float* in = src.data();  // [P,H,W]
  float* o = out.data();         // [P,H,W]
  const int64_t x0 = std::clamp<int64_t>(dx, 0, im.w), x1 = std::clamp<int64_t>(im.w + dx, 0, im.w);
  for (int64_t p = 0; p < im.planes; ++p) {
    for (int64_t y = 0; y < im.h; ++y) {
      float* row = o + (p * im.h + y) * im.w;
      const int64_t sy = y - dy;
      if (sy < 0 || sy >= im.h || x1 <= x0) {
        std::fill(row, row + im.w, 0.0f);
        continue;
      }
      std::fill(row, row + x0, 0.0f);
      std::memcpy(row + x0, in + (p * im.h + sy) * im.w + (x0 - dx),
                  size_t(x1 - x0) * sizeof(float));
      std::fill(row + x1, row + im.w, 0.0f);
    }
  }
  return out;
}

}  // namespace

Standardizer Standardizer::fit(const Dataset& train, int64_t max_examples) {
  const int64_t n = train.size();
  FOCUS_CHECK(n >= 1, "standardizer: cannot fit on an empty dataset");
  FOCUS_CHECK(max_examples >= 1, "standardizer: max_examples must be >= 1, got ", max_examples);
  const int64_t m = std::min(n, max_examples);
  Shape shape;
  int64_t channels = 0, inner = 0;
  // Sums of (v - shift) per channel, the shift being the first example's channel mean, so the
  // variance does not cancel catastrophically when the mean is large next to the spread.
  std::vector<double> shift, s1, s2;
  for (int64_t k = 0; k < m; ++k) {
    const int64_t i = k * n / m;  // spread evenly: datasets are often sorted by class
    const Tensor x = train.get(i).x;
    FOCUS_CHECK(x.defined() && x.dtype() == DType::f32, "standardizer: example ", i,
                " must be f32, got ", x.defined() ? dtype_name(x.dtype()) : "an undefined tensor");
    if (k == 0) {
      shape = x.shape();
      std::tie(channels, inner) = channels_of(shape);
      FOCUS_CHECK(inner >= 1, "standardizer: example ", i, " has no elements: ", shape);
      shift.assign(size_t(channels), 0.0), s1 = s2 = shift;
    }
    FOCUS_CHECK(x.shape() == shape, "standardizer: example ", i, " has shape ", x.shape(),
                " but example 0 has ", shape);
    const Tensor c = x.contiguous();
    const float* v = c.data();  // [C, inner]
    for (int64_t ch = 0; ch < channels; ++ch) {
      const float* row = v + ch * inner;
      if (k == 0) {
        double s = 0;
        for (int64_t j = 0; j < inner; ++j) s += row[j];
        shift[size_t(ch)] = s / double(inner);
      }
      const double sh = shift[size_t(ch)];
      double a = 0, b = 0;
      for (int64_t j = 0; j < inner; ++j) {
        const double d = double(row[j]) - sh;
        a += d, b += d * d;
      }
      s1[size_t(ch)] += a, s2[size_t(ch)] += b;
    }
  }
  Standardizer s;
  const double count = double(m) * double(inner);
  for (int64_t ch = 0; ch < channels; ++ch) {
    const double mean_shifted = s1[size_t(ch)] / count;
    const double var = std::max(0.0, s2[size_t(ch)] / count - mean_shifted * mean_shifted);
    s.mean.push_back(float(shift[size_t(ch)] + mean_shifted));
    s.stddev.push_back(float(std::max(std::sqrt(var), kMinStddev)));
  }
  return s;
}

Tensor Standardizer::operator()(const Tensor& x) const {
  FOCUS_CHECK(x.defined() && x.dtype() == DType::f32, "standardize: expected f32, got ",
              x.defined() ? dtype_name(x.dtype()) : "an undefined tensor");
  const auto [channels, inner] = channels_of(x.shape());
  FOCUS_CHECK(channels == int64_t(mean.size()) && mean.size() == stddev.size(), "standardize: x ",
              x.shape(), " has ", channels, " channels (axis 0) but the standardizer has ",
              mean.size(), " means and ", stddev.size(), " stddevs");
  const Tensor src = x.contiguous();
  Tensor out = make_tensor(x.shape());
  const float* in = src.data();  // [C, inner]
  float* o = out.data();         // [C, inner]
  for (int64_t ch = 0; ch < channels; ++ch) {
    const float m = mean[size_t(ch)], sd = stddev[size_t(ch)];
    for (int64_t j = 0; j < inner; ++j) o[ch * inner + j] = (in[ch * inner + j] - m) / sd;
  }
  return out;
}

std::map<std::string, Tensor> Standardizer::state(const std::string& prefix) const {
  FOCUS_CHECK(mean.size() == stddev.size(), "standardizer: ", mean.size(), " means but ",
              stddev.size(), " stddevs");
  const Shape shape{int64_t(mean.size())};
  return {{prefix + "mean", Tensor::from_vector(mean, shape)},
          {prefix + "stddev", Tensor::from_vector(stddev, shape)}};
}

Standardizer Standardizer::from_state(const std::map<std::string, Tensor>& tensors,
                                      const std::string& prefix) {
  auto get = [&](const std::string& name) {
    auto it = tensors.find(prefix + name);
    FOCUS_CHECK(it != tensors.end() && it->second.defined(), "standardizer: no tensor '",
                prefix + name, "' in the saved state");
    const Tensor& t = it->second;
    FOCUS_CHECK(t.dtype() == DType::f32 && t.dim() == 1, "standardizer: '", prefix + name,
                "' must be f32 [C], got ", dtype_name(t.dtype()), " ", t.shape());
    return t.to_vector();
  };
  Standardizer s{get("mean"), get("stddev")};
  FOCUS_CHECK(s.mean.size() == s.stddev.size(), "standardizer: '", prefix, "mean' [", s.mean.size(),
              "] and '", prefix, "stddev' [", s.stddev.size(), "] disagree");
  for (size_t c = 0; c < s.mean.size(); ++c)
    FOCUS_CHECK(std::isfinite(s.mean[c]) && std::isfinite(s.stddev[c]) && s.stddev[c] > 0,
                "standardizer: channel ", c, " has mean ", s.mean[c], " and stddev ", s.stddev[c],
                " (expected finite, stddev > 0)");
  return s;
}

Transform scale(float factor) {
  return [factor](const Tensor& x, Generator&) {
    FOCUS_CHECK(x.dtype() == DType::f32 || x.dtype() == DType::i32,
                "scale: expected f32 or i32, got ", dtype_name(x.dtype()), " ", x.shape());
    const Tensor src = x.contiguous();
    Tensor out = make_tensor(x.shape());
    float* o = out.data();
    const int64_t n = x.numel();
    if (x.dtype() == DType::f32) {
      const float* in = src.data();
      for (int64_t i = 0; i < n; ++i) o[i] = in[i] * factor;
    } else {
      const int32_t* in = src.data_i32();
      for (int64_t i = 0; i < n; ++i) o[i] = float(in[i]) * factor;
    }
    return out;
  };
}

Transform random_crop(int64_t pad) {
  FOCUS_CHECK(pad >= 0, "random_crop: pad must be >= 0, got ", pad);
  return [pad](const Tensor& x, Generator& gen) {
    const Image im = image_of(x, "random_crop");
    const uint64_t c = gen.advance(2);
    const auto oy = int64_t(detail::below(gen.bits(c), uint64_t(2 * pad + 1)));
    const auto ox = int64_t(detail::below(gen.bits(c + 1), uint64_t(2 * pad + 1)));
    // The crop at (oy, ox) of the padded image is the image moved by (pad - oy, pad - ox).
    return translate(x, im, pad - oy, pad - ox);
  };
}

Transform random_shift(int64_t max_shift) {
  FOCUS_CHECK(max_shift >= 0, "random_shift: max_shift must be >= 0, got ", max_shift);
  return [max_shift](const Tensor& x, Generator& gen) {
    const Image im = image_of(x, "random_shift");
    const uint64_t c = gen.advance(2);
    const uint64_t span = uint64_t(2 * max_shift + 1);
    const int64_t dy = int64_t(detail::below(gen.bits(c), span)) - max_shift;
    const int64_t dx = int64_t(detail::below(gen.bits(c + 1), span)) - max_shift;
    return translate(x, im, dy, dx);
  };
}

Transform random_flip(float p) {
  FOCUS_CHECK(p >= 0.0f && p <= 1.0f, "random_flip: p must be in [0, 1], got ", p);
  return [p](const Tensor& x, Generator& gen) {
    const Image im = image_of(x, "random_flip");
    if (!(gen.uniform(gen.advance(1)) < p)) return x;
    const Tensor src = x.contiguous();
    Tensor out = make_tensor(x.shape());
    const float* in = src.data();  // [P*H, W]
    float* o = out.data();         // [P*H, W]
    for (int64_t r = 0; r < im.planes * im.h; ++r)
      for (int64_t j = 0; j < im.w; ++j) o[r * im.w + j] = in[r * im.w + (im.w - 1 - j)];
    return out;
  };
}

Transform random_erase(EraseOptions o) {
  FOCUS_CHECK(o.p >= 0.0f && o.p <= 1.0f, "random_erase: p must be in [0, 1], got ", o.p);
  FOCUS_CHECK(o.min_area > 0.0f && o.min_area <= o.max_area && o.max_area <= 1.0f,
              "random_erase: expected 0 < min_area <= max_area <= 1, got ", o.min_area, " and ",
              o.max_area);
  FOCUS_CHECK(o.max_aspect >= 1.0f && std::isfinite(o.max_aspect),
              "random_erase: max_aspect must be >= 1, got ", o.max_aspect);
  return [o](const Tensor& x, Generator& gen) {
    const Image im = image_of(x, "random_erase");
    // A fixed number of counters per image, whatever is drawn, so that the images after this
    // one see the same stream whether or not this one was erased.
    constexpr int kTries = 10;
    const uint64_t c = gen.advance(2 + 4 * kTries);
    if (!(gen.uniform(c) < o.p)) return x;
    const double log_aspect = std::log(double(o.max_aspect));
    for (int t = 0; t < kTries; ++t) {
      const uint64_t d = c + 2 + 4 * uint64_t(t);
      const double area =
          double(im.h * im.w) * (o.min_area + (o.max_area - o.min_area) * double(gen.uniform(d)));
      const double aspect = std::exp(log_aspect * (2.0 * double(gen.uniform(d + 1)) - 1.0));
      const auto eh = int64_t(std::lround(std::sqrt(area * aspect)));
      const auto ew = int64_t(std::lround(std::sqrt(area / aspect)));
      if (eh < 1 || ew < 1 || eh > im.h || ew > im.w) continue;
      const auto y0 = int64_t(detail::below(gen.bits(d + 2), uint64_t(im.h - eh + 1)));
      const auto x0 = int64_t(detail::below(gen.bits(d + 3), uint64_t(im.w - ew + 1)));
      const Tensor src = x.contiguous();
      Tensor out = make_tensor(x.shape());
      float* o_ = out.data();  // [P,H,W]
      std::memcpy(o_, src.data(), size_t(x.numel()) * sizeof(float));
      // The noise has its own counters, seeded by one draw of this image's.
      const Generator noise(gen.bits(c + 1));
      uint64_t k = 0;
      for (int64_t p = 0; p < im.planes; ++p)
        for (int64_t y = y0; y < y0 + eh; ++y)
          for (int64_t j = x0; j < x0 + ew; ++j, k += 2) {
            // Box-Muller; 1 - u keeps the logarithm's argument in (0, 1].
            const double u1 = 1.0 - double(noise.uniform(k)), u2 = double(noise.uniform(k + 1));
            o_[(p * im.h + y) * im.w + j] =
                float(std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2));
          }
      return out;
    }
    return x;
  };
}

Transform compose(std::vector<Transform> transforms) {
  return [ts = std::move(transforms)](const Tensor& x, Generator& gen) {
    Tensor y = x;
    for (const Transform& t : ts)
      if (t) y = t(y, gen);
    return y;
  };
}

}  // namespace focus::data
