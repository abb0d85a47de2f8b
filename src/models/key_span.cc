// Attention over a model's keys drawn as attention over the input positions they read.
#include <algorithm>

#include "focus/error.h"
#include "focus/models.h"

namespace focus::models {

std::vector<float> spread_over_positions(const std::vector<float>& keys, int64_t positions,
                                         KeySpan span) {
  FOCUS_CHECK(positions > 0 && span.stride > 0 && span.width > 0,
              "spread_over_positions: positions ", positions, ", stride ", span.stride,
              " and width ", span.width, " must be positive");
  std::vector<double> sum(size_t(positions), 0.0);
  for (size_t k = 0; k < keys.size(); ++k) {
    const int64_t lo = span.first + int64_t(k) * span.stride;
    const double share = double(keys[k]) / double(span.width);
    for (int64_t t = std::max<int64_t>(lo, 0); t < std::min(lo + span.width, positions); ++t)
      sum[size_t(t)] += share;
  }
  double total = 0.0;
  for (double v : sum) total += v;
  std::vector<float> out(size_t(positions), 0.0f);
  if (total > 0.0)
    for (size_t t = 0; t < out.size(); ++t) out[t] = float(sum[t] / total);
  return out;
}

}  // namespace focus::models
