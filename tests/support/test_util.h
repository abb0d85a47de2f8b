// Helpers shared by the test suites: fixture paths, tolerant comparisons, finite differences.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "focus/focus.h"

namespace focus::test {

// Path of a committed fixture under tests/fixtures.
std::string fixture(const std::string& name);

// Passes when |a - b| <= atol + rtol·|b| elementwise (as torch.allclose); on failure the message
// names the worst element, its index, both values and the shapes.
::testing::AssertionResult all_close(const Tensor& actual, const Tensor& expected, float rtol,
                                     float atol);

// Expects `f` to throw focus::Error whose message contains every string in `parts`.
void expect_error(const std::function<void()>& f, const std::vector<std::string>& parts);

}  // namespace focus::test

#define FOCUS_EXPECT_CLOSE(actual, expected, rtol, atol) \
  EXPECT_TRUE(::focus::test::all_close((actual), (expected), (rtol), (atol)))
