// Generated tasks: small data sets made on the fly, for demos and learning tests.
#pragma once

#include <cstdint>
#include <memory>

#include "focus/data.h"

namespace focus::tasks {

// Sequences of `length` distinct tokens drawn from [0, vocab); the label is the position of the
// largest token. Solving it needs every position compared with every other: attention's job.
// Examples are i32 ids [length]; the data set is a pure function of (n, length, vocab, seed).
class ArgmaxPosition : public data::Dataset {
 public:
  ArgmaxPosition(int64_t n, int64_t length, int64_t vocab, uint64_t seed);
  int64_t size() const override { return n_; }
  data::Example get(int64_t index) const override;

 private:
  int64_t n_, length_, vocab_;
  uint64_t seed_;
};

}  // namespace focus::tasks
