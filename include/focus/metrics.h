// Evaluation figures from class probabilities, so that one model and the average of several (an
// ensemble) are scored by the same code.
#pragma once

#include <cstdint>
#include <vector>

#include "focus/trainer.h"

namespace focus::train {

// Loss (mean negative log-probability of the true class, each floored at 1e-30), accuracy and
// confusion (the first highest class is the prediction, as in evaluate; with two classes and a
// threshold other than 0.5, class 1 when its probability is above the threshold) of
// `probabilities` [labels.size(), classes].
Evaluation evaluation_from(std::vector<float> probabilities, std::vector<int32_t> labels,
                           int64_t classes, float threshold = 0.5f);

// The members' probabilities averaged: an ensemble of models that saw the same examples in the
// same order. Throws unless they agree on classes, examples and every label.
Evaluation average(const std::vector<Evaluation>& members);

// Two classes, class 1 the positive one (spam), predicted when its probability is above
// ev.threshold (0.5 unless set).
struct BinaryMetrics {
  int64_t true_positive = 0, false_positive = 0, false_negative = 0, true_negative = 0;
  double accuracy = 0, precision = 0, recall = 0, f1 = 0;
  double roc_auc = 0;  // the chance that a positive scores above a negative, ties counting half
};
BinaryMetrics binary_metrics(const Evaluation& ev);

}  // namespace focus::train
