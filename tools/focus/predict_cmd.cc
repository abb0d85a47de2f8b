// focus predict MODEL_DIR INPUT: class probabilities, and where the model looked.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <sstream>

#include "app.h"

namespace focus::cli {

int predict_main(int argc, char** argv) {
  CLI::App app{"Class probabilities for one input: token ids as \"5,17,3,...\".", "focus predict"};
  std::string dir, input;
  int top = 5;
  app.add_option("model_dir", dir, "directory written by focus train")->required();
  app.add_option("input", input, "comma-separated token ids")->required();
  app.add_option("--top", top, "how many classes to print");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kOk : kUsage;
  }
  Loaded l = load_model_dir(dir);
  std::vector<int32_t> ids;
  std::stringstream ss(input);
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
      throw config::ConfigError(detail::cat("predict: token ", id, " is outside [0, ", vocab, ")"));
  autograd::NoGradGuard no_grad;
  attention::Capture capture;
  Tensor probs = softmax((*l.model)(Tensor::from_indices(ids, {1, length})), -1);
  std::vector<float> p = probs.to_vector();
  std::vector<int> order(p.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = int(i);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return p[a] > p[b]; });
  for (int i = 0; i < top && i < int(order.size()); ++i)
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

}  // namespace focus::cli
