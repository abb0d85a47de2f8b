// The argmax_position task: generated token sequences, labelled by the position of the largest
// token (focus/tasks.h). Predict reads token ids as "5,17,3,...".
#include <algorithm>
#include <cstdio>
#include <sstream>

#include "app.h"
#include "focus/tasks.h"

namespace focus::cli {
namespace {

class ArgmaxTask : public Task {
 public:
  Splits load(config::Reader& r, const TaskContext& ctx) const override {
    Splits s;
    const int64_t length = r.integer("length", 12, 2, 4096);
    const int64_t vocab = r.integer("vocab", 64, 2, 1 << 24);
    const uint64_t seed = uint64_t(r.integer("seed", 7, 0));
    const int64_t n_train = r.integer("train", 6000, 1), n_val = r.integer("validation", 1000, 1);
    const int64_t n_test = r.integer("test", 2000, 1);
    r.finish();
    if (vocab < length)
      throw config::ConfigError(detail::cat("config: data.vocab ", vocab,
                                            " must be >= data.length ", length,
                                            " (the tokens of a sequence are distinct)"));
    s.input = {{"vocab", vocab}, {"length", length}, {"classes", length}};
    if (ctx.check_only) return s;
    // Disjoint seeds per split, so no test sequence is generated for training by construction.
    s.train = std::make_shared<tasks::ArgmaxPosition>(n_train, length, vocab, seed * 3 + 0);
    s.validation = std::make_shared<tasks::ArgmaxPosition>(n_val, length, vocab, seed * 3 + 1);
    s.test = std::make_shared<tasks::ArgmaxPosition>(n_test, length, vocab, seed * 3 + 2);
    return s;
  }

  int predict(const Loaded& l, const PredictOptions& opt) const override {
    std::vector<int32_t> ids;
    std::stringstream ss(opt.input);
    for (std::string tok; std::getline(ss, tok, ',');) {
      try {
        size_t used = 0;
        const long v = std::stol(tok, &used);
        FOCUS_CHECK(used == tok.size(), "");
        ids.push_back(int32_t(v));
      } catch (const std::exception&) {
        throw config::ConfigError("predict: '" + tok + "' in the input is not a token id");
      }
    }
    const int64_t length = l.splits.input.at("length"), vocab = l.splits.input.at("vocab");
    if (int64_t(ids.size()) != length)
      throw config::ConfigError(
          detail::cat("predict: expected ", length, " token ids, got ", ids.size()));
    for (int32_t id : ids)
      if (id < 0 || id >= vocab)
        throw config::ConfigError(
            detail::cat("predict: token ", id, " is outside [0, ", vocab, ")"));
    autograd::NoGradGuard no_grad;
    attention::Capture capture;
    Tensor probs = softmax((*l.model)(Tensor::from_indices(ids, {1, length})), -1);
    std::vector<float> p = probs.to_vector();
    std::vector<int> order(p.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = int(i);
    std::sort(order.begin(), order.end(), [&](int a, int b) { return p[a] > p[b]; });
    for (int i = 0; i < opt.top && i < int(order.size()); ++i)
      std::printf("class %-4d %6.2f%%\n", order[i], 100.0 * p[order[i]]);
    if (!capture.maps().empty()) {
      // The class token's row of the last layer, averaged over heads: where the decision looked.
      const Tensor& m = capture.maps().back().probs;  // [1,H,N,N]
      const int64_t h = m.size(1), n = m.size(2), offset = n - length;
      std::printf("attention of the last layer's %s over the input:\n",
                  offset == 1 ? "class token" : "first position");
      for (int64_t j = 0; j < length; ++j) {
        double a = 0;
        for (int64_t k = 0; k < h; ++k) a += m.data()[(k * n) * n + offset + j];
        a /= double(h);
        std::printf("  %3lld token %5d %5.1f%% %s\n", (long long)j, ids[size_t(j)], 100.0 * a,
                    std::string(size_t(40.0 * a + 0.5), '#').c_str());
      }
    }
    return kOk;
  }
};

}  // namespace

std::unique_ptr<Task> make_argmax_task() { return std::make_unique<ArgmaxTask>(); }

}  // namespace focus::cli
