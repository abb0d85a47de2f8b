#include "test_util.h"

#include <cmath>
#include <sstream>

namespace focus::test {

std::string fixture(const std::string& name) { return std::string(FOCUS_FIXTURES) + "/" + name; }

::testing::AssertionResult all_close(const Tensor& actual, const Tensor& expected, float rtol,
                                     float atol) {
  if (!actual.defined() || !expected.defined())
    return ::testing::AssertionFailure() << "undefined tensor (actual defined: " << actual.defined()
                                         << ", expected defined: " << expected.defined() << ")";
  if (actual.shape() != expected.shape())
    return ::testing::AssertionFailure()
           << "shape " << actual.shape() << " differs from expected " << expected.shape();
  std::vector<float> a = actual.to_vector(), e = expected.to_vector();
  double worst = 0;
  int64_t at = -1;
  for (size_t i = 0; i < a.size(); ++i) {
    const bool both_nan = std::isnan(a[i]) && std::isnan(e[i]);
    const bool same_inf = std::isinf(a[i]) && a[i] == e[i];
    if (both_nan || same_inf) continue;
    const double excess = std::fabs(double(a[i]) - e[i]) - (atol + rtol * std::fabs(double(e[i])));
    if (!(excess <= worst)) worst = std::isnan(excess) ? INFINITY : excess, at = int64_t(i);
  }
  if (at < 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "element " << at << " of " << actual.shape() << ": got " << a[at] << ", expected "
         << e[at] << " (|diff| " << std::fabs(a[at] - e[at]) << " > atol " << atol << " + rtol "
         << rtol << "·|expected|)";
}

void expect_error(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const std::string& p : parts)
      EXPECT_NE(msg.find(p), std::string::npos) << "message '" << msg << "' lacks '" << p << "'";
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "message is not one line: " << msg;
    return;
  }
  ADD_FAILURE() << "expected a focus::Error mentioning '" << (parts.empty() ? "" : parts[0]) << "'";
}

}  // namespace focus::test
