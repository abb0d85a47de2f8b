#include "focus/metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "focus/error.h"

namespace focus::train {

Evaluation evaluation_from(std::vector<float> probabilities, std::vector<int32_t> labels,
                           int64_t classes, float threshold) {
  const int64_t n = int64_t(labels.size());
  FOCUS_CHECK(classes > 0 && int64_t(probabilities.size()) == n * classes,
              "evaluation_from: probabilities [", probabilities.size(), "] are not [", n, ", ",
              classes, "]");
  FOCUS_CHECK(threshold > 0.0f && threshold < 1.0f, "evaluation_from: threshold ", threshold,
              " is not in (0, 1)");
  FOCUS_CHECK(threshold == 0.5f || classes == 2, "evaluation_from: a threshold (", threshold,
              ") decides between two classes, not ", classes);
  const bool by_threshold = threshold != 0.5f;
  Evaluation ev;
  ev.threshold = threshold;
  ev.classes = classes;
  ev.examples = n;
  ev.confusion.assign(size_t(classes * classes), 0);
  double loss = 0;
  int64_t correct = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* p = probabilities.data() + i * classes;
    const int32_t y = labels[size_t(i)];
    FOCUS_CHECK(y >= 0 && y < classes, "evaluation_from: label ", y, " of example ", i,
                " is not a class of ", classes);
    const int64_t guess =
        by_threshold ? int64_t(p[1] > threshold) : std::max_element(p, p + classes) - p;
    correct += guess == y;
    ev.confusion[size_t(y * classes + guess)] += 1;
    loss -= std::log(std::max(double(p[y]), 1e-30));
  }
  if (n > 0) {
    ev.loss = float(loss / double(n));
    ev.accuracy = float(double(correct) / double(n));
  }
  ev.probabilities = std::move(probabilities);
  ev.labels = std::move(labels);
  return ev;
}

Evaluation average(const std::vector<Evaluation>& members) {
  FOCUS_CHECK(!members.empty(), "average: no evaluations to average");
  const Evaluation& first = members.front();
  std::vector<double> sum(first.probabilities.size(), 0.0);
  for (size_t m = 0; m < members.size(); ++m) {
    const Evaluation& e = members[m];
    FOCUS_CHECK(e.classes == first.classes && e.labels.size() == first.labels.size() &&
                    e.probabilities.size() == sum.size(),
                "average: member ", m, " has ", e.labels.size(), " examples of ", e.classes,
                " classes, member 0 ", first.labels.size(), " of ", first.classes);
    FOCUS_CHECK(e.labels == first.labels, "average: member ", m,
                " labels the examples differently from member 0 (not the same data split)");
    for (size_t k = 0; k < sum.size(); ++k) sum[k] += double(e.probabilities[k]);
  }
  std::vector<float> mean(sum.size());
  for (size_t k = 0; k < sum.size(); ++k) mean[k] = float(sum[k] / double(members.size()));
  return evaluation_from(std::move(mean), first.labels, first.classes, first.threshold);
}

BinaryMetrics binary_metrics(const Evaluation& ev) {
  FOCUS_CHECK(ev.classes == 2, "binary_metrics: needs 2 classes, got ", ev.classes);
  const std::vector<int32_t>& y = ev.labels;
  FOCUS_CHECK(ev.probabilities.size() == 2 * y.size(), "binary_metrics: ", y.size(), " labels but ",
              ev.probabilities.size(), " probabilities");
  BinaryMetrics m;
  std::vector<float> score(y.size());
  for (size_t i = 0; i < y.size(); ++i) {
    score[i] = ev.probabilities[2 * i + 1];
    const bool said = score[i] > ev.threshold, is = y[i] == 1;
    m.true_positive += said && is, m.false_positive += said && !is;
    m.false_negative += !said && is, m.true_negative += !said && !is;
  }
  const double n = double(y.size());
  const auto tp = double(m.true_positive), fp = double(m.false_positive),
             fn = double(m.false_negative);
  m.accuracy = n > 0 ? (tp + double(m.true_negative)) / n : 0.0;
  m.precision = tp + fp > 0 ? tp / (tp + fp) : 0.0;
  m.recall = tp + fn > 0 ? tp / (tp + fn) : 0.0;
  m.f1 = m.precision + m.recall > 0 ? 2 * m.precision * m.recall / (m.precision + m.recall) : 0.0;
  // Mann-Whitney: the positives' rank sum, tied scores sharing their mean rank.
  std::vector<size_t> order(y.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return score[a] < score[b]; });
  double rank_sum = 0;
  int64_t pos = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j < order.size() && score[order[j]] == score[order[i]]) ++j;
    const double mid_rank = 0.5 * double(i + 1 + j);  // ranks i+1..j share their mean
    for (size_t k = i; k < j; ++k)
      if (y[order[k]] == 1) rank_sum += mid_rank, ++pos;
    i = j;
  }
  const int64_t neg = int64_t(y.size()) - pos;
  if (pos > 0 && neg > 0)
    m.roc_auc = (rank_sum - double(pos) * double(pos + 1) / 2.0) / (double(pos) * double(neg));
  return m;
}

}  // namespace focus::train
